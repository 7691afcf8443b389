/**
 * Property tests (fast-check): every option of AwsFederatedCredential and getToken, Entra's error
 * mapping and the token response parser. Any input yields a result or a KeylessError, never another
 * exception or a hang.
 */
import { decodeAwsWebIdentityClaims, type KeylessError, KeylessError as KeylessErrorClass } from '@keyless/core';
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
import { mapEntraError } from '../../src/entra-error.js';
import { AwsFederatedCredential } from '../../src/index.js';
import { requestEntraToken } from '../../src/request-entra-token.js';

const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = '00001111-aaaa-2222-bbbb-3333cccc4444';

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
  vi.unstubAllGlobals();
});

/** A JWT provider that fails at once, so a getToken that passes validation ends without I/O. */
const refusingProvider = async () => {
  throw new KeylessErrorClass({ code: 'EXCHANGE_FAILED', provider: 'aws', message: 'no STS in this test' });
};

const anything = fc.oneof(fieldValue, jsonValue, fc.constant(undefined), fc.func(fc.constant(undefined)));
const tenant = fc.oneof(fc.constantFrom(TENANT_ID, 'contoso.onmicrosoft.com', '', '*', 'a/b'), fc.string(), anything);
const url = fc.oneof(
  fc.constantFrom(
    'https://login.microsoftonline.com',
    'https://login.microsoftonline.us/',
    'http://127.0.0.1:8080',
    'http://login.example.com',
    'https://user:pass@login.example.com',
    'https://login.example.com/?x=1',
    'ftp://x',
  ),
  fc.webUrl(),
  fc.string(),
  anything,
);

describe('property: options are validated, never crash', () => {
  it('new AwsFederatedCredential(any options) → a credential or INVALID_CONFIG', () => {
    const options = fc.record(
      {
        tenantId: tenant,
        clientId: fc.oneof(fc.constant(CLIENT_ID), fc.string(), anything),
        authorityHost: url,
        additionallyAllowedTenants: fc.oneof(fc.array(tenant, { maxLength: 3 }), anything),
        aws: fc.oneof(
          fieldsOf([
            'audience',
            'signingAlgorithm',
            'durationSeconds',
            'region',
            'endpoint',
            'client',
            'tags',
            'retry',
          ]),
          anything,
        ),
        webIdentityToken: fc.oneof(fc.constant(refusingProvider), anything),
        refreshBeforeExpirySeconds: fc.oneof(fc.integer({ min: -10, max: 5_000 }), anything),
        requestTimeoutMs: fc.oneof(fc.integer({ min: -10, max: 700_000 }), anything),
        retry: fc.oneof(fc.constant(false), fieldsOf(['maxAttempts', 'baseDelayMs']), anything),
        logger: fc.oneof(fc.constant(console), anything),
        disableInstanceDiscovery: fc.oneof(fc.boolean(), anything),
        httpClient: anything,
        somethingElse: anything,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(options, anything), (value) => {
        resultOrKeylessError(() => new AwsFederatedCredential(value as never), ['INVALID_CONFIG', 'REGION_REQUIRED']);
      }),
      RUNS,
    );
  });

  it('getToken(any scopes, any options) → INVALID_CONFIG before any I/O, or the provider’s own error', async () => {
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      webIdentityToken: refusingProvider,
      additionallyAllowedTenants: ['8eaef023-2b34-4da1-9baa-8bc8c9d6a490'],
      retry: false,
    });
    const scopes = fc.oneof(
      fc.constantFrom('https://storage.azure.com/.default', '', ' ', ['a', 'b'], []),
      fc.array(fc.oneof(fc.string(), anything), { maxLength: 3 }),
      fc.string(),
      anything,
    );
    const options = fc.oneof(
      fc.record(
        {
          tenantId: tenant,
          claims: fc.oneof(fc.json(), fc.string(), anything),
          enableCae: fc.oneof(fc.boolean(), anything),
          proofOfPossessionOptions: anything,
          abortSignal: fc.constantFrom(undefined, new AbortController().signal),
        },
        { requiredKeys: [] },
      ),
      fc.constant(undefined),
    );
    await fc.assert(
      fc.asyncProperty(scopes, options, async (s, o) => {
        try {
          await credential.getToken(s as never, o as never);
          expect.unreachable('the provider refuses every JWT');
        } catch (error) {
          expectKeylessError(error, ['INVALID_CONFIG', 'EXCHANGE_FAILED']);
          if ((error as KeylessError).code === 'EXCHANGE_FAILED') expect((error as KeylessError).provider).toBe('aws');
        }
      }),
      ASYNC_RUNS,
    );
  });
});

const entraBody = fieldsOf([
  'error',
  'error_description',
  'error_codes',
  'correlation_id',
  'trace_id',
  'timestamp',
  'access_token',
  'token_type',
  'expires_in',
  'refresh_in',
]);
const entraSuccess = fc.record(
  {
    token_type: fc.constantFrom('Bearer', 'bearer', 'pop', 'ssh-cert', undefined),
    expires_in: seconds,
    ext_expires_in: seconds,
    refresh_in: seconds,
    access_token: tokenValue,
  },
  { requiredKeys: ['access_token', 'expires_in'] },
);

describe('property: Entra answers are parsed, never crash', () => {
  it('mapEntraError(any answer, any presented claims) → a KeylessError of provider azure', () => {
    const presented = fc.record(
      {
        iss: fc.string(),
        sub: fc.string(),
        aud: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 2 })),
        alg: fc.string(),
        exp: fc.integer(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        answer(entraBody, entraSuccess),
        presented,
        fc.constantFrom('aws', 'webIdentityToken'),
        (a, p, source) => {
          const error = mapEntraError(toHttpResponse(a), {
            tenantId: TENANT_ID,
            clientId: CLIENT_ID,
            authorityHost: 'https://login.microsoftonline.com',
            scope: 'https://storage.azure.com/.default',
            presented: p,
            tokenSource: source as 'aws',
            clientRequestId: 'c0ffee00-0000-4000-8000-000000000000',
          });
          expectKeylessError(error);
          expect(error.provider).toBe('azure');
          expect(error.details.status).toBe(a.status);
          if (a.status === 429 || a.status >= 500) expect(error.retryable).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('requestEntraToken with any answer → a token string, or a KeylessError', async () => {
    await fc.assert(
      fc.asyncProperty(answer(entraBody, entraSuccess), async (a) => {
        answerFetchWith(a);
        const token = await settlesWithResultOrKeylessError(
          requestEntraToken({
            tokenEndpoint: new URL(`https://login.microsoftonline.com/${TENANT_ID}/oauth2/v2.0/token`),
            authorityHost: 'https://login.microsoftonline.com',
            tenantId: TENANT_ID,
            clientId: CLIENT_ID,
            scope: 'https://storage.azure.com/.default',
            claims: undefined,
            assertion: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
            tokenSource: 'aws',
            timeoutMs: 1_000,
          }),
        );
        if (token) {
          expect(a.status).toBeGreaterThanOrEqual(200);
          expect(a.status).toBeLessThan(300);
          expect(typeof token.token).toBe('string');
          expect(token.expiresAt).toBeInstanceOf(Date);
        }
      }),
      ASYNC_RUNS,
    );
  });

  it('getToken with any answer → a usable token expiring at a real time in the future, or a KeylessError', async () => {
    const jwt = await makeAwsJwt({ lifetime: 3600 });
    const claims = decodeAwsWebIdentityClaims(jwt);
    const webIdentityToken = async () => ({ token: jwt, expiresAt: new Date(claims.exp * 1000), claims });
    await fc.assert(
      fc.asyncProperty(answer(entraBody, entraSuccess), async (a) => {
        answerFetchWith(a);
        const credential = new AwsFederatedCredential({
          tenantId: TENANT_ID,
          clientId: CLIENT_ID,
          webIdentityToken,
          retry: false,
        });
        const token = await settlesWithResultOrKeylessError(credential.getToken('https://storage.azure.com/.default'));
        if (token) {
          expectUsableToken(token.token, new Date(token.expiresOnTimestamp));
          // Never a token with less than core's 10 s minimum left.
          expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 10_000);
        }
      }),
      ASYNC_RUNS,
    );
  });
});

describe('getToken abortSignal that is not an AbortSignal', () => {
  // getToken checks abortSignal like its other options (found by this test, fixed): anything that is not
  // an AbortSignal is INVALID_CONFIG naming it, not a TypeError from deep inside.
  it('abortSignal: {} → INVALID_CONFIG naming abortSignal', async () => {
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      webIdentityToken: refusingProvider,
    });
    const error = await credential
      .getToken('https://storage.azure.com/.default', { abortSignal: {} as never })
      .catch((e: unknown) => e);
    expectKeylessError(error, ['INVALID_CONFIG']);
    expect((error as KeylessError).message).toContain('abortSignal');
  });
});
