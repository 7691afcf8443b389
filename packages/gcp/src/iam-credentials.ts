import { KeylessError, readJsonObject, sendHttpRequest } from '@keyless/core';
import { type ExchangeContext, mapIamCredentialsError } from './google-errors.js';
import type { Impersonation } from './google-target.js';

export interface ImpersonationRequest {
  impersonation: Impersonation;
  /** The federated token from Google STS. */
  federatedToken: string;
  scopes: readonly string[];
  timeoutMs: number | undefined;
  context: ExchangeContext;
}

export interface ServiceAccountToken {
  accessToken: string;
  expiresAt: Date;
}

/**
 * IAM Credentials `generateAccessToken` (`POST …/serviceAccounts/{email}:generateAccessToken`, JSON
 * `{ scope, lifetime: "<n>s" }` → `{ accessToken, expireTime }`), authorised by the federated token.
 */
export async function generateServiceAccountToken(request: ImpersonationRequest): Promise<ServiceAccountToken> {
  const { impersonation } = request;
  const started = Date.now();
  const response = await sendHttpRequest({
    url: impersonation.url,
    method: 'POST',
    headers: { authorization: `Bearer ${request.federatedToken}` },
    json: { scope: request.scopes, lifetime: `${impersonation.lifetimeSeconds}s` },
    provider: 'gcp',
    service: 'IAM Service Account Credentials',
    ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
  });
  if (response.status < 200 || response.status >= 300) throw mapIamCredentialsError(response, request.context);
  const body = readJsonObject(response, 'gcp', 'IAM Service Account Credentials');
  const { accessToken, expireTime } = body;
  const expiry = typeof expireTime === 'string' ? Date.parse(expireTime) : Number.NaN;
  if (typeof accessToken !== 'string' || accessToken.length === 0 || Number.isNaN(expiry)) {
    throw new KeylessError({
      code: 'INVALID_RESPONSE',
      provider: 'gcp',
      message: `IAM Service Account Credentials answered HTTP ${response.status} without accessToken and expireTime.`,
      hint: 'Check serviceAccountImpersonationUrl: it must be …/v1/projects/-/serviceAccounts/<email>:generateAccessToken.',
      retryable: true,
      details: { status: response.status },
    });
  }
  // expireTime is on Google's clock; the requested lifetime counted from the request is on ours. The
  // earlier of the two is right whichever way this machine's clock is off.
  const expiresAt = Math.min(expiry, started + impersonation.lifetimeSeconds * 1000);
  return { accessToken, expiresAt: new Date(expiresAt) };
}
