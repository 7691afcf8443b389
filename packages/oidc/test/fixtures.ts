/**
 * Shared by the contract tests of @keyless/oidc: AWS-shaped JWTs from the repository fixtures, a
 * `webIdentityToken` provider over them, and a nock reply that records the exact request.
 */
import { decodeAwsWebIdentityClaims, type WebIdentityTokenProvider } from '@keyless/core';
import nock from 'nock';
import { type AwsJwtOptions, makeAwsJwt } from '../../../test/support/aws.js';

export { TEST_ACCOUNT, TEST_ISSUER, TEST_ROLE_ARN } from '../../../test/support/aws.js';

export interface Captured {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

export type Answer = [status: number, body: unknown, headers?: Record<string, string>];

/** Answers requests at `origin` + `path` in order, one answer per request, recording each request. */
export function mockEndpoint(origin: string, path: string, answers: Answer[], method: 'POST' | 'GET' = 'POST') {
  const captured: Captured[] = [];
  const scope = nock(origin);
  for (const answer of answers) {
    const interceptor = method === 'POST' ? scope.post(path) : scope.get(path);
    interceptor.reply(async (req: Request) => {
      captured.push({
        url: req.url,
        method: req.method,
        headers: Object.fromEntries(req.headers.entries()),
        body: await req.text(),
      });
      const [status, body, headers] = answer;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      return [status, text, { 'content-type': 'application/json', ...headers }];
    });
  }
  return { scope, captured };
}

/** The form fields of a captured request, in order (repeated fields stay repeated). */
export function formEntries(captured: Captured | undefined): [string, string][] {
  return [...new URLSearchParams(captured?.body ?? '').entries()];
}

/** A JWT shaped like AWS's, with the audience a token endpoint would trust. */
export function awsJwt(options: AwsJwtOptions = {}): Promise<string> {
  return makeAwsJwt({ audience: 'https://auth.example.com', ...options });
}

/** A `webIdentityToken` provider that counts its calls and serves `token` (or the next of `tokens`). */
export function staticJwt(tokens: string | string[], lifetimeSeconds = 300) {
  const list = typeof tokens === 'string' ? [tokens] : tokens;
  let calls = 0;
  const provider: WebIdentityTokenProvider = async () => {
    const token = list[Math.min(calls, list.length - 1)] as string;
    calls++;
    return {
      token,
      expiresAt: new Date(Date.now() + lifetimeSeconds * 1000),
      claims: decodeAwsWebIdentityClaims(token),
    };
  };
  return { provider, calls: () => calls };
}

/** An RFC 6749 §5.1 / RFC 8693 §2.2.1 success body. */
export function tokenBody(accessToken: string, extra: Record<string, unknown> = {}) {
  return {
    access_token: accessToken,
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    token_type: 'Bearer',
    expires_in: 3600,
    ...extra,
  };
}

/** Resolves to the rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<import('@keyless/core').KeylessError> {
  try {
    await promise;
  } catch (error) {
    return error as import('@keyless/core').KeylessError;
  }
  throw new Error('expected a rejection');
}
