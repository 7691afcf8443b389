import {
  type CachedTokenProvider,
  checkNumber,
  createLogger,
  createTokenCache,
  type ExpiringToken,
  formatPresented,
  invalidConfig,
  KeylessError,
  type Logger,
  presentedClaims,
  type RetryOptions,
  sendHttpRequest,
  type WebIdentityOptions,
  type WebIdentityToken,
  type WebIdentityTokenProvider,
} from '@keyless/core';
import { applyClientAuth, type ClientAuth, type FormFields } from './client-auth.js';
import { checkIssuer, createDiscovery } from './discovery.js';
import { type TokenEndpointErrorContext, tokenEndpointError } from './oauth-error.js';
import { checkSecureUrl, isSecureUrl } from './secure-url.js';
import { type AccessToken, readTokenResponse } from './token-response.js';

/** Lifetime assumed for a token whose answer has no `expires_in` (capped by the AWS JWT's own). */
export const DEFAULT_EXPIRES_IN_SECONDS = 300;
const DEFAULT_TIMEOUT_MS = 10_000;

/** Options every provider of this package takes. */
export interface TokenProviderOptions extends WebIdentityOptions {
  /** Time-out of one HTTP request (token endpoint, discovery). Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** Retries of throttling, network and 5xx failures. Default 3 attempts; `false` turns them off. */
  retry?: RetryOptions | false;
  /** Refresh in the background once less than this is left. Default min(300, half the lifetime). */
  refreshBeforeExpirySeconds?: number;
  /**
   * Lifetime assumed when the answer carries no expiry. Default: 300 s, and never longer than the
   * AWS JWT that was exchanged has left (servers often cap the issued token at the subject token).
   */
  defaultExpiresInSeconds?: number;
  /** Default: silent. Lines name the endpoint and the presented `iss sub aud alg`, never a token. */
  logger?: Partial<Logger>;
}

/** A cached provider: `provider({ forceRefresh?, signal? })`. */
export type AccessTokenProvider<T extends AccessToken = AccessToken> = CachedTokenProvider<T>;

export interface ProviderSettings {
  timeoutMs: number;
  retry: RetryOptions | false | undefined;
  refreshBeforeExpirySeconds: number | undefined;
  defaultExpiresInSeconds: number | undefined;
  logger: Partial<Logger> | undefined;
  log: Logger;
}

/** Checks the options shared by every provider; throws `INVALID_CONFIG` naming the option. */
export function checkProviderOptions(options: TokenProviderOptions, scope: string): ProviderSettings {
  if (typeof options !== 'object' || options === null) throw invalidConfig('oidc', 'options must be an object');
  const timeoutMs =
    options.requestTimeoutMs === undefined
      ? DEFAULT_TIMEOUT_MS
      : checkNumber('oidc', 'requestTimeoutMs', options.requestTimeoutMs, 1, 600_000);
  if (options.refreshBeforeExpirySeconds !== undefined) {
    checkNumber('oidc', 'refreshBeforeExpirySeconds', options.refreshBeforeExpirySeconds, 0, 86_400);
  }
  if (options.defaultExpiresInSeconds !== undefined) {
    checkNumber('oidc', 'defaultExpiresInSeconds', options.defaultExpiresInSeconds, 30, 86_400);
  }
  if (options.retry !== undefined && options.retry !== false && (typeof options.retry !== 'object' || !options.retry)) {
    throw invalidConfig(
      'oidc',
      'retry must be false or an object { maxAttempts, baseDelayMs, maxDelayMs, maxElapsedMs }',
    );
  }
  return {
    timeoutMs,
    retry: options.retry,
    refreshBeforeExpirySeconds: options.refreshBeforeExpirySeconds,
    defaultExpiresInSeconds: options.defaultExpiresInSeconds,
    logger: options.logger,
    log: createLogger(options.logger, scope),
  };
}

/** When a token whose answer has no expiry is taken to expire. */
export function fallbackExpiry(settings: ProviderSettings, started: number, jwt: WebIdentityToken): number {
  if (settings.defaultExpiresInSeconds !== undefined) return started + settings.defaultExpiresInSeconds * 1000;
  return Math.min(started + DEFAULT_EXPIRES_IN_SECONDS * 1000, jwt.expiresAt.getTime());
}

/** Wraps a fetch in core's token cache with this package's settings. */
export function cachedProvider<T extends ExpiringToken>(
  fetch: () => Promise<T>,
  settings: ProviderSettings,
  name: string,
  describe: (token: T) => string,
): CachedTokenProvider<T> {
  const cache = createTokenCache(fetch, {
    provider: 'oidc',
    name,
    describe,
    ...(settings.retry === undefined ? {} : { retry: settings.retry }),
    ...(settings.refreshBeforeExpirySeconds === undefined
      ? {}
      : { refreshBeforeExpirySeconds: settings.refreshBeforeExpirySeconds }),
    ...(settings.logger ? { logger: settings.logger } : {}),
  });
  return (request) => cache(request);
}

/**
 * The token endpoint: `tokenEndpoint` as given, or `token_endpoint` of the issuer's metadata
 * (OpenID configuration, then RFC 8414), discovered on first use and kept for the provider's life.
 */
export function tokenEndpointSource(
  options: { tokenEndpoint?: unknown; issuer?: unknown },
  settings: ProviderSettings,
): () => Promise<URL> {
  if (options.tokenEndpoint !== undefined && options.issuer !== undefined) {
    throw invalidConfig(
      'oidc',
      'Pass either tokenEndpoint or issuer, not both',
      'issuer makes keyless read the token endpoint from the issuer’s discovery document.',
    );
  }
  if (options.tokenEndpoint !== undefined) {
    const url = checkSecureUrl('tokenEndpoint', options.tokenEndpoint);
    return async () => url;
  }
  if (options.issuer === undefined) {
    throw invalidConfig(
      'oidc',
      'tokenEndpoint or issuer is required',
      'Pass the token endpoint URL, or the issuer to discover it.',
    );
  }
  const issuer = checkIssuer('issuer', options.issuer);
  const discovery = createDiscovery({ issuer, oauthFallback: true, timeoutMs: settings.timeoutMs, log: settings.log });
  return async () => {
    const document = await discovery();
    if (!isSecureUrl(document.token_endpoint)) {
      throw new KeylessError({
        code: 'INVALID_RESPONSE',
        provider: 'oidc',
        message: `The discovery document of ${issuer} has no usable token_endpoint (an https URL).`,
        hint: 'Pass tokenEndpoint explicitly.',
        details: { status: 200 },
      });
    }
    return new URL(document.token_endpoint);
  };
}

/** A form-encoded grant at an OAuth 2.0 token endpoint, and how to explain its failures. */
export interface FormGrant {
  /** Log scope and the name in debug lines, e.g. `token-exchange`. */
  name: string;
  grantType: string;
  /** The whole form (without client authentication) for one subject JWT. */
  form: (jwt: string) => FormFields;
  clientAuth: ClientAuth | undefined;
  hints: Pick<TokenEndpointErrorContext, 'rejectedHint' | 'targetHint' | 'clientHint' | 'scopeHint' | 'classify'>;
  /** Endpoint name in messages. Default `the token endpoint`. */
  service?: string;
}

/** The cached provider of one grant: get the AWS JWT, POST the form, read the token. */
export function formGrantProvider(
  grant: FormGrant,
  endpoint: () => Promise<URL>,
  subject: WebIdentityTokenProvider,
  settings: ProviderSettings,
): AccessTokenProvider {
  const fetchToken = async (): Promise<AccessToken> => {
    // Endpoint first: a discovery failure should not cost an STS call, and the JWT is then as fresh as possible.
    const url = await endpoint();
    const jwt = await subject();
    const form = grant.form(jwt.token);
    const headers: Record<string, string> = {};
    applyClientAuth(grant.clientAuth, form, headers);
    const presented = presentedClaims(jwt.token);
    const where = `${url.origin}${url.pathname}`;
    const service = `${grant.service ?? 'the token endpoint'} ${where}`;
    settings.log.debug(`${grant.name}: presenting ${formatPresented(presented)} to ${where}`);
    const started = Date.now();
    const response = await sendHttpRequest({
      url,
      form,
      headers,
      provider: 'oidc',
      service,
      timeoutMs: settings.timeoutMs,
    });
    if (response.status < 200 || response.status >= 300) {
      const secrets = [jwt.token, grant.clientAuth?.method === 'none' ? undefined : grant.clientAuth?.clientSecret];
      throw tokenEndpointError(response, { service, grantType: grant.grantType, presented, secrets, ...grant.hints });
    }
    return readTokenResponse(response, {
      service,
      started,
      fallbackExpiresAt: fallbackExpiry(settings, started, jwt),
      presented,
    });
  };
  return cachedProvider(fetchToken, settings, grant.name, describeAccessToken);
}

export function describeAccessToken(token: AccessToken): string {
  const parts = [`token_type=${token.tokenType}`];
  if (token.issuedTokenType) parts.push(`issued_token_type=${token.issuedTokenType}`);
  if (token.scope) parts.push(`scope=${token.scope}`);
  return parts.join(' ');
}
