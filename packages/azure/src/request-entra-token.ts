import { KeylessError, readJsonObject, sendHttpRequest, summarizeToken } from '@keyless/core';
import { type EntraRequestContext, mapEntraError } from './entra-error.js';

/** RFC 7521 §4.2 / RFC 7523 §2.2: a JWT used as client authentication. */
export const CLIENT_ASSERTION_TYPE_JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The grant MSAL uses for `acquireTokenByClientCredential` (Microsoft identity platform, client credentials flow). */
const GRANT_TYPE = 'client_credentials';
const SERVICE = 'the Entra ID token endpoint';

export interface EntraTokenRequest {
  tokenEndpoint: URL;
  /** For hints: the authority host the endpoint was built from. */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  /** Space-separated scopes, e.g. `https://storage.azure.com/.default`. */
  scope: string;
  /** The `claims` parameter (a JSON object as a string), when there is one. */
  claims: string | undefined;
  /** The AWS-signed JWT: the client assertion. */
  assertion: string;
  tokenSource: EntraRequestContext['tokenSource'];
  timeoutMs: number;
}

export interface EntraAccessToken {
  /** The access token. Never log it. */
  token: string;
  /** When it expires, on this machine's clock (its lifetime counted from when the request left). */
  expiresAt: Date;
  /** When Entra asks for it to be renewed (`refresh_in`), if it said. */
  refreshAt?: Date | undefined;
}

/**
 * One client-credentials token request with a JWT client assertion (the "what MSAL actually sends"
 * of PROTOCOLS §3.2, less MSAL's telemetry fields). Resolves with the token or rejects with a
 * `KeylessError` mapped from Entra's answer.
 */
export async function requestEntraToken(request: EntraTokenRequest): Promise<EntraAccessToken> {
  const started = Date.now();
  const clientRequestId = crypto.randomUUID();
  const response = await sendHttpRequest({
    url: request.tokenEndpoint,
    method: 'POST',
    form: {
      client_id: request.clientId,
      scope: request.scope,
      grant_type: GRANT_TYPE,
      client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
      client_assertion: request.assertion,
      claims: request.claims,
    },
    // Entra echoes it as correlation_id: one id to quote in a support ticket.
    headers: { 'client-request-id': clientRequestId },
    timeoutMs: request.timeoutMs,
    provider: 'azure',
    service: SERVICE,
  });
  if (response.status < 200 || response.status > 299) {
    throw mapEntraError(response, {
      tenantId: request.tenantId,
      clientId: request.clientId,
      authorityHost: request.authorityHost,
      scope: request.scope,
      presented: summarizeToken(request.assertion),
      tokenSource: request.tokenSource,
      clientRequestId,
    });
  }
  const body = readJsonObject(response, 'azure', SERVICE);
  const { access_token: token, token_type: tokenType } = body;
  const expiresIn = seconds(body.expires_in);
  if (typeof token !== 'string' || token.length === 0 || expiresIn === undefined || expiresIn <= 0) {
    throw invalidResponse(
      response.status,
      `answered HTTP ${response.status} without ${typeof token !== 'string' || token.length === 0 ? 'an access_token' : 'a positive expires_in'}`,
    );
  }
  // Only bearer tokens are asked for; a PoP or SSH certificate here would be unusable as `Bearer`.
  if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
    throw invalidResponse(response.status, `answered with token_type ${JSON.stringify(tokenType)} instead of Bearer`);
  }
  const refreshIn = seconds(body.refresh_in);
  return {
    token,
    expiresAt: new Date(started + expiresIn * 1000),
    ...(refreshIn !== undefined && refreshIn > 0 && refreshIn < expiresIn
      ? { refreshAt: new Date(started + refreshIn * 1000) }
      : {}),
  };
}

/** Entra sends numbers; some proxies and older endpoints send numeric strings (MSAL accepts both). */
function seconds(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function invalidResponse(status: number, what: string): KeylessError {
  return new KeylessError({
    code: 'INVALID_RESPONSE',
    provider: 'azure',
    message: `Entra ID ${what}.`,
    hint: 'A proxy may be answering instead of Entra ID; check authorityHost.',
    retryable: true,
    details: { status },
  });
}
