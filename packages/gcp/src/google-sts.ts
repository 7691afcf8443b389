import { KeylessError, readJsonObject, sendHttpRequest } from '@keyless/core';
import { type ExchangeContext, mapStsError } from './google-errors.js';

// RFC 8693 token exchange as Google STS takes it (STS API reference `v1/token`; google-auth-library
// BaseExternalAccountClient / StsCredentials send the same form).
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const REQUESTED_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const SUBJECT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
// Federated tokens live one hour; should STS ever leave out expires_in, assume much less so that the
// token is replaced early rather than used after it expired.
const FALLBACK_LIFETIME_SECONDS = 300;

export interface StsExchange {
  tokenUrl: string;
  /** The provider's resource name: STS's `audience`. */
  audience: string;
  scopes: readonly string[];
  subjectToken: string;
  timeoutMs: number | undefined;
  context: ExchangeContext;
}

export interface FederatedToken {
  accessToken: string;
  expiresAt: Date;
}

/** `POST {tokenUrl}`: trades the AWS JWT for a federated access token. No client authentication. */
export async function exchangeForFederatedToken(request: StsExchange): Promise<FederatedToken> {
  const started = Date.now();
  const response = await sendHttpRequest({
    url: request.tokenUrl,
    form: {
      grant_type: GRANT_TYPE,
      audience: request.audience,
      scope: request.scopes.join(' '),
      requested_token_type: REQUESTED_TOKEN_TYPE,
      subject_token_type: SUBJECT_TOKEN_TYPE,
      subject_token: request.subjectToken,
    },
    provider: 'gcp',
    service: 'Google STS',
    ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
  });
  if (response.status < 200 || response.status >= 300) throw mapStsError(response, request.context);
  const body = readJsonObject(response, 'gcp', 'Google STS');
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw new KeylessError({
      code: 'INVALID_RESPONSE',
      provider: 'gcp',
      message: `Google STS answered HTTP ${response.status} without an access_token.`,
      hint: 'Check tokenUrl: it must be the Google STS token endpoint (https://sts.googleapis.com/v1/token).',
      retryable: true,
      details: { status: response.status },
    });
  }
  const expiresIn = body.expires_in;
  const lifetime =
    typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0
      ? expiresIn
      : FALLBACK_LIFETIME_SECONDS;
  // Counted from when the request left, so that a slow answer cannot stretch the token's life.
  return { accessToken, expiresAt: new Date(started + lifetime * 1000) };
}
