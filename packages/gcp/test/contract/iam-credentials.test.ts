import { isKeylessError, type KeylessError } from '@keyless/core';
import { describe, expect, it } from 'vitest';
import { TEST_ROLE_ARN } from '../../../../test/support/aws.js';
import { createGoogleAuthClient, type GoogleAuthClientOptions } from '../../src/index.js';
import {
  type Answer,
  CLOUD_PLATFORM,
  googleAccessToken,
  iamError,
  iamSuccess,
  jwtProvider,
  mockIam,
  mockSts,
  PERMISSION_DENIED,
  PRINCIPAL,
  PROVIDER_NAME,
  SERVICE_ACCOUNT,
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
    serviceAccountEmail: SERVICE_ACCOUNT,
    webIdentityToken: jwt.provider,
    retry: false,
    ...options,
  });
  return { authClient, jwt };
}

describe('service account impersonation (IAM Credentials generateAccessToken)', () => {
  it('exchanges at STS for cloud-platform, then POSTs { scope, lifetime } with the federated token as Bearer', async () => {
    const federated = googleAccessToken('federated');
    const saToken = googleAccessToken('service-account');
    const sts = mockSts([stsSuccess(federated)]);
    const iam = mockIam([iamSuccess(saToken)]);
    const scopes = ['https://www.googleapis.com/auth/devstorage.read_only'];
    const { authClient } = await client({ scopes });

    const { token } = await authClient.getAccessToken();

    sts.scope.done();
    iam.scope.done();
    expect(token).toBe(saToken);
    expect(new URLSearchParams(sts.captured[0]!.body).get('scope')).toBe(CLOUD_PLATFORM);
    const [request] = iam.captured;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe(
      `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`,
    );
    expect(request!.headers.authorization).toBe(`Bearer ${federated}`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({ scope: scopes, lifetime: '3600s' });
  });

  it('asks for tokenLifetimeSeconds, and uses serviceAccountImpersonationUrl and the universe domain', async () => {
    const sts = mockSts([stsSuccess(googleAccessToken('federated'))], 'https://sts.example-universe.test');
    const iam = mockIam(
      [iamSuccess(googleAccessToken('service-account'), 7200)],
      'https://iamcredentials.example-universe.test',
    );
    const { authClient } = await client({ universeDomain: 'example-universe.test', tokenLifetimeSeconds: 7200 });
    await authClient.getAccessToken();
    sts.scope.done();
    iam.scope.done();
    expect(JSON.parse(iam.captured[0]!.body)).toEqual({ scope: [CLOUD_PLATFORM], lifetime: '7200s' });

    const viaUrl = mockIam([iamSuccess(googleAccessToken('service-account'))], 'https://iam.private.example.test');
    mockSts([stsSuccess(googleAccessToken('federated'))]);
    const { authClient: custom } = await client({
      serviceAccountEmail: undefined,
      serviceAccountImpersonationUrl: `https://iam.private.example.test/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`,
    });
    await custom.getAccessToken();
    viaUrl.scope.done();
    expect(custom.getServiceAccountEmail()).toBe(SERVICE_ACCOUNT);
  });
});

interface ErrorCase {
  name: string;
  answer: Answer;
  code: string;
  retryable: boolean;
  targetCode?: string;
  hint?: string[];
}

const IAM_ERRORS: ErrorCase[] = [
  {
    name: '403 PERMISSION_DENIED on iam.serviceAccounts.getAccessToken → ACCESS_DENIED naming the principal:// member',
    answer: PERMISSION_DENIED,
    code: 'ACCESS_DENIED',
    retryable: false,
    targetCode: 'PERMISSION_DENIED',
    hint: [
      'roles/iam.workloadIdentityUser',
      PRINCIPAL,
      `gcloud iam service-accounts add-iam-policy-binding ${SERVICE_ACCOUNT}`,
      'serviceAccountEmail',
    ],
  },
  {
    name: '403 SERVICE_DISABLED → INVALID_CONFIG: enable iamcredentials.googleapis.com',
    answer: iamError(
      403,
      'PERMISSION_DENIED',
      'IAM Service Account Credentials API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/iamcredentials.googleapis.com/overview?project=123456789012 then retry.',
      [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'SERVICE_DISABLED',
          domain: 'googleapis.com',
          metadata: { service: 'iamcredentials.googleapis.com', consumer: 'projects/123456789012' },
        },
      ],
    ),
    code: 'INVALID_CONFIG',
    retryable: false,
    targetCode: 'PERMISSION_DENIED',
    hint: ['gcloud services enable iamcredentials.googleapis.com'],
  },
  {
    name: '404 NOT_FOUND → INVALID_CONFIG naming serviceAccountEmail',
    answer: iamError(404, 'NOT_FOUND', `Not found; Gaia id not found for email ${SERVICE_ACCOUNT}`),
    code: 'INVALID_CONFIG',
    retryable: false,
    targetCode: 'NOT_FOUND',
    hint: ['serviceAccountEmail', `gcloud iam service-accounts describe ${SERVICE_ACCOUNT}`],
  },
  {
    name: '400 INVALID_ARGUMENT about the lifetime → INVALID_CONFIG naming tokenLifetimeSeconds',
    answer: iamError(
      400,
      'INVALID_ARGUMENT',
      'The lifetime of the requested token exceeds the maximum allowed lifetime of 3600s.',
    ),
    code: 'INVALID_CONFIG',
    retryable: false,
    targetCode: 'INVALID_ARGUMENT',
    hint: ['tokenLifetimeSeconds', 'constraints/iam.allowServiceAccountCredentialLifetimeExtension'],
  },
  {
    name: '400 INVALID_ARGUMENT about scopes → INVALID_CONFIG naming scopes',
    answer: iamError(400, 'INVALID_ARGUMENT', 'Scope must be a valid OAuth scope.'),
    code: 'INVALID_CONFIG',
    retryable: false,
    targetCode: 'INVALID_ARGUMENT',
    hint: ['scopes'],
  },
  {
    name: '401 UNAUTHENTICATED → EXCHANGE_FAILED',
    answer: iamError(
      401,
      'UNAUTHENTICATED',
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
    ),
    code: 'EXCHANGE_FAILED',
    retryable: false,
    targetCode: 'UNAUTHENTICATED',
  },
  {
    name: '429 RESOURCE_EXHAUSTED → THROTTLED, retryable',
    answer: iamError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for quota metric.'),
    code: 'THROTTLED',
    retryable: true,
    targetCode: 'RESOURCE_EXHAUSTED',
  },
  {
    name: '503 UNAVAILABLE → EXCHANGE_FAILED, retryable',
    answer: iamError(503, 'UNAVAILABLE', 'The service is currently unavailable.'),
    code: 'EXCHANGE_FAILED',
    retryable: true,
    targetCode: 'UNAVAILABLE',
  },
  {
    name: '404 that is not a Google API error (a wrong URL) → EXCHANGE_FAILED naming serviceAccountImpersonationUrl',
    answer: [404, '<html><body>Not Found</body></html>'],
    code: 'EXCHANGE_FAILED',
    retryable: false,
    hint: ['Check serviceAccountImpersonationUrl'],
  },
  {
    name: '200 without accessToken → INVALID_RESPONSE',
    answer: [200, { expireTime: '2026-01-01T00:00:00Z' }],
    code: 'INVALID_RESPONSE',
    retryable: true,
  },
];

describe('IAM Credentials errors', () => {
  it.each(IAM_ERRORS)('$name', async ({ answer, code, retryable, targetCode, hint }) => {
    const sts = mockSts([stsSuccess(googleAccessToken('federated'))]);
    const iam = mockIam([answer]);
    const { authClient } = await client();
    const error = await failure(authClient.getAccessToken());
    sts.scope.done();
    iam.scope.done();
    expect(error.code).toBe(code);
    expect(error.provider).toBe('gcp');
    expect(error.retryable).toBe(retryable);
    expect(error.details.status).toBe(answer[0]);
    if (targetCode) expect(error.details.targetCode).toBe(targetCode);
    if (answer[0] !== 200) expect(error.details.presented?.sub).toBe(TEST_ROLE_ARN);
    for (const part of hint ?? []) expect(error.hint).toContain(part);
  });

  it('keeps the federated token when impersonation fails, so the retry after a fix calls IAM only', async () => {
    const saToken = googleAccessToken('service-account');
    const sts = mockSts([stsSuccess(googleAccessToken('federated'))]);
    const iam = mockIam([PERMISSION_DENIED, iamSuccess(saToken)]);
    const { authClient } = await client();
    expect((await failure(authClient.getAccessToken())).code).toBe('ACCESS_DENIED');
    expect((await authClient.getAccessToken()).token).toBe(saToken);
    sts.scope.done();
    iam.scope.done();
    expect(sts.captured).toHaveLength(1);
    expect(iam.captured).toHaveLength(2);
  });
});
