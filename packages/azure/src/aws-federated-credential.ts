import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import {
  type AwsWebIdentityTokenOptions,
  checkNumber,
  checkString,
  createKeyedTokenCache,
  createLogger,
  env,
  formatTokenSummary,
  invalidConfig,
  type KeyedCachedTokenProvider,
  type Logger,
  type RetryOptions,
  refreshStartTime,
  resolveWebIdentityToken,
  showValue,
  summarizeToken,
  type WebIdentityTokenProvider,
} from '@keyless/core';
import { checkTenantId, defaultTokenExchangeAudience, resolveAuthorityHost, tokenEndpoint } from './authority.js';
import { type EntraAccessToken, requestEntraToken } from './request-entra-token.js';

/**
 * Options of {@link AwsFederatedCredential}. `authorityHost` and `additionallyAllowedTenants` mean
 * what they mean for `@azure/identity`'s `ClientAssertionCredential`.
 */
export interface AwsFederatedCredentialOptions {
  /** Directory (tenant) ID or domain. Else `AZURE_TENANT_ID`. */
  tenantId?: string;
  /** Application (client) ID of the app registration or user-assigned managed identity. Else `AZURE_CLIENT_ID`. */
  clientId?: string;
  /** Else `AZURE_AUTHORITY_HOST`, else `https://login.microsoftonline.com`. https, or http on loopback only. */
  authorityHost?: string;
  /** Tenants `getToken({ tenantId })` may ask for besides `tenantId`; `'*'` allows any. */
  additionallyAllowedTenants?: string[];
  /**
   * Options of the AWS JWT provider keyless creates. `audience` defaults to the cloud's token-exchange
   * audience (`api://AzureADTokenExchange`), `signingAlgorithm` to `RS256`, `logger` to `logger`.
   */
  aws?: Partial<AwsWebIdentityTokenOptions>;
  /** A provider of the AWS-signed JWT you already have (instead of `aws`). */
  webIdentityToken?: WebIdentityTokenProvider;
  /**
   * Refresh an Entra token in the background once less than this is left. Default 300, capped at half
   * its lifetime; Entra's `refresh_in`, when it sends one, brings the refresh forward.
   */
  refreshBeforeExpirySeconds?: number;
  /** Time-out of one token request to Entra ID. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** Retries of throttling, network and 5xx failures. `false` turns them off. */
  retry?: RetryOptions | false;
  /** Default: silent. Lines name tenant, scopes and the JWT's claims, never a token. */
  logger?: Partial<Logger>;
  /** Accepted for drop-in use with `ClientAssertionCredential` options; keyless never does instance discovery. */
  disableInstanceDiscovery?: boolean;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
// Entra access tokens live 60–90 minutes unless a CAE resource issues long-lived ones.
const MAX_REFRESH_WINDOW_S = 3600;
/** Microsoft's client capability for Continuous Access Evaluation (what MSAL sends when `enableCae` is set). */
const CAE_CLIENT_CAPABILITY = 'cp1';

const KNOWN_OPTIONS = new Set<string>([
  'tenantId',
  'clientId',
  'authorityHost',
  'additionallyAllowedTenants',
  'aws',
  'webIdentityToken',
  'refreshBeforeExpirySeconds',
  'requestTimeoutMs',
  'retry',
  'logger',
  'disableInstanceDiscovery',
]);

/** ClientAssertionCredential options that have no meaning without MSAL and its HTTP pipeline. */
const UNSUPPORTED_OPTIONS: Readonly<Record<string, string>> = {
  tokenCachePersistenceOptions: 'keyless keeps tokens in memory only',
  httpClient: 'keyless sends the token request itself, with fetch',
  agent: 'keyless sends the token request itself, with fetch',
  tlsOptions: 'keyless sends the token request itself, with fetch',
  proxyOptions:
    'keyless sends the token request with fetch; set HTTPS_PROXY and NODE_USE_ENV_PROXY=1 (Node 22.21+ / 24.5+) for a proxy',
  retryOptions: 'use retry',
  loggingOptions: 'use logger',
  additionalPolicies: 'keyless does not use the Azure HTTP pipeline',
  userAgentOptions: 'keyless does not use the Azure HTTP pipeline',
  telemetryOptions: 'keyless does not use the Azure HTTP pipeline',
  redirectOptions: 'keyless never follows redirects from the token endpoint',
  allowInsecureConnection: 'http is allowed for a loopback authorityHost only',
};

interface CachedToken extends EntraAccessToken {
  refreshAfter: number;
}

interface TokenKey {
  tenantId: string;
  scope: string;
  /** The `claims` parameter sent to Entra (challenge claims merged with the CAE capability). */
  claims: string | null;
  /** Whether the caller passed challenge claims (not just the CAE capability). */
  challenge: boolean;
}

/**
 * A `TokenCredential` for every Azure SDK client, backed by the AWS-signed JWT of the calling principal
 * (STS `GetWebIdentityToken`) presented to Microsoft Entra ID as a federated client assertion.
 *
 * Tokens are cached per tenant, scopes and claims in front of the exchange: a cached `getToken` is a
 * memory read, concurrent callers share one request, and a token is refreshed in the background before
 * it expires.
 */
export class AwsFederatedCredential implements TokenCredential {
  readonly tenantId: string;
  readonly clientId: string;
  readonly authorityHost: string;
  readonly #authority: URL;
  readonly #allowedTenants: readonly string[];
  readonly #webIdentityToken: WebIdentityTokenProvider;
  readonly #tokenSource: 'aws' | 'webIdentityToken';
  readonly #requestTimeoutMs: number;
  readonly #refreshBeforeExpirySeconds: number | undefined;
  readonly #cache: KeyedCachedTokenProvider<CachedToken>;
  readonly #log: Logger;
  /** Keys whose token a resource just refused with a CAE claims challenge: refreshed on next use. */
  readonly #challenged = new Set<string>();

  constructor(options: AwsFederatedCredentialOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidConfig('azure', 'options must be an object');
    checkOptionNames(options);
    this.tenantId = checkTenantId(
      options.tenantId === undefined ? 'AZURE_TENANT_ID' : 'tenantId',
      options.tenantId ?? required('tenantId', 'AZURE_TENANT_ID'),
    );
    this.clientId = checkString(
      'azure',
      options.clientId === undefined ? 'AZURE_CLIENT_ID' : 'clientId',
      options.clientId ?? required('clientId', 'AZURE_CLIENT_ID'),
      { max: 256 },
    );
    this.#authority = resolveAuthorityHost(options.authorityHost);
    this.authorityHost = this.#authority.href.replace(/\/$/, '');
    this.#allowedTenants = checkAllowedTenants(options.additionallyAllowedTenants);
    if (options.disableInstanceDiscovery !== undefined && typeof options.disableInstanceDiscovery !== 'boolean') {
      throw invalidConfig(
        'azure',
        `disableInstanceDiscovery must be a boolean, got ${showValue(options.disableInstanceDiscovery)}`,
      );
    }
    this.#requestTimeoutMs =
      options.requestTimeoutMs === undefined
        ? DEFAULT_REQUEST_TIMEOUT_MS
        : checkNumber('azure', 'requestTimeoutMs', options.requestTimeoutMs, 1, 600_000);
    this.#refreshBeforeExpirySeconds =
      options.refreshBeforeExpirySeconds === undefined
        ? undefined
        : checkNumber(
            'azure',
            'refreshBeforeExpirySeconds',
            options.refreshBeforeExpirySeconds,
            0,
            MAX_REFRESH_WINDOW_S,
          );
    if (options.logger !== undefined && (typeof options.logger !== 'object' || options.logger === null)) {
      throw invalidConfig('azure', 'logger must be an object with debug, info, warn and error methods (console works)');
    }
    this.#log = createLogger(options.logger, 'azure');

    this.#tokenSource = options.webIdentityToken === undefined ? 'aws' : 'webIdentityToken';
    this.#webIdentityToken = resolveWebIdentityToken('azure', options, {
      audience: defaultTokenExchangeAudience(this.#authority),
      signingAlgorithm: 'RS256',
      // One retry layer: the Entra token cache retries a failed STS call, so the JWT provider does not.
      retry: false,
      logger: options.logger,
    });

    this.#cache = createKeyedTokenCache<CachedToken>((key) => this.#fetch(key), {
      provider: 'azure',
      name: 'azure',
      ...(this.#refreshBeforeExpirySeconds === undefined
        ? {}
        : { refreshBeforeExpirySeconds: this.#refreshBeforeExpirySeconds }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  /**
   * An Entra ID access token for `scopes` (each usually `<resource>/.default`). Served from memory while
   * fresh; `claims` (a CAE challenge) always fetches a new token. `abortSignal` stops this caller's wait.
   */
  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken> {
    const signal = toAbortSignal(options.abortSignal);
    signal?.throwIfAborted();
    if (options.proofOfPossessionOptions !== undefined) {
      throw invalidConfig(
        'azure',
        'proofOfPossessionOptions are not supported: AwsFederatedCredential issues Bearer tokens only',
      );
    }
    const scope = normalizeScopes(scopes);
    const tenantId = this.#resolveTenant(options.tenantId);
    if (options.claims !== undefined && typeof options.claims !== 'string') {
      throw invalidConfig(
        'azure',
        `getToken claims must be a string (the decoded claims of a CAE challenge), got ${showValue(options.claims)}`,
      );
    }
    const challengeClaims = options.claims?.trim() ? options.claims : undefined;
    const claims = mergeClaims(challengeClaims, options.enableCae === true);
    const key = encodeKey({ tenantId, scope, claims, challenge: challengeClaims !== undefined });

    let forceRefresh = false;
    if (challengeClaims !== undefined) {
      // The token the resource just refused is the one cached without claims: refresh it on its next use.
      this.#challenged.add(
        encodeKey({ tenantId, scope, claims: mergeClaims(undefined, options.enableCae === true), challenge: false }),
      );
      forceRefresh = true;
    } else if (this.#challenged.has(key)) {
      forceRefresh = true;
    }
    const cached = await this.#cache(key, { forceRefresh, ...(signal ? { signal } : {}) });
    return {
      token: cached.token,
      expiresOnTimestamp: cached.expiresAt.getTime(),
      refreshAfterTimestamp: cached.refreshAfter,
      tokenType: 'Bearer',
    };
  }

  #resolveTenant(requested: unknown): string {
    // Same rule as @azure/identity's processMultiTenantRequest.
    if (requested === undefined || requested === '' || env('AZURE_IDENTITY_DISABLE_MULTITENANTAUTH') !== undefined) {
      return this.tenantId;
    }
    const tenantId = checkTenantId('getToken tenantId', requested);
    if (tenantId.toLowerCase() === this.tenantId.toLowerCase()) return this.tenantId;
    if (
      this.#allowedTenants.includes('*') ||
      this.#allowedTenants.some((t) => t.toLowerCase() === tenantId.toLowerCase())
    ) {
      return tenantId;
    }
    throw invalidConfig(
      'azure',
      `getToken asked for tenant ${tenantId}, but this credential is configured for tenant ${this.tenantId} and additionallyAllowedTenants does not list it`,
      `Add "${tenantId}" to additionallyAllowedTenants (or "*" for any tenant). The application must also be multi-tenant and have a service principal (admin consent) in that tenant.`,
    );
  }

  async #fetch(encoded: string): Promise<CachedToken> {
    const key = decodeKey(encoded);
    const jwt = await this.#webIdentityToken();
    this.#log.debug(
      `requesting a token for scope=${key.scope} tenant=${key.tenantId}${key.claims ? ' with claims' : ''}, presenting ${formatTokenSummary(summarizeToken(jwt.token))}`,
    );
    const token = await requestEntraToken({
      tokenEndpoint: tokenEndpoint(this.#authority, key.tenantId),
      authorityHost: this.authorityHost,
      tenantId: key.tenantId,
      clientId: this.clientId,
      scope: key.scope,
      claims: key.claims ?? undefined,
      assertion: jwt.token,
      tokenSource: this.#tokenSource,
      timeoutMs: this.#requestTimeoutMs,
    });
    // The refreshed token replaces the one a resource refused with a claims challenge.
    if (!key.challenge) this.#challenged.delete(encoded);
    const refreshAfter = refreshStartTime(token, Date.now(), {
      ...(this.#refreshBeforeExpirySeconds === undefined
        ? {}
        : { refreshBeforeExpirySeconds: this.#refreshBeforeExpirySeconds }),
    });
    return { ...token, refreshAfter };
  }
}

function required(name: string, envName: string): string {
  const value = env(envName);
  if (value === undefined) {
    throw invalidConfig(
      'azure',
      `${name} is required: pass ${name} or set ${envName}`,
      name === 'tenantId'
        ? 'The Directory (tenant) ID of the tenant that holds the app registration or managed identity.'
        : 'The Application (client) ID of the app registration, or the Client ID of the user-assigned managed identity, that has the federated identity credential.',
    );
  }
  return value;
}

function checkOptionNames(options: object): void {
  for (const name of Object.keys(options)) {
    if (KNOWN_OPTIONS.has(name) || (options as Record<string, unknown>)[name] === undefined) continue;
    const why = UNSUPPORTED_OPTIONS[name];
    throw invalidConfig(
      'azure',
      why
        ? `${name} is a ClientAssertionCredential option that does not apply to AwsFederatedCredential: ${why}`
        : `${name} is not an option of AwsFederatedCredential (options: ${[...KNOWN_OPTIONS].join(', ')})`,
    );
  }
}

function checkAllowedTenants(value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw invalidConfig(
      'azure',
      `additionallyAllowedTenants must be an array of tenant IDs or "*", got ${showValue(value)}`,
    );
  }
  return value.map((tenant, i) => (tenant === '*' ? '*' : checkTenantId(`additionallyAllowedTenants[${i}]`, tenant)));
}

/** One space-separated scope string, de-duplicated and sorted so that equal sets share a cache entry. */
function normalizeScopes(scopes: unknown): string {
  const list = typeof scopes === 'string' ? [scopes] : scopes;
  const bad = () =>
    invalidConfig(
      'azure',
      `scopes must be a non-empty string or array of non-empty strings (e.g. "https://storage.azure.com/.default"), got ${showValue(scopes)}`,
    );
  if (!Array.isArray(list) || list.length === 0) throw bad();
  const out = new Set<string>();
  for (const item of list) {
    if (typeof item !== 'string') throw bad();
    for (const part of item.split(/\s+/)) if (part !== '') out.add(part);
  }
  if (out.size === 0) throw bad();
  return [...out].sort().join(' ');
}

/**
 * The `claims` parameter: the challenge's claims, plus `xms_cc: ["cp1"]` in `access_token` when the
 * caller enables CAE, which is what MSAL sends (msal-common `RequestParameterBuilder.addClaims`).
 */
function mergeClaims(challenge: string | undefined, enableCae: boolean): string | null {
  if (!enableCae) return challenge ?? null;
  let parsed: Record<string, unknown> = {};
  if (challenge !== undefined) {
    try {
      const value: unknown = JSON.parse(challenge);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('not an object');
      parsed = value as Record<string, unknown>;
    } catch {
      throw invalidConfig('azure', 'getToken claims must be a JSON object (the decoded claims of a CAE challenge)');
    }
  }
  const accessToken = parsed.access_token;
  const merged = {
    ...parsed,
    access_token: {
      ...(typeof accessToken === 'object' && accessToken !== null ? accessToken : {}),
      xms_cc: { values: [CAE_CLIENT_CAPABILITY] },
    },
  };
  return JSON.stringify(merged);
}

function encodeKey(key: TokenKey): string {
  return JSON.stringify([key.tenantId, key.scope, key.claims, key.challenge]);
}

function decodeKey(encoded: string): TokenKey {
  const [tenantId, scope, claims, challenge] = JSON.parse(encoded) as [string, string, string | null, boolean];
  return { tenantId, scope, claims, challenge };
}

/** Azure passes an `AbortSignalLike`; the cache and fetch need a real `AbortSignal`. */
function toAbortSignal(signal: GetTokenOptions['abortSignal']): AbortSignal | undefined {
  if (signal === undefined || signal === null) return undefined;
  if (signal instanceof AbortSignal) return signal;
  const like = signal as { aborted?: unknown; addEventListener?: unknown };
  if (typeof like.aborted !== 'boolean' || typeof like.addEventListener !== 'function') {
    throw invalidConfig('azure', `getToken abortSignal must be an AbortSignal, got ${showValue(signal)}`);
  }
  const controller = new AbortController();
  if (signal.aborted) controller.abort((signal as { reason?: unknown }).reason);
  else
    signal.addEventListener('abort', () => controller.abort((signal as { reason?: unknown }).reason), { once: true });
  return controller.signal;
}
