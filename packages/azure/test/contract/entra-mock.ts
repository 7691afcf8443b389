/**
 * A nock Entra ID token endpoint that answers like the real one (PROTOCOLS §3.3, §3.4) and records
 * every request. nock 15 calls a reply function with one argument, the Fetch `Request`.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { decodeAwsWebIdentityClaims } from '@keyless/core';
import nock from 'nock';
import { makeAwsJwt, stsSuccessXml } from '../../../../test/support/aws.js';
import { registerSecret } from '../../../../test/support/secrets.js';

export const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const OTHER_TENANT_ID = '8eaef023-2b34-4da1-9baa-8bc8c9d6a490';
export const CLIENT_ID = '00001111-aaaa-2222-bbbb-3333cccc4444';
export const LOGIN = 'https://login.microsoftonline.com';
export const STORAGE_SCOPE = 'https://storage.azure.com/.default';
export const STS_ORIGIN = 'https://sts.us-east-1.amazonaws.com';

export interface CapturedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  form: Record<string, string>;
  /** Field names in the order they were sent, repeated ones included. */
  fields: string[];
}

export type Answer = [status: number, body: unknown, headers?: Record<string, string>];

/** An opaque access token (no JWT shape, so that redaction cannot hide a leak of it). */
export function accessToken(): string {
  return registerSecret(`at_${randomBytes(24).toString('base64url')}`);
}

export function entraSuccess(
  token: string,
  fields: { expires_in?: number | string; refresh_in?: number; token_type?: string } = {},
): Answer {
  return [
    200,
    {
      token_type: 'Bearer',
      expires_in: 3599,
      ext_expires_in: 3599,
      ...fields,
      access_token: token,
    },
    { 'content-type': 'application/json; charset=utf-8' },
  ];
}

/** An error body exactly as Entra shapes it, boilerplate tail included. */
export function entraError(
  status: number,
  error: string,
  code: number,
  text: string,
  options: { errorCodes?: boolean; headers?: Record<string, string> } = {},
): Answer {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = '2026-11-21 12:00:00Z';
  return [
    status,
    {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      ...(options.errorCodes === false ? {} : { error_codes: [code] }),
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
    { 'content-type': 'application/json; charset=utf-8', ...options.headers },
  ];
}

/** Answers each POST to `{origin}{path}` with the next answer, recording the requests. */
export function mockEntra(
  answers: Answer[],
  { origin = LOGIN, tenantId = TENANT_ID, path }: { origin?: string; tenantId?: string; path?: string } = {},
) {
  const requests: CapturedRequest[] = [];
  const scope = nock(origin);
  for (const answer of answers) {
    // MSAL adds ?client-request-id=…; keyless sends no query (the tests check the exact URL).
    scope
      .post(path ?? `/${tenantId}/oauth2/v2.0/token`)
      .query(true)
      .reply(async (req: Request) => {
        const text = await req.text();
        const params = new URLSearchParams(text);
        requests.push({
          url: req.url,
          method: req.method,
          headers: Object.fromEntries(req.headers.entries()),
          form: Object.fromEntries(params),
          fields: [...params.keys()],
        });
        return [answer[0], typeof answer[1] === 'string' ? answer[1] : JSON.stringify(answer[1]), answer[2] ?? {}];
      });
  }
  return { scope, requests };
}

/** Mocks STS GetWebIdentityToken `times` times with fresh RS256 JWTs; records the forms. */
export function mockSts(
  times = 1,
  jwtOptions: Parameters<typeof makeAwsJwt>[0] = {},
): { scope: nock.Scope; forms: Record<string, string>[]; tokens: string[] } {
  const forms: Record<string, string>[] = [];
  const tokens: string[] = [];
  const scope = nock(STS_ORIGIN)
    .post('/')
    .times(times)
    .reply(async (req: Request) => {
      forms.push(Object.fromEntries(new URLSearchParams(await req.text())));
      const token = await makeAwsJwt(jwtOptions);
      tokens.push(token);
      return [200, stsSuccessXml(token, new Date(Date.now() + 300_000)), { 'content-type': 'text/xml' }];
    });
  return { scope, forms, tokens };
}

/** A `webIdentityToken` provider that counts its calls and hands out one JWT. */
export async function countingProvider(jwtOptions: Parameters<typeof makeAwsJwt>[0] = {}) {
  const token = await makeAwsJwt(jwtOptions);
  const claims = decodeAwsWebIdentityClaims(token);
  const provider = Object.assign(
    async () => {
      provider.calls++;
      return { token, expiresAt: new Date(claims.exp * 1000), claims };
    },
    { calls: 0, token },
  );
  return provider;
}
