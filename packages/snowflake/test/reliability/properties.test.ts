/**
 * Property tests (fast-check): the options keyless reads before any I/O, and the mapping of whatever
 * snowflake-sdk reports for a login (the login answer's code, message and data, HTTP failures, network
 * errors, and anything else). Any input yields a result or a KeylessError, never another exception;
 * the mapping never copies snowflake-sdk's `data` or `response` (they can hold the login request).
 */
import { decodeAwsWebIdentityClaims } from '@keyless/core';
import fc from 'fast-check';
import snowflake from 'snowflake-sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ASYNC_RUNS,
  expectKeylessError,
  fieldValue,
  jsonValue,
  RUNS,
  resultOrKeylessError,
  settlesWithResultOrKeylessError,
} from '../../../../test/reliability/support/properties.js';
import { type ScriptedServer, startScriptedServer } from '../../../../test/reliability/support/scripted-server.js';
import { makeAwsJwt } from '../../../../test/support/aws.js';
import { errorText } from '../../../../test/support/leaks.js';
import { CONFLICTING_OPTIONS, connectSnowflake } from '../../src/index.js';
import { createConnectionOptionsResolver } from '../../src/snowflake-connection-options.js';
import { mapSnowflakeError, type SnowflakeLoginContext } from '../../src/snowflake-errors.js';

const anything = fc.oneof(fieldValue, jsonValue, fc.constant(undefined), fc.func(fc.constant(undefined)));
const someString = (...samples: string[]) => fc.oneof(fc.constantFrom(...samples), fc.string(), anything);

describe('property: options are validated before any I/O, never crash', () => {
  it('createConnectionOptionsResolver(any options) → a resolver or INVALID_CONFIG', () => {
    vi.stubEnv('SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES', '');
    const options = fc.record(
      {
        account: someString('myorg-myacct', 'xy12345.us-east-2.aws', 'https://x.snowflakecomputing.com', ''),
        username: someString('KEYLESS_SVC'),
        provider: someString('OIDC', 'AWS', 'oidc', 'AZURE'),
        host: someString('myorg-myacct.snowflakecomputing.com', 'evil.example.com', 'snowflakecomputing.com.evil'),
        accessUrl: someString('https://myorg-myacct.snowflakecomputing.com', 'http://127.0.0.1:1', 'not a url'),
        region: someString('us-east-2', ''),
        authenticator: someString('WORKLOAD_IDENTITY', 'workload_identity', 'SNOWFLAKE'),
        aws: fc.oneof(
          fc.record(
            { audience: anything, durationSeconds: anything, signingAlgorithm: anything },
            { requiredKeys: [] },
          ),
          anything,
        ),
        webIdentityToken: fc.oneof(
          fc.constant(async () => ({})),
          anything,
        ),
        minTokenValiditySeconds: fc.oneof(fc.integer({ min: -10, max: 4_000 }), anything),
        snowflake: fc.oneof(fc.constant(snowflake), anything),
        logger: anything,
        workloadIdentityImpersonationPath: anything,
        conflicting: fc.constantFrom(...CONFLICTING_OPTIONS),
        conflictingValue: fc.oneof(fc.constant(undefined), fc.constant(null), fc.string()),
        warehouse: anything,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(options, anything), (value) => {
        let input = value as Record<string, unknown> | undefined;
        if (typeof input === 'object' && input !== null && 'conflicting' in input) {
          const { conflicting, conflictingValue, ...rest } = input;
          input = { ...rest, [conflicting as string]: conflictingValue };
        }
        resultOrKeylessError(
          () => createConnectionOptionsResolver(input as never),
          ['INVALID_CONFIG', 'REGION_REQUIRED'],
        );
      }),
      RUNS,
    );
  });
});

const SECRET = 'SECRET-IN-SNOWFLAKE-DATA-0123456789';
const secretBearing = fc.oneof(
  fc.constant(SECRET),
  fc.record(
    { token: fc.constant(SECRET), masterToken: fc.constant(SECRET), nextAction: fieldValue },
    { requiredKeys: [] },
  ),
  fc.array(fc.constant(SECRET), { maxLength: 2 }),
);
const errorNames = fc.oneof(
  fc.constantFrom(
    'OperationFailedError',
    'RequestFailedError',
    'NetworkError',
    'UnexpectedContentError',
    'InvalidParameterError',
    'MissingParameterError',
    'OCSPError',
    'CRLError',
    'CredentialsProviderError',
    'AccessDenied',
    'Error',
  ),
  fc.string(),
  anything,
);
const causes: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  cause: fc.oneof(
    { depthSize: 'small' },
    anything,
    fc.record(
      {
        code: fc.oneof(fc.constantFrom('ETIMEDOUT', 'ECONNRESET', 'ENOTFOUND', 'CERT_HAS_EXPIRED'), anything),
        cause: tie('cause'),
      },
      { requiredKeys: [] },
    ),
  ),
})).cause;
/** What snowflake-sdk (or the AWS SDK inside it) can report to the connect callback. */
const sdkError = fc.record(
  {
    name: errorNames,
    code: fc.oneof(fc.constantFrom('390144', '394301', '394302', '390139', '390189', '390201', 390100), anything),
    message: fc.oneof(
      fc.constantFrom(
        'JWT token is invalid.',
        'Incoming request with IP/Token 10.0.0.1 is not allowed to access Snowflake.',
        'User is locked.',
        'WORKLOAD_IDENTITY requires a recognized Snowflake host',
        'Workload identity is not configured for this user.',
        'Role KEYLESS_ROLE not granted',
        'Could not load credentials from any providers',
      ),
      fc.string(),
      anything,
    ),
    sqlState: anything,
    data: secretBearing,
    response: fc.record(
      {
        statusCode: fc.oneof(fc.constantFrom(401, 403, 404, 408, 429, 500, 503), anything),
        headers: fc.oneof(fc.record({ 'retry-after': fieldValue }), anything),
        body: secretBearing,
      },
      { requiredKeys: [] },
    ),
    cause: causes,
    Code: fc.oneof(fc.constantFrom('OutboundWebIdentityFederationDisabledException', 'AccessDenied'), anything),
    $metadata: fc.oneof(
      fc.record({ httpStatusCode: fc.oneof(fc.integer({ min: 100, max: 599 }), anything) }),
      anything,
    ),
  },
  // (Objects without a prototype: see the test below.)
  { requiredKeys: [], noNullPrototype: true },
);
const context = fc.record({
  provider: fc.constantFrom('OIDC', 'AWS'),
  account: fc.string(),
  host: fc.string(),
  username: fc.option(fc.string(), { nil: undefined }),
  role: fc.option(fc.string(), { nil: undefined }),
  presented: fc.option(
    fc.record(
      { iss: fc.string(), sub: fc.string(), aud: fc.oneof(fc.string(), fc.array(fc.string())), alg: fc.string() },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  ),
}) as fc.Arbitrary<SnowflakeLoginContext>;

describe('property: login outcomes are mapped, never crash, never leak', () => {
  it('mapSnowflakeError(anything snowflake-sdk reports) → a KeylessError without its data or response', () => {
    // As Error instances too (with a string message: see the test below for other messages).
    const asError = sdkError.map((e) =>
      Object.assign(new Error(), e, { message: typeof e.message === 'string' ? e.message : String(e.message) }),
    );
    fc.assert(
      fc.property(fc.oneof(sdkError, asError, anything), context, (error, c) => {
        const mapped = mapSnowflakeError(error, c);
        expectKeylessError(mapped);
        expect(['snowflake', 'aws']).toContain(mapped.provider);
        expect(errorText(mapped)).not.toContain(SECRET);
      }),
      RUNS,
    );
  });

  // A vendor error whose message is not a string must not break the KeylessError constructor (core's
  // sanitizeCause once called redactSecrets on it unchecked; found by this test, fixed).
  it('mapSnowflakeError(an Error whose message is null) → a KeylessError', () => {
    const error = Object.assign(new Error(), { message: null });
    expectKeylessError(mapSnowflakeError(error, { provider: 'OIDC', account: 'a', host: 'h' }));
  });

  // An object without a prototype has no toString: the fallback message must not throw (fixed).
  it('mapSnowflakeError(an object without a prototype) → a KeylessError', () => {
    expectKeylessError(mapSnowflakeError(Object.create(null), { provider: 'OIDC', account: 'a', host: 'h' }));
  });

  describe('connectSnowflake against any login answer', () => {
    let server: ScriptedServer;
    let webIdentityToken: () => Promise<{
      token: string;
      expiresAt: Date;
      claims: ReturnType<typeof decodeAwsWebIdentityClaims>;
    }>;
    beforeAll(async () => {
      snowflake.configure({
        logLevel: 'ERROR',
        customLogger: { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, trace: () => {} },
      });
      server = await startScriptedServer();
      const ok = { status: 200, body: { success: true, code: null, message: null, data: null } };
      server.always('/session', ok);
      server.always('/telemetry/send', ok);
      const jwt = await makeAwsJwt({ audience: 'snowflakecomputing.com', alg: 'ES384', lifetime: 3600 });
      const claims = decodeAwsWebIdentityClaims(jwt);
      webIdentityToken = async () => ({ token: jwt, expiresAt: new Date(claims.exp * 1000), claims });
    });
    afterAll(async () => {
      await server.close();
    });

    it('→ an open connection, or a KeylessError (snowflake-sdk included)', async () => {
      const loginBody = fc.record(
        {
          success: fc.oneof(fc.boolean(), anything),
          code: fc.oneof(fc.constantFrom('390144', '394301', null), anything),
          message: fc.oneof(fc.string(), anything),
          data: fc.oneof(
            fc.record(
              {
                token: fc.oneof(fc.constant('ver:1-hint:119831234-ETMsDgAAAZsession'), anything),
                masterToken: fc.oneof(fc.constant('ver:1-hint:119931234-ETMsDgAAAZmaster'), anything),
                validityInSeconds: fc.oneof(fc.integer(), anything),
                sessionId: fc.oneof(fc.integer(), anything),
                parameters: fc.oneof(fc.constant([]), anything),
                sessionInfo: fc.oneof(fc.constant({}), anything),
                nextAction: anything,
              },
              { requiredKeys: [] },
            ),
            anything,
          ),
        },
        { requiredKeys: [] },
      );
      const login = fc.record({
        status: fc.constantFrom(200, 200, 200, 400, 401, 403, 404, 500),
        body: fc.oneof(loginBody, jsonValue, fc.string()),
      });
      await fc.assert(
        fc.asyncProperty(login, async (reply) => {
          server.answer('/session/v1/login-request', reply);
          const connection = await settlesWithResultOrKeylessError(
            connectSnowflake({
              account: 'myorg-myacct',
              host: 'myorg-myacct.snowflakecomputing.com',
              accessUrl: server.origin,
              sfRetryMaxLoginRetries: 0,
              webIdentityToken,
              snowflake,
            }),
          );
          if (connection) {
            expect(connection.isUp()).toBe(true);
            await new Promise((resolve) => connection.destroy(resolve));
          }
        }),
        { ...ASYNC_RUNS, numRuns: 40 },
      );
      expect(server.unexpected.map((r) => r.path)).toEqual([]);
    });
  });
});
