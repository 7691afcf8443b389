import { isKeylessError, type KeylessError } from '@keyless/core';
import { describe, expect, it } from 'vitest';
import { TEST_ISSUER, TEST_ROLE_ARN } from '../../../../test/support/aws.js';
import { faults, withLoopbackServer } from '../../../../test/support/loopback.js';
import { createGoogleAuthClient, type GoogleAuthClientOptions } from '../../src/index.js';
import {
  type Answer,
  AWS_AUDIENCE,
  CLOUD_PLATFORM,
  googleAccessToken,
  jwtProvider,
  mockSts,
  PROVIDER_NAME,
  stsError,
  stsSuccess,
} from '../google.js';

async function failure(promise: Promise<unknown>): Promise<KeylessError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isKeylessError(error)) throw new Error(`expected a KeylessError, got ${String(error)}`);
  return error;
}

async function client(options: Partial<GoogleAuthClientOptions> = {}) {
  const jwt = await jwtProvider();
  const authClient = createGoogleAuthClient({
    audience: PROVIDER_NAME,
    webIdentityToken: jwt.provider,
    retry: false,
    ...options,
  });
  return { authClient, jwt };
}

describe('Google STS token exchange', () => {
  it('POSTs the exact RFC 8693 form to https://sts.googleapis.com/v1/token, without Authorization', async () => {
    const federated = googleAccessToken('federated');
    const { scope, captured } = mockSts([stsSuccess(federated)]);
    const { authClient, jwt } = await client();

    const { token } = await authClient.getAccessToken();

    scope.done();
    expect(token).toBe(federated);
    expect(captured).toHaveLength(1);
    const [request] = captured;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('https://sts.googleapis.com/v1/token');
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(request!.body))).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: PROVIDER_NAME,
      scope: CLOUD_PLATFORM,
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: jwt.token,
    });
  });

  it('sends the caller’s scopes, space-separated, when there is no impersonation', async () => {
    const { scope, captured } = mockSts([stsSuccess(googleAccessToken('federated'))]);
    const { authClient } = await client({
      scopes: [CLOUD_PLATFORM, 'https://www.googleapis.com/auth/devstorage.read_only'],
    });
    await authClient.getAccessToken();
    scope.done();
    expect(new URLSearchParams(captured[0]!.body).get('scope')).toBe(
      `${CLOUD_PLATFORM} https://www.googleapis.com/auth/devstorage.read_only`,
    );
  });

  it('builds the audience from projectNumber, poolId and providerId', async () => {
    const { scope, captured } = mockSts([stsSuccess(googleAccessToken('federated'))]);
    const { authClient } = await client({
      audience: undefined,
      projectNumber: '123456789012',
      poolId: 'aws-pool',
      providerId: 'aws-oidc',
    });
    await authClient.getAccessToken();
    scope.done();
    expect(new URLSearchParams(captured[0]!.body).get('audience')).toBe(PROVIDER_NAME);
  });

  it('uses https://sts.{universeDomain}/v1/token in another universe, and tokenUrl when given', async () => {
    const universe = mockSts([stsSuccess(googleAccessToken('federated'))], 'https://sts.example-universe.test');
    const { authClient } = await client({ universeDomain: 'example-universe.test' });
    await authClient.getAccessToken();
    universe.scope.done();
    expect(authClient.universeDomain).toBe('example-universe.test');

    const custom = mockSts([stsSuccess(googleAccessToken('federated'))], 'https://sts.private.example.test');
    const { authClient: viaUrl } = await client({ tokenUrl: 'https://sts.private.example.test/v1/token' });
    await viaUrl.getAccessToken();
    custom.scope.done();
  });

  it('returns the token through getRequestHeaders() as a Bearer authorization header', async () => {
    const federated = googleAccessToken('federated');
    const { scope } = mockSts([stsSuccess(federated)]);
    const { authClient } = await client({ quotaProjectId: 'billing-project' });
    const headers = await authClient.getRequestHeaders();
    scope.done();
    expect(headers.get('authorization')).toBe(`Bearer ${federated}`);
    expect(headers.get('x-goog-user-project')).toBe('billing-project');
  });
});

const presentedExpectation = {
  iss: TEST_ISSUER,
  sub: TEST_ROLE_ARN,
  aud: AWS_AUDIENCE,
  alg: 'RS256',
};

interface ErrorCase {
  name: string;
  answer: Answer;
  code: string;
  retryable: boolean;
  targetCode?: string;
  hint?: (string | RegExp)[];
}

// Descriptions as Google STS writes them (PROTOCOLS §4.2 and public reports of real answers).
const STS_ERRORS: ErrorCase[] = [
  {
    name: 'invalid_grant, audience not allowed → TOKEN_REJECTED naming the aud and the allowed-audiences fix',
    answer: stsError(
      400,
      'invalid_grant',
      `The audience in ID Token [${AWS_AUDIENCE}] does not match the expected audience.`,
    ),
    code: 'TOKEN_REJECTED',
    retryable: false,
    targetCode: 'invalid_grant',
    hint: [`"${AWS_AUDIENCE}"`, `"${PROVIDER_NAME}"`, '--allowed-audiences=', `sub="${TEST_ROLE_ARN}"`],
  },
  {
    name: 'invalid_grant, issuer unreachable or wrong → TOKEN_REJECTED naming the issuer URI',
    answer: stsError(400, 'invalid_grant', "Error connecting to the given credential's issuer."),
    code: 'TOKEN_REJECTED',
    retryable: false,
    targetCode: 'invalid_grant',
    hint: [`--issuer-uri=${TEST_ISSUER}`, 'get-outbound-web-identity-federation-info', `iss="${TEST_ISSUER}"`],
  },
  {
    name: 'invalid_grant, expired token → TOKEN_REJECTED about the clock',
    answer: stsError(400, 'invalid_grant', 'ID Token issued at 1790552633 is stale to sign-in.'),
    code: 'TOKEN_REJECTED',
    retryable: false,
    targetCode: 'invalid_grant',
    hint: ['clock', 'exp='],
  },
  {
    name: 'invalid_grant, bad signature → TOKEN_REJECTED about RS256 and the JWKS',
    answer: stsError(400, 'invalid_grant', 'Invalid ID Token: the signature could not be verified.'),
    code: 'TOKEN_REJECTED',
    retryable: false,
    targetCode: 'invalid_grant',
    hint: ['RS256', 'jwks_uri', 'alg=RS256'],
  },
  {
    name: 'invalid_grant, anything else → TOKEN_REJECTED listing every field to compare',
    answer: stsError(400, 'invalid_grant', 'The token is not valid.'),
    code: 'TOKEN_REJECTED',
    retryable: false,
    targetCode: 'invalid_grant',
    hint: ['issuer URI', 'allowed audiences', 'providers describe aws-oidc', `aud="${AWS_AUDIENCE}"`],
  },
  {
    name: 'unauthorized_client, attribute condition → TOKEN_REJECTED quoting sub and the nested AWS claims',
    answer: stsError(400, 'unauthorized_client', 'The given credential is rejected by the attribute condition.'),
    code: 'TOKEN_REJECTED',
    retryable: false,
    targetCode: 'unauthorized_client',
    hint: [
      'attributeCondition',
      `assertion.sub = "${TEST_ROLE_ARN}"`,
      `assertion['https://sts.amazonaws.com/'].aws_account = "123456789012"`,
      `expected provider ${PROVIDER_NAME}`,
    ],
  },
  {
    name: 'invalid_target, pool or provider missing/disabled → INVALID_CONFIG naming the provider options',
    answer: stsError(
      400,
      'invalid_target',
      'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
    ),
    code: 'INVALID_CONFIG',
    retryable: false,
    targetCode: 'invalid_target',
    hint: ['audience (or projectNumber, poolId, providerId, location)', 'state: ACTIVE'],
  },
  {
    name: 'invalid_request about the audience → INVALID_CONFIG naming the provider options',
    answer: stsError(
      400,
      'invalid_request',
      'Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.',
    ),
    code: 'INVALID_CONFIG',
    retryable: false,
    targetCode: 'invalid_request',
    hint: ['audience (or projectNumber, poolId, providerId, location)', 'project number'],
  },
  {
    name: 'invalid_request, google.subject over 127 bytes → TOKEN_REJECTED about the attribute mapping',
    answer: stsError(
      400,
      'invalid_request',
      'The size of mapped attribute google.subject exceeds the 127 bytes limit. Either modify your attribute mapping or the incoming assertion to produce a mapped attribute that is less than 127 bytes.',
    ),
    code: 'TOKEN_REJECTED',
    retryable: false,
    targetCode: 'invalid_request',
    hint: ['127 bytes', `sub is ${TEST_ROLE_ARN.length} bytes`, 'attribute mapping'],
  },
  {
    name: 'invalid_scope → INVALID_CONFIG naming scopes',
    answer: stsError(400, 'invalid_scope', 'The requested scope is invalid.'),
    code: 'INVALID_CONFIG',
    retryable: false,
    targetCode: 'invalid_scope',
    hint: ['scopes'],
  },
  {
    name: 'an unknown OAuth error → EXCHANGE_FAILED quoting it',
    answer: stsError(400, 'invalid_request', 'Something else.'),
    code: 'EXCHANGE_FAILED',
    retryable: false,
    targetCode: 'invalid_request',
  },
  {
    name: '429 → THROTTLED, retryable, honouring Retry-After',
    answer: [429, { error: 'rate_limit_exceeded', error_description: 'Quota exceeded.' }, { 'retry-after': '2' }],
    code: 'THROTTLED',
    retryable: true,
  },
  {
    name: '500 → EXCHANGE_FAILED, retryable',
    answer: [500, { error: 'server_error', error_description: 'Internal error.' }],
    code: 'EXCHANGE_FAILED',
    retryable: true,
  },
  {
    name: '503 with an HTML page → EXCHANGE_FAILED, retryable',
    answer: [503, '<html><body>Service Unavailable</body></html>'],
    code: 'EXCHANGE_FAILED',
    retryable: true,
  },
  {
    name: '404 that is not an OAuth error (a wrong URL) → EXCHANGE_FAILED naming tokenUrl',
    answer: [404, '<html><body>Not Found</body></html>'],
    code: 'EXCHANGE_FAILED',
    retryable: false,
    hint: ['Check tokenUrl (https://sts.googleapis.com/v1/token)'],
  },
  {
    name: '200 that is not JSON → INVALID_RESPONSE',
    answer: [200, '<html>captive portal</html>'],
    code: 'INVALID_RESPONSE',
    retryable: false,
  },
  {
    name: '200 without access_token → INVALID_RESPONSE',
    answer: [200, { token_type: 'Bearer', expires_in: 3599 }],
    code: 'INVALID_RESPONSE',
    retryable: true,
  },
];

describe('Google STS errors', () => {
  it.each(STS_ERRORS)('$name', async ({ answer, code, retryable, targetCode, hint }) => {
    const { scope } = mockSts([answer]);
    const { authClient } = await client();
    const error = await failure(authClient.getAccessToken());
    scope.done();
    expect(error.code).toBe(code);
    expect(error.provider).toBe('gcp');
    expect(error.retryable).toBe(retryable);
    expect(error.details.status).toBe(answer[0]);
    if (targetCode) expect(error.details.targetCode).toBe(targetCode);
    if (answer[0] !== 200) expect(error.details.presented).toEqual(presentedExpectation);
    for (const part of hint ?? []) expect(error.hint).toContain(part);
    if (code === 'THROTTLED') expect(error.retryAfterMs).toBe(2000);
  });

  it('reports the same error through getRequestHeaders() and request()', async () => {
    const answer = stsError(400, 'unauthorized_client', 'The given credential is rejected by the attribute condition.');
    const { scope } = mockSts([answer, answer]);
    const { authClient } = await client();
    expect((await failure(authClient.getRequestHeaders())).code).toBe('TOKEN_REJECTED');
    expect((await failure(authClient.request({ url: 'https://storage.googleapis.com/storage/v1/b' }))).code).toBe(
      'TOKEN_REJECTED',
    );
    scope.done();
  });

  it('names the webIdentityToken provider, not aws.audience, when the caller supplied the JWT', async () => {
    const { scope } = mockSts([
      stsError(
        400,
        'invalid_grant',
        `The audience in ID Token [${AWS_AUDIENCE}] does not match the expected audience.`,
      ),
    ]);
    const { authClient } = await client();
    const error = await failure(authClient.getAccessToken());
    scope.done();
    expect(error.hint).toContain('webIdentityToken provider');
  });

  it('retries a 503 with back-off and then succeeds', async () => {
    const federated = googleAccessToken('federated');
    const { scope, captured } = mockSts([[503, { error: 'server_error' }], stsSuccess(federated)]);
    const { authClient } = await client({ retry: { baseDelayMs: 1, maxDelayMs: 1 } });
    expect((await authClient.getAccessToken()).token).toBe(federated);
    scope.done();
    expect(captured).toHaveLength(2);
  });

  it('does not retry a rejected token', async () => {
    const answer = stsError(400, 'invalid_grant', 'The token is not valid.');
    const { scope, captured } = mockSts([answer]);
    const { authClient } = await client({ retry: { baseDelayMs: 1, maxDelayMs: 1 } });
    expect((await failure(authClient.getAccessToken())).code).toBe('TOKEN_REJECTED');
    scope.done();
    expect(captured).toHaveLength(1);
  });

  it('reports a reset connection as NETWORK and silence as TIMEOUT', async () => {
    await withLoopbackServer(faults.reset, async (origin) => {
      const { authClient } = await client({ tokenUrl: `${origin}/v1/token` });
      const error = await failure(authClient.getAccessToken());
      expect(error.code).toBe('NETWORK');
      expect(error.retryable).toBe(true);
    });
    await withLoopbackServer(faults.silent, async (origin) => {
      const { authClient } = await client({ tokenUrl: `${origin}/v1/token`, requestTimeoutMs: 100 });
      const error = await failure(authClient.getAccessToken());
      expect(error.code).toBe('TIMEOUT');
      expect(error.retryable).toBe(true);
    });
  });
});
