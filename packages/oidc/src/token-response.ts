import { type HttpResponse, KeylessError, type KeylessErrorDetails, readJsonObject } from '@keyless/core';

/** A token from an OAuth 2.0 token endpoint (RFC 6749 §5.1, RFC 8693 §2.2.1). */
export interface AccessToken {
  /** The credential. Treat it as a secret. */
  accessToken: string;
  /** `token_type`, e.g. `Bearer` or `N_A`; `Bearer` when the server leaves it out. */
  tokenType: string;
  /** From `expires_in`, counted from when the request was sent; see `defaultExpiresInSeconds`. */
  expiresAt: Date;
  /** `issued_token_type` (RFC 8693), e.g. `urn:ietf:params:oauth:token-type:access_token`. */
  issuedTokenType?: string;
  /** `scope`, when the server says which scopes it granted. */
  scope?: string;
  /** `refresh_token`, when the server issues one. keyless does not use it: it exchanges again. */
  refreshToken?: string;
}

export interface TokenResponseContext {
  service: string;
  /** When the request left this machine (ms since epoch). */
  started: number;
  /** Expiry to use when the answer has no `expires_in` (ms since epoch). */
  fallbackExpiresAt: number;
  presented: KeylessErrorDetails['presented'];
}

/** Reads a 2xx answer of a token endpoint; anything unusable is `INVALID_RESPONSE`. */
export function readTokenResponse(response: HttpResponse, context: TokenResponseContext): AccessToken {
  let body: Record<string, unknown>;
  try {
    body = readJsonObject(response, 'oidc', context.service);
  } catch (error) {
    throw error instanceof KeylessError ? withPresented(error, context.presented) : error;
  }
  const invalid = (what: string) =>
    new KeylessError({
      code: 'INVALID_RESPONSE',
      provider: 'oidc',
      message: `${capitalize(context.service)} answered HTTP ${response.status} ${what}.`,
      hint: 'The endpoint does not answer like an OAuth 2.0 token endpoint: check the endpoint URL.',
      details: { status: response.status, presented: context.presented },
    });
  const { access_token, token_type, expires_in, issued_token_type, scope, refresh_token } = body;
  if (typeof access_token !== 'string' || access_token.length === 0) throw invalid('without an access_token');
  if (token_type !== undefined && typeof token_type !== 'string')
    throw invalid('with a token_type that is not a string');
  let expiresAt = context.fallbackExpiresAt;
  if (expires_in !== undefined && expires_in !== null) {
    const seconds = toSeconds(expires_in);
    if (seconds === undefined) throw invalid('with an expires_in that is not a number of seconds');
    expiresAt = context.started + seconds * 1000;
  }
  const token: AccessToken = {
    accessToken: access_token,
    tokenType: typeof token_type === 'string' && token_type.length > 0 ? token_type : 'Bearer',
    expiresAt: new Date(expiresAt),
  };
  if (typeof issued_token_type === 'string') token.issuedTokenType = issued_token_type;
  if (typeof scope === 'string') token.scope = scope;
  if (typeof refresh_token === 'string') token.refreshToken = refresh_token;
  return token;
}

/** `expires_in` as seconds: a non-negative number, or a string of digits (some servers quote it). */
function toSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d{1,10}$/.test(value)) return Number(value);
  return undefined;
}

/** A copy of `error` with more details (a `KeylessError` is immutable once built). */
export function withDetails(error: KeylessError, details: KeylessErrorDetails, hint?: string): KeylessError {
  return new KeylessError({
    code: error.code,
    provider: error.provider,
    message: error.message,
    ...((hint ?? error.hint) ? { hint: hint ?? error.hint } : {}),
    retryable: error.retryable,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    details: { ...error.details, ...details },
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  });
}

function withPresented(error: KeylessError, presented: KeylessErrorDetails['presented']): KeylessError {
  return presented ? withDetails(error, { presented }) : error;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
