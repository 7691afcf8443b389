import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseForm, stsSuccessXml, TEST_CREDENTIALS } from '../../../../test/support/aws.js';
import { fromDatabricks, TOKEN_EXCHANGE_GRANT_TYPE } from '../../src/index.js';
import { awsJwt, formEntries, mockEndpoint, rejectionOf, staticJwt } from '../fixtures.js';

const HOST = 'dbc-1234abcd-5678.cloud.databricks.com';
const ORIGIN = `https://${HOST}`;
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
// Databricks' answer shape (standard OAuth; its tokens are opaque JWTs).
const databricksToken = (accessToken: string) => ({
  access_token: accessToken,
  scope: 'all-apis',
  token_type: 'Bearer',
  expires_in: 3599,
});

beforeEach(() => {
  vi.stubEnv('DATABRICKS_HOST', '');
  vi.stubEnv('AWS_REGION', '');
  vi.stubEnv('AWS_DEFAULT_REGION', '');
});
afterEach(() => {
  nock.cleanAll();
});

describe('fromDatabricks (OAuth token federation)', () => {
  it('exchanges at https://<workspace>/oidc/v1/token with scope all-apis and client_id for an SP policy', async () => {
    const jwt = await awsJwt({ audience: 'databricks' });
    const { scope, captured } = mockEndpoint(ORIGIN, '/oidc/v1/token', [[200, databricksToken('dbx-1')]]);
    const token = await fromDatabricks({
      host: HOST,
      clientId: '6f1c9d0e-app-id',
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    scope.done();
    expect(captured[0]!.url).toBe(`${ORIGIN}/oidc/v1/token`);
    expect(captured[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(formEntries(captured[0])).toEqual([
      ['grant_type', TOKEN_EXCHANGE_GRANT_TYPE],
      ['subject_token', jwt],
      ['subject_token_type', JWT_TYPE],
      ['scope', 'all-apis'],
      ['client_id', '6f1c9d0e-app-id'],
    ]);
    expect(token).toMatchObject({ accessToken: 'dbx-1', tokenType: 'Bearer', scope: 'all-apis' });
  });

  it('omits client_id for an account-wide policy, and reads DATABRICKS_HOST (with scheme and slash)', async () => {
    vi.stubEnv('DATABRICKS_HOST', `${ORIGIN}/`);
    const jwt = await awsJwt();
    const { scope, captured } = mockEndpoint(ORIGIN, '/oidc/v1/token', [[200, databricksToken('dbx')]]);
    await fromDatabricks({ webIdentityToken: staticJwt(jwt).provider, retry: false })();
    scope.done();
    expect(Object.fromEntries(formEntries(captured[0])).client_id).toBeUndefined();
  });

  it('uses the account endpoint for an account console host', async () => {
    const jwt = await awsJwt();
    const { scope } = mockEndpoint('https://accounts.cloud.databricks.com', '/oidc/accounts/acc-123/v1/token', [
      [200, databricksToken('acct')],
    ]);
    const token = await fromDatabricks({
      host: 'accounts.cloud.databricks.com',
      accountId: 'acc-123',
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    scope.done();
    expect(token.accessToken).toBe('acct');
  });

  it('asks STS for an RS256 JWT lasting 3600 s, with the account ID as default audience', async () => {
    const jwt = await awsJwt({ audience: 'acc-123', lifetime: 3600 });
    const sts: Record<string, string>[] = [];
    const stsScope = nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .reply(async (req: Request) => {
        sts.push(parseForm(await req.text()));
        return [200, stsSuccessXml(jwt, new Date(Date.now() + 3_600_000)), { 'content-type': 'text/xml' }];
      });
    const { scope } = mockEndpoint(ORIGIN, '/oidc/v1/token', [[200, databricksToken('dbx')]]);
    await fromDatabricks({
      host: HOST,
      accountId: 'acc-123',
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS },
      retry: false,
    })();
    stsScope.done();
    scope.done();
    expect(sts[0]).toMatchObject({
      Action: 'GetWebIdentityToken',
      'Audience.member.1': 'acc-123',
      DurationSeconds: '3600',
      SigningAlgorithm: 'RS256',
    });
  });

  it('a bare 401 is TOKEN_REJECTED naming the federation policy fields', async () => {
    const jwt = await awsJwt({ audience: 'databricks' });
    const { scope } = mockEndpoint(ORIGIN, '/oidc/v1/token', [[401, '', { 'content-type': 'text/plain' }]]);
    const error = await rejectionOf(
      fromDatabricks({ host: HOST, webIdentityToken: staticJwt(jwt).provider, retry: false })(),
    );
    scope.done();
    expect(error).toMatchObject({ code: 'TOKEN_REJECTED', provider: 'oidc', retryable: false });
    expect(error.hint).toMatch(/federation policy/);
    expect(error.hint).toContain('aud=databricks');
    expect(error.details.presented?.aud).toBe('databricks');
  });

  it('OAuth errors follow RFC 6749 §5.2; invalid_client names the service principal', async () => {
    const jwt = await awsJwt({ audience: 'databricks' });
    mockEndpoint(ORIGIN, '/oidc/v1/token', [
      [400, { error: 'invalid_request', error_description: 'Token exchange failed: no matching federation policy' }],
      [401, { error: 'invalid_client', error_description: 'Client authentication failed' }],
      [503, { error: 'temporarily_unavailable' }],
    ]);
    const base = { host: HOST, webIdentityToken: staticJwt(jwt).provider, retry: false as const };
    expect((await rejectionOf(fromDatabricks(base)())).code).toBe('EXCHANGE_FAILED');
    const client = await rejectionOf(fromDatabricks({ ...base, clientId: 'nope' })());
    expect(client.code).toBe('INVALID_CONFIG');
    expect(client.hint).toContain('service principal');
    expect(await rejectionOf(fromDatabricks(base)())).toMatchObject({ code: 'EXCHANGE_FAILED', retryable: true });
  });

  it('checks options before any I/O', () => {
    const webIdentityToken = staticJwt('x').provider;
    expect(() => fromDatabricks({ webIdentityToken })).toThrow(/host is required/);
    expect(() => fromDatabricks({ host: HOST })).toThrow(
      /aws.audience is required: use one of the Databricks federation policy/,
    );
    expect(() => fromDatabricks({ host: `${ORIGIN}/some/path`, webIdentityToken })).toThrow(/bare host/);
    expect(() => fromDatabricks({ host: 'accounts.cloud.databricks.com', webIdentityToken })).toThrow(
      /accountId is required/,
    );
    expect(() => fromDatabricks({ host: HOST, aws: { audience: 'x', signingAlgorithm: 'ES384' } })).toThrow(/RS256/);
    expect(() => fromDatabricks({ host: `http://${HOST}`, webIdentityToken })).toThrow(/https/);
  });
});
