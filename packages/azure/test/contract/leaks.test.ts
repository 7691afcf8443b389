/**
 * No token, assertion or response body in any log line or error: every path, at debug level, with
 * the AWS JWT and the issued (opaque, so that redaction cannot mask a leak) access token as secrets.
 */
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stsErrorXml, TEST_CREDENTIALS } from '../../../../test/support/aws.js';
import { errorText, expectNoSecrets, recordingLogger } from '../../../../test/support/leaks.js';
import { faults, withLoopbackServer } from '../../../../test/support/loopback.js';
import { AwsFederatedCredential, type AwsFederatedCredentialOptions } from '../../src/index.js';
import { ENTRA_ERRORS } from './entra-error-cases.js';
import {
  type Answer,
  accessToken,
  CLIENT_ID,
  entraError,
  entraSuccess,
  mockEntra,
  mockSts,
  STORAGE_SCOPE,
  STS_ORIGIN,
  TENANT_ID,
} from './entra-mock.js';

beforeEach(() => {
  for (const name of [
    'AZURE_TENANT_ID',
    'AZURE_CLIENT_ID',
    'AZURE_AUTHORITY_HOST',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
  ]) {
    vi.stubEnv(name, '');
  }
});
afterEach(() => {
  nock.cleanAll();
});

describe('secrets stay out of logs and errors', () => {
  it('on success and on every error path', async () => {
    const { lines, logger } = recordingLogger();
    const texts: string[] = [];
    const secrets: string[] = [];
    const options = (extra: Partial<AwsFederatedCredentialOptions> = {}): AwsFederatedCredentialOptions => ({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS },
      retry: false,
      logger,
      ...extra,
    });
    const run = async (answer: Answer, extra: Partial<AwsFederatedCredentialOptions> = {}) => {
      const sts = mockSts(1);
      const entra = mockEntra([answer]);
      try {
        const result = await new AwsFederatedCredential(options(extra)).getToken(STORAGE_SCOPE, { enableCae: true });
        secrets.push(result.token);
      } catch (error) {
        texts.push(errorText(error));
      }
      sts.scope.done();
      entra.scope.done();
      secrets.push(...sts.tokens);
    };

    const issued = accessToken();
    await run(entraSuccess(issued));
    expect(secrets).toContain(issued);
    for (const { answer } of ENTRA_ERRORS) await run(answer);

    // A proxy or a buggy endpoint that echoes the request back in its error text.
    const echo = mockSts(1);
    const entraEcho = nock('https://login.microsoftonline.com')
      .post(`/${TENANT_ID}/oauth2/v2.0/token`)
      .reply(async (req: Request) => {
        const form = new URLSearchParams(await req.text());
        const [status, body, headers] = entraError(400, 'invalid_request', 900144, `Bad request: ${form.toString()}`);
        return [status, JSON.stringify(body), headers ?? {}];
      });
    texts.push(errorText(await new AwsFederatedCredential(options()).getToken(STORAGE_SCOPE).catch((e: unknown) => e)));
    echo.scope.done();
    entraEcho.done();
    secrets.push(...echo.tokens);

    // A 200 that carries a token but no expiry, and an STS refusal.
    const partial = accessToken();
    await run([200, { token_type: 'Bearer', access_token: partial }, { 'content-type': 'application/json' }]);
    secrets.push(partial);
    nock(STS_ORIGIN)
      .post('/')
      .reply(403, stsErrorXml('AccessDenied', 'not authorized'), { 'content-type': 'text/xml' });
    texts.push(errorText(await new AwsFederatedCredential(options()).getToken(STORAGE_SCOPE).catch((e: unknown) => e)));

    // Network failures.
    await withLoopbackServer(faults.reset, async (origin) => {
      const sts = mockSts(1);
      texts.push(
        errorText(
          await new AwsFederatedCredential(options({ authorityHost: origin }))
            .getToken(STORAGE_SCOPE)
            .catch((e: unknown) => e),
        ),
      );
      secrets.push(...sts.tokens);
    });

    expect(texts).toHaveLength(ENTRA_ERRORS.length + 4);
    expect(lines.some((line) => line.startsWith('debug [keyless:azure] requesting a token'))).toBe(true);
    expect(lines.some((line) => line.startsWith('debug [keyless:aws] new token'))).toBe(true);
    expectNoSecrets([...lines, ...texts], secrets);
  });
});
