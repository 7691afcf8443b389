import {
  clipClaim,
  type HttpResponse,
  httpStatusError,
  invalidConfig,
  KeylessError,
  type Logger,
  readJsonObject,
  sendHttpRequest,
  showValue,
} from '@keyless/core';
import { checkSecureUrl } from './secure-url.js';

// OpenID Connect Discovery 1.0 §4: the document is at the issuer URL + `/.well-known/openid-configuration`.
const OPENID_CONFIGURATION = '/.well-known/openid-configuration';
// RFC 8414 §3: the well-known segment goes between the host and the issuer's path.
const OAUTH_AUTHORIZATION_SERVER = '/.well-known/oauth-authorization-server';

const SERVICE = 'the issuer’s discovery endpoint';

/** The fields keyless reads from an OpenID Provider / OAuth authorization server metadata document. */
export interface DiscoveryDocument {
  issuer: string;
  token_endpoint?: unknown;
  jwks_uri?: unknown;
  [field: string]: unknown;
}

export interface DiscoveryOptions {
  /** The configured issuer identifier: the document's `issuer` must equal it exactly. */
  issuer: string;
  /** Also try RFC 8414 `oauth-authorization-server` metadata when there is no OpenID configuration. */
  oauthFallback: boolean;
  timeoutMs: number;
  log: Logger;
}

/** Loads the document once; a failure is not remembered, so the next call tries again. */
export type Discovery = () => Promise<DiscoveryDocument>;

/** An issuer option: an https URL (http on loopback) without query or fragment (OIDC Discovery §2). */
export function checkIssuer(name: string, value: unknown): string {
  const url = checkSecureUrl(name, value);
  if (url.search !== '') throw invalidConfig('oidc', `${name} must not contain a query (?…), got ${showValue(value)}`);
  return value as string;
}

export function openIdConfigurationUrl(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, '')}${OPENID_CONFIGURATION}`);
}

export function oauthServerMetadataUrl(issuer: string): URL {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = `${OAUTH_AUTHORIZATION_SERVER}${path}`;
  return url;
}

export function createDiscovery(options: DiscoveryOptions): Discovery {
  let document: Promise<DiscoveryDocument> | undefined;
  return () => {
    document ??= discover(options).catch((error: unknown) => {
      document = undefined;
      throw error;
    });
    return document;
  };
}

async function discover({ issuer, oauthFallback, timeoutMs, log }: DiscoveryOptions): Promise<DiscoveryDocument> {
  const candidates = [openIdConfigurationUrl(issuer), ...(oauthFallback ? [oauthServerMetadataUrl(issuer)] : [])];
  for (const [index, url] of candidates.entries()) {
    const response = await sendHttpRequest({ url, method: 'GET', provider: 'oidc', service: SERVICE, timeoutMs });
    if (response.status === 200) {
      const document = checkDocument(readJsonObject(response, 'oidc', SERVICE), issuer, url);
      log.debug(`discovered ${url.href}`);
      return document;
    }
    const next = candidates[index + 1];
    if (next && isAbsent(response.status)) {
      log.debug(`no discovery document at ${url.href} (HTTP ${response.status}); trying ${next.href}`);
      continue;
    }
    throw statusError(response, candidates.slice(0, index + 1));
  }
  // Unreachable: the last candidate either returns or throws.
  throw new Error('discovery ended without a result');
}

/** Statuses that mean "no document here" rather than "the server is in trouble". */
function isAbsent(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function statusError(response: HttpResponse, tried: URL[]): KeylessError {
  if (response.status === 404 || response.status === 410) {
    return new KeylessError({
      code: 'INVALID_CONFIG',
      provider: 'oidc',
      message: `No discovery document at ${tried.map((u) => u.href).join(' or ')} (HTTP ${response.status}).`,
      hint: 'Check issuer: it must be the exact issuer identifier of the server. Or pass tokenEndpoint instead.',
      details: { status: response.status },
    });
  }
  return endpointStatusError(response, `${SERVICE} ${tried.at(-1)?.href ?? ''}`.trim());
}

/**
 * A metadata or key endpoint that does not answer 200: 429 is `THROTTLED`; anything else is
 * `INVALID_RESPONSE`, retryable for 5xx (there is no exchange here to have failed).
 */
export function endpointStatusError(response: HttpResponse, service: string): KeylessError {
  if (response.status === 429) return httpStatusError(response, 'oidc', service);
  return new KeylessError({
    code: 'INVALID_RESPONSE',
    provider: 'oidc',
    message: `${service.charAt(0).toUpperCase()}${service.slice(1)} answered HTTP ${response.status}.`,
    hint: response.status >= 500 ? 'The server had a problem; try again later.' : 'Check the issuer URL.',
    retryable: response.status >= 500,
    ...(response.retryAfterMs === undefined ? {} : { retryAfterMs: response.retryAfterMs }),
    details: { status: response.status },
  });
}

function checkDocument(body: Record<string, unknown>, issuer: string, url: URL): DiscoveryDocument {
  const found = body.issuer;
  if (typeof found !== 'string' || found.length === 0) {
    throw new KeylessError({
      code: 'INVALID_RESPONSE',
      provider: 'oidc',
      message: `The discovery document at ${url.href} has no issuer.`,
      hint: 'Check issuer: it must point at an OpenID Connect or OAuth 2.0 server.',
      details: { status: 200 },
    });
  }
  if (found !== issuer) {
    // OIDC Discovery §4.3 / RFC 8414 §3.3: a mismatch means the document may not describe this issuer.
    const slashOnly = found.replace(/\/+$/, '') === issuer.replace(/\/+$/, '');
    throw new KeylessError({
      code: slashOnly ? 'INVALID_CONFIG' : 'INVALID_RESPONSE',
      provider: 'oidc',
      message: `The discovery document at ${url.href} names issuer ${JSON.stringify(clipClaim(found))}, not the configured ${JSON.stringify(issuer)}.`,
      hint: slashOnly
        ? `Set issuer to ${JSON.stringify(clipClaim(found))} exactly: issuer identifiers are compared character for character.`
        : 'The document describes another issuer; keyless does not use it. Check issuer, or the proxy in front of the server.',
      details: { status: 200, expected: { issuer }, discoveredIssuer: clipClaim(found) },
    });
  }
  return body as DiscoveryDocument;
}
