/**
 * Property tests (fast-check): createGoogleAuthClient's options, and every Google answer keyless reads
 * (Google STS and IAM Credentials errors and successes). Any input yields a result or a KeylessError,
 * never another exception or a hang.
 */
import { decodeAwsWebIdentityClaims } from '@keyless/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ASYNC_RUNS,
  answer,
  answerFetchWith,
  expectKeylessError,
  expectUsableToken,
  fieldsOf,
  fieldValue,
  jsonValue,
  RUNS,
  resultOrKeylessError,
  seconds,
  settlesWithResultOrKeylessError,
  toHttpResponse,
  tokenValue,
} from '../../../../test/reliability/support/properties.js';
import { makeAwsJwt } from '../../../../test/support/aws.js';
import { type ExchangeContext, mapIamCredentialsError, mapStsError } from '../../src/google-errors.js';
import { exchangeForFederatedToken } from '../../src/google-sts.js';
import { resolveGoogleTarget } from '../../src/google-target.js';
import { generateServiceAccountToken } from '../../src/iam-credentials.js';
import { createGoogleAuthClient } from '../../src/index.js';

const PROVIDER_NAME =
  '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-oidc';
const SERVICE_ACCOUNT = 'reader@my-project.iam.gserviceaccount.com';

beforeEach(() => {
  vi.stubEnv('AWS_REGION', '');
  vi.stubEnv('AWS_DEFAULT_REGION', '');
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const anything = fc.oneof(fieldValue, jsonValue, fc.constant(undefined), fc.func(fc.constant(undefined)));
const someString = (...samples: string[]) => fc.oneof(fc.constantFrom(...samples), fc.string(), anything);

describe('property: options are validated, never crash', () => {
  it('createGoogleAuthClient(any options) → a client or INVALID_CONFIG, without I/O', () => {
    const options = fc.record(
      {
        audience: someString(
          PROVIDER_NAME,
          `https:${PROVIDER_NAME}`,
          'projects/1/locations/global/workloadIdentityPools/p/providers/q',
          '//iam.googleapis.com/x',
        ),
        projectNumber: someString('123456789012', 'my-project', '0'),
        poolId: someString('aws-pool', 'AB', 'a'.repeat(40)),
        providerId: someString('aws-oidc', 'gcp-', ''),
        location: someString('global', 'europe-west1'),
        serviceAccountEmail: someString(SERVICE_ACCOUNT, 'not-an-email', 'a@b'),
        serviceAccountImpersonationUrl: someString(
          `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`,
          'https://example.com/x',
        ),
        tokenUrl: someString('https://sts.googleapis.com/v1/token', 'http://127.0.0.1:1/v1/token', 'sts'),
        universeDomain: someString('googleapis.com', 'example.com', 'UPPER.case'),
        tokenLifetimeSeconds: fc.oneof(fc.integer({ min: 0, max: 50_000 }), anything),
        scopes: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), anything),
        projectId: anything,
        quotaProjectId: anything,
        aws: fc.oneof(fieldsOf(['audience', 'signingAlgorithm', 'durationSeconds', 'region', 'endpoint']), anything),
        webIdentityToken: anything,
        requestTimeoutMs: fc.oneof(fc.integer({ min: -1, max: 700_000 }), anything),
        retry: fc.oneof(fc.constant(false), anything),
        logger: anything,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(options, anything), (value) => {
        resultOrKeylessError(() => createGoogleAuthClient(value as never), ['INVALID_CONFIG', 'REGION_REQUIRED']);
      }),
      RUNS,
    );
  });
});

const target = resolveGoogleTarget({ audience: PROVIDER_NAME, serviceAccountEmail: SERVICE_ACCOUNT });
const presented = fc.record(
  {
    iss: fc.string(),
    sub: fc.string(),
    aud: fc.oneof(fc.string(), fc.array(fc.string())),
    alg: fc.string(),
    exp: fc.integer(),
  },
  { requiredKeys: [] },
);
const context = fc.record({ presented, tokenSource: fc.constantFrom('aws', 'webIdentityToken') }).map(
  ({ presented: p, tokenSource }): ExchangeContext => ({
    provider: target.provider,
    presented: p,
    awsClaims: { aws_account: '123456789012', source_region: 'us-east-1' },
    tokenSource: tokenSource as 'aws',
    defaultAwsAudience: `https:${PROVIDER_NAME}`,
    tokenUrl: target.tokenUrl,
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    impersonation: target.impersonation,
  }),
);
const stsBody = fieldsOf([
  'error',
  'error_description',
  'access_token',
  'expires_in',
  'token_type',
  'issued_token_type',
]);
const stsSuccess = fc.record(
  {
    access_token: tokenValue,
    expires_in: seconds,
    token_type: fc.constantFrom('Bearer', undefined),
    issued_token_type: fc.constantFrom('urn:ietf:params:oauth:token-type:access_token', undefined),
  },
  { requiredKeys: ['access_token'] },
);
const iamSuccess = fc.record(
  {
    accessToken: tokenValue,
    expireTime: fc.oneof(
      fc.integer({ min: -7_200, max: 50_000 }).map((s) => new Date(Date.now() + s * 1000).toISOString()),
      fc.constantFrom('2026-13-01T00:00:00Z', 'tomorrow', '', null, 1_800_000_000),
    ),
  },
  { requiredKeys: ['accessToken'] },
);
const googleApiError = fc.record(
  {
    error: fc.oneof(
      fc.record(
        {
          code: fc.oneof(fc.integer(), anything),
          message: fc.oneof(
            fc.constantFrom('lifetime', 'scope', 'has not been used', 'is disabled'),
            fc.string(),
            anything,
          ),
          status: fc.oneof(fc.constantFrom('PERMISSION_DENIED', 'NOT_FOUND', 'INVALID_ARGUMENT'), anything),
          details: fc.oneof(
            fc.array(fc.oneof(fc.record({ reason: fieldValue }), anything), { maxLength: 3 }),
            anything,
          ),
        },
        { requiredKeys: [] },
      ),
      anything,
    ),
    accessToken: fieldValue,
    expireTime: fc.oneof(
      fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
      fieldValue,
    ),
  },
  { requiredKeys: [] },
);

describe('property: Google answers are parsed, never crash', () => {
  it('mapStsError and mapIamCredentialsError(any answer) → a KeylessError of provider gcp', () => {
    fc.assert(
      fc.property(answer(fc.oneof(stsBody, googleApiError), fc.oneof(stsSuccess, iamSuccess)), context, (a, c) => {
        for (const error of [mapStsError(toHttpResponse(a), c), mapIamCredentialsError(toHttpResponse(a), c)]) {
          expectKeylessError(error);
          expect(error.provider).toBe('gcp');
          expect(error.details.status).toBe(a.status);
          if (a.status === 429 || a.status >= 500) expect(error.retryable).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('the STS exchange with any answer → a token string, or a KeylessError', async () => {
    await fc.assert(
      fc.asyncProperty(answer(fc.oneof(stsBody, googleApiError), stsSuccess), context, async (a, c) => {
        answerFetchWith(a);
        const federated = await settlesWithResultOrKeylessError(
          exchangeForFederatedToken({
            tokenUrl: target.tokenUrl,
            audience: PROVIDER_NAME,
            scopes: ['https://www.googleapis.com/auth/cloud-platform'],
            subjectToken: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
            timeoutMs: 1_000,
            context: c,
          }),
        );
        // (An absurd expires_in can make expiresAt an invalid Date here; core's cache refuses it: the
        // getAccessToken property below checks what a caller gets.)
        if (federated) expect(federated.accessToken.length).toBeGreaterThan(0);
      }),
      ASYNC_RUNS,
    );
  });

  it('generateAccessToken with any answer → a token with a real expiry, or a KeylessError', async () => {
    await fc.assert(
      fc.asyncProperty(answer(fc.oneof(stsBody, googleApiError), iamSuccess), context, async (a, c) => {
        answerFetchWith(a);
        const impersonated = await settlesWithResultOrKeylessError(
          generateServiceAccountToken({
            impersonation: target.impersonation!,
            federatedToken: 'ya29.d.federated',
            scopes: ['https://www.googleapis.com/auth/cloud-platform'],
            timeoutMs: 1_000,
            context: c,
          }),
        );
        if (impersonated) expectUsableToken(impersonated.accessToken, impersonated.expiresAt);
      }),
      ASYNC_RUNS,
    );
  });

  it('getAccessToken with any answer → a usable token, or a KeylessError', async () => {
    const jwt = await makeAwsJwt({ audience: `https:${PROVIDER_NAME}`, lifetime: 3600 });
    const claims = decodeAwsWebIdentityClaims(jwt);
    const webIdentityToken = async () => ({ token: jwt, expiresAt: new Date(claims.exp * 1000), claims });
    await fc.assert(
      fc.asyncProperty(answer(stsBody, stsSuccess), async (a) => {
        answerFetchWith(a);
        const client = createGoogleAuthClient({ audience: PROVIDER_NAME, webIdentityToken, retry: false });
        const result = await settlesWithResultOrKeylessError(client.getAccessToken());
        if (result) expect(result.token?.length).toBeGreaterThan(0);
      }),
      ASYNC_RUNS,
    );
  });
});
