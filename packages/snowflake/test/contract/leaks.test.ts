import nock from 'nock';
import snowflake from 'snowflake-sdk';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stsSuccessXml, TEST_CREDENTIALS } from '../../../../test/support/aws.js';
import { errorText, expectNoSecrets, recordingLogger } from '../../../../test/support/leaks.js';
import { connectSnowflake, createSnowflakePool } from '../../src/index.js';
import {
  type FakeSnowflake,
  type FakeSnowflakeOptions,
  loginFailure,
  startFakeSnowflake,
  TEST_ACCOUNT,
  TEST_HOST,
} from '../support/fake-snowflake.js';
import { destroy, query, snowflakeJwt } from '../support/helpers.js';

const sdkLines: string[] = [];
beforeAll(() => {
  const record = (line: string) => sdkLines.push(line);
  snowflake.configure({
    logLevel: 'TRACE',
    customLogger: { error: record, warn: record, info: record, debug: record, trace: record },
  });
});

beforeEach(() => {
  vi.stubEnv('AWS_REGION', '');
  vi.stubEnv('AWS_DEFAULT_REGION', '');
});

const servers: FakeSnowflake[] = [];
afterEach(async () => {
  nock.cleanAll();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('no token in errors or logs', () => {
  it('the JWT, Snowflake session and master tokens and the AWS secret never reach a message, hint, detail, cause or log line', async () => {
    const { lines, logger } = recordingLogger();
    const jwts: string[] = [];
    const errors: unknown[] = [];

    /** Every call mints a new JWT through a mocked STS, so the aws provider and its logs are exercised. */
    const stsAnswers = () =>
      nock('https://sts.us-east-1.amazonaws.com')
        .post('/')
        .reply(async () => {
          const jwt = await snowflakeJwt();
          jwts.push(jwt);
          return [200, stsSuccessXml(jwt, new Date(Date.now() + 300_000)), { 'content-type': 'text/xml' }];
        })
        .persist();

    async function attempt(login: FakeSnowflakeOptions['login'], extra: Record<string, unknown> = {}) {
      const fake = await startFakeSnowflake({ login });
      servers.push(fake);
      const sts = stsAnswers();
      try {
        const connection = await connectSnowflake({
          account: TEST_ACCOUNT,
          host: TEST_HOST,
          accessUrl: fake.origin,
          username: 'KEYLESS_SVC',
          sfRetryMaxLoginRetries: 0,
          logger,
          aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS, retry: false },
          ...extra,
        });
        await query(connection, 'SELECT CURRENT_USER()');
        await destroy(connection);
      } catch (error) {
        errors.push(error);
      } finally {
        sts.persist(false);
        nock.cleanAll();
      }
      return fake;
    }

    const issued: string[] = [];
    issued.push(...(await attempt(undefined)).issued);
    for (const [code, message] of [
      ['390144', 'JWT token is invalid.'],
      ['390100', 'Incorrect username or password was specified.'],
      ['394301', 'JWT token has expired.'],
      ['390139', 'The specified authenticator is not accepted by your Snowflake account configuration.'],
      ['390189', "Role 'X' specified in the connect string is not granted to this user."],
    ] as const) {
      await attempt(() => loginFailure(code, message));
    }
    // A server that echoes the token back, in the message and in data: still nothing may leak.
    const echoFrom = sdkLines.length;
    await attempt((data) =>
      loginFailure('390144', `JWT token is invalid: ${data.TOKEN}`, { nextAction: 'RETRY_LOGIN', token: data.TOKEN }),
    );
    const echoTo = sdkLines.length;
    await attempt(() => ({ status: 503, body: { message: 'unavailable' } }));
    await attempt(() => ({ status: 429, body: {}, headers: { 'retry-after': '1' } }));
    await attempt(() => ({ status: 403, body: {} }));
    await attempt(() => 'reset');

    // A pool whose login fails.
    const fake = await startFakeSnowflake({ login: () => loginFailure('390144', 'JWT token is invalid.') });
    servers.push(fake);
    const sts = stsAnswers();
    const pool = createSnowflakePool(
      {
        account: TEST_ACCOUNT,
        host: TEST_HOST,
        accessUrl: fake.origin,
        sfRetryMaxLoginRetries: 0,
        logger,
        aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS, retry: false },
      },
      { acquireTimeoutMillis: 5_000 },
    );
    errors.push(await pool.acquire().catch((e: unknown) => e));
    await pool.drain();
    await pool.clear();
    sts.persist(false);

    expect(errors).toHaveLength(11);
    expect(jwts.length).toBeGreaterThanOrEqual(11);
    expect(issued).toHaveLength(2);
    expect(lines.some((line) => line.startsWith('debug'))).toBe(true);
    const secrets = [...jwts, ...issued, TEST_CREDENTIALS.secretAccessKey];
    expectNoSecrets([...lines, ...errors.map((e) => errorText(e))], secrets);
    // snowflake-sdk's own log lines (its masking, not keyless's; checked so that a regression shows).
    // It logs Snowflake's error message as it is: of an echoed JWT it keeps the header (not a
    // secret) and masks payload and signature.
    expectNoSecrets([...sdkLines.slice(0, echoFrom), ...sdkLines.slice(echoTo)], secrets);
    expectNoSecrets(
      sdkLines.slice(echoFrom, echoTo),
      jwts.flatMap((jwt) => jwt.split('.').slice(1)),
    );
  });
});
