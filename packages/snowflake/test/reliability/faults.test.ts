/**
 * Snowflake login-request × the fault matrix cells its contract tests leave open (see
 * test/reliability/matrix.ts): the real snowflake-sdk, logging in through keyless against a scripted
 * loopback Snowflake, with core's JWT provider (`aws: { client }`, a fake STS that signs real JWTs).
 */
import { isKeylessError, type KeylessError } from '@keyless/core';
import snowflake from 'snowflake-sdk';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeSts, stsUnavailable } from '../../../../test/reliability/support/fake-sts.js';
import {
  type Recorded,
  type Reply,
  type ScriptedServer,
  startScriptedServer,
} from '../../../../test/reliability/support/scripted-server.js';
import { registerSecret } from '../../../../test/support/secrets.js';
import { connectSnowflake, createSnowflakePool, type SnowflakeConnectionOptions } from '../../src/index.js';
import { loginSuccess, sessionTokenLike, TEST_ACCOUNT, TEST_HOST } from '../support/fake-snowflake.js';
import { destroy } from '../support/helpers.js';

const LOGIN = '/session/v1/login-request';

beforeAll(() => {
  // snowflake-sdk logs at INFO to the console and ./snowflake.log unless told otherwise.
  snowflake.configure({
    logLevel: 'ERROR',
    customLogger: { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, trace: () => {} },
  });
});

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
  // Logout and telemetry after a successful login.
  server.always('/session', { status: 200, body: { data: null, code: null, message: null, success: true } });
  server.always('/telemetry/send', { status: 200, body: { data: null, code: null, message: null, success: true } });
});
afterEach(async () => {
  vi.useRealTimers();
  await server.close();
  expect(server.unexpected.map((r) => `${r.method} ${r.path}`)).toEqual([]);
});

/** A successful login answer, its session and master tokens registered for the leak check. */
function success(): Reply {
  const answer = loginSuccess(registerSecret(sessionTokenLike('session')), registerSecret(sessionTokenLike('master')));
  return { status: 200, body: (answer as { body: unknown }).body };
}

function options(sts: ReturnType<typeof fakeSts>, extra: Partial<SnowflakeConnectionOptions> = {}) {
  return {
    account: TEST_ACCOUNT,
    host: TEST_HOST,
    accessUrl: server.origin,
    sfRetryMaxLoginRetries: 0,
    aws: { client: sts.client },
    ...extra,
  } as SnowflakeConnectionOptions;
}

async function failure(promise: Promise<unknown>): Promise<KeylessError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isKeylessError(error), `expected a KeylessError, got ${String(error)}`).toBe(true);
  return error as KeylessError;
}

const presented = (request: Recorded) => (JSON.parse(request.body) as { data: { TOKEN?: string } }).data.TOKEN;

describe('snowflake-login: fault cells', () => {
  it('[snowflake-login × timeout] no answer within the snowflake-sdk `timeout` option: a retryable TIMEOUT', async () => {
    server.answer(LOGIN, 'silent');
    const error = await failure(connectSnowflake(options(fakeSts(), { timeout: 300 })));
    expect(error).toMatchObject({ code: 'TIMEOUT', provider: 'snowflake', retryable: true });
    expect(server.requestsTo(LOGIN)).toHaveLength(1);
  });

  it('[snowflake-login × dropped] the login answer cut off mid-body: a retryable NETWORK', async () => {
    server.answer(LOGIN, 'dropped');
    const error = await failure(connectSnowflake(options(fakeSts())));
    expect(error).toMatchObject({ code: 'NETWORK', provider: 'snowflake', retryable: true });
  });

  it('[snowflake-login × truncated] a 200 with truncated JSON: snowflake-sdk reports a network error, so a retryable NETWORK', async () => {
    server.answer(LOGIN, {
      status: 200,
      body: '{"data":{"masterToken":"ver:1-hint:1199',
      headers: { 'content-type': 'application/json' },
    });
    const error = await failure(connectSnowflake(options(fakeSts())));
    expect(error).toMatchObject({ code: 'NETWORK', provider: 'snowflake', retryable: true });
    expect(error.message).not.toContain('ver:1-hint');
  });

  it.each([
    // Not a Snowflake login answer: whatever answered is not Snowflake (a proxy, a portal).
    ['no success flag', { data: null, code: null, message: null }, 'INVALID_RESPONSE'],
    ['a JSON array', [], 'INVALID_RESPONSE'],
    // snowflake-sdk fails reading the session from it and reports that as a network error.
    ['success without data', { success: true, data: null, code: null, message: null }, 'NETWORK'],
    ['an HTML page', '<html><body>Please sign in to the proxy</body></html>', 'INVALID_RESPONSE'],
  ])(
    '[snowflake-login × malformed] a 200 with %s: a KeylessError (%s), never a connection',
    async (_name, body, code) => {
      server.answer(LOGIN, { status: 200, body });
      const error = await failure(connectSnowflake(options(fakeSts())));
      expect(error).toMatchObject({ code, provider: 'snowflake', retryable: true });
    },
  );

  // snowflake-sdk 3.3.0 reports a 200 whose body is not a Snowflake login answer (a proxy's HTML page) as an
  // OperationFailedError with no code and no message: keyless must say INVALID_RESPONSE (retryable), not
  // "Snowflake refused the login: " with a WORKLOAD_IDENTITY hint. (Found by this test; fixed.)
  it('[snowflake-login × html] a 200 HTML page (a proxy or portal): a retryable INVALID_RESPONSE naming the proxy', async () => {
    server.answer(LOGIN, { status: 200, body: '<html><body>Please sign in to the proxy</body></html>' });
    const error = await failure(connectSnowflake(options(fakeSts())));
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE', provider: 'snowflake', retryable: true });
    expect(error.hint).toMatch(/proxy/);
  });

  it('[snowflake-login × slow] a login answered after 300 ms, inside the time-out: connected', async () => {
    const answer = success();
    server.answer(LOGIN, { ...answer, delayMs: 300 });
    const connection = await connectSnowflake(options(fakeSts(), { timeout: 5_000 }));
    expect(connection.isUp()).toBe(true);
    await destroy(connection);
  });

  it.each([
    ['ahead of', 300],
    ['behind', -300],
  ])(
    '[snowflake-login × clock-skew] an STS clock 5 minutes %s this machine: the JWT is used for its whole life, one STS call for two logins',
    async (_name, skew) => {
      const sts = fakeSts();
      sts.skewSeconds = skew;
      server.answer(LOGIN, success(), success());
      const pool = createSnowflakePool(options(sts), { max: 2 });
      const first = await pool.acquire();
      const second = await pool.acquire();
      const logins = server.requestsTo(LOGIN);
      expect(logins.map(presented)).toEqual([sts.issued[0], sts.issued[0]]);
      expect(sts.calls).toBe(1);
      await pool.release(first);
      await pool.release(second);
      await pool.drain();
      await pool.clear();
    },
  );

  it('[snowflake-login × refresh-fails] STS failing while the cached JWT is still good: the next login uses the cached JWT', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const sts = fakeSts();
    server.answer(LOGIN, success(), success());
    const pool = createSnowflakePool(options(sts), { max: 2 });
    const first = await pool.acquire();
    // 200 s into the 300 s JWT: inside core's refresh window, 100 s left (above minTokenValiditySeconds).
    vi.setSystemTime(Date.now() + 200_000);
    sts.failure = stsUnavailable();
    const second = await pool.acquire();
    const logins = server.requestsTo(LOGIN);
    expect(logins.map(presented)).toEqual([sts.issued[0], sts.issued[0]]);
    // The background refresh tried STS (and failed) without the login waiting for it.
    expect(sts.calls).toBeGreaterThan(1);
    expect(sts.issued).toHaveLength(1);
    await pool.release(first);
    await pool.release(second);
    await pool.drain();
    await pool.clear();
  });
});
