import { createTokenCache, decodeAwsWebIdentityClaims, isKeylessError, type KeylessError } from '@keyless/core';
import snowflake from 'snowflake-sdk';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSnowflakePool, snowflakeConnectionOptions } from '../../src/index.js';
import {
  type FakeSnowflake,
  type FakeSnowflakeOptions,
  type LoginRequestData,
  loginFailure,
  SERVICE_USER,
  startFakeSnowflake,
  TEST_ACCOUNT,
  TEST_HOST,
} from '../support/fake-snowflake.js';
import { asWebIdentityToken, query, snowflakeJwt, tokensInTurn } from '../support/helpers.js';

beforeAll(() => {
  snowflake.configure({ logLevel: 'OFF' });
});

let server: FakeSnowflake | undefined;
async function fakeSnowflake(options?: FakeSnowflakeOptions): Promise<FakeSnowflake> {
  server = await startFakeSnowflake(options);
  return server;
}
afterEach(async () => {
  vi.useRealTimers();
  await server?.close();
  server = undefined;
});

function target(fake: FakeSnowflake) {
  return { account: TEST_ACCOUNT, host: TEST_HOST, accessUrl: fake.origin, sfRetryMaxLoginRetries: 0 };
}

/** Like Snowflake, refuse a token whose exp is past (on this process's clock, which the tests move). */
function refuseExpired(data: LoginRequestData) {
  const { exp } = decodeAwsWebIdentityClaims(data.TOKEN ?? '');
  return exp * 1000 <= Date.now() ? loginFailure('394301', 'JWT token has expired.') : undefined;
}

/** A cached provider like fromAwsWebIdentityToken's, minting a new 300 s JWT on each refresh. */
function mintingProvider() {
  const minted: string[] = [];
  const provider = createTokenCache(async () => {
    const token = await snowflakeJwt({ iat: Math.floor(Date.now() / 1000), lifetime: 300 });
    minted.push(token);
    return asWebIdentityToken(token);
  });
  return { provider, minted };
}

describe('createSnowflakePool', () => {
  it('opens each new connection with a fresh token: the login after the first JWT expired carries a new one', async () => {
    // Only the clock is faked: snowflake-sdk's own timers and sockets stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    const fake = await fakeSnowflake({ login: refuseExpired });
    const { provider, minted } = mintingProvider();
    const pool = createSnowflakePool({ ...target(fake), webIdentityToken: provider }, { max: 2 });

    const first = await pool.acquire();
    vi.setSystemTime(Date.now() + 400_000);
    const second = await pool.acquire();

    const tokens = fake.logins().map((login) => login.TOKEN);
    expect(tokens).toHaveLength(2);
    expect(tokens[1]).not.toBe(tokens[0]);
    expect(tokens).toEqual(minted);
    expect(await query(second, 'SELECT CURRENT_USER()')).toEqual([{ 'CURRENT_USER()': SERVICE_USER }]);
    await pool.release(first);
    await pool.release(second);
    await pool.drain();
    await pool.clear();
  });

  it('control: snowflake-sdk createPool with one options object reuses the expired token and fails', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const fake = await fakeSnowflake({ login: refuseExpired });
    const { provider } = mintingProvider();
    const pool = snowflake.createPool(
      await snowflakeConnectionOptions({ ...target(fake), webIdentityToken: provider }),
      {
        max: 2,
      },
    );
    const first = await pool.acquire();
    vi.setSystemTime(Date.now() + 400_000);
    await expect(pool.acquire()).rejects.toThrow('JWT token has expired.');
    const tokens = fake.logins().map((login) => login.TOKEN);
    expect(tokens[1]).toBe(tokens[0]);
    await pool.release(first);
    await pool.drain();
    await pool.clear();
  });

  it('refreshes a token that is still cached but too close to expiry for a login (minTokenValiditySeconds)', async () => {
    const fake = await fakeSnowflake();
    const now = Math.floor(Date.now() / 1000);
    const nearlyExpired = await snowflakeJwt({ iat: now - 270, lifetime: 300 }); // 30 s left
    const fresh = await snowflakeJwt();
    const { provider, calls } = tokensInTurn(nearlyExpired, fresh);
    const pool = createSnowflakePool({ ...target(fake), webIdentityToken: provider });
    const connection = await pool.acquire();
    expect(calls).toEqual([{ forceRefresh: undefined }, { forceRefresh: true }]);
    expect(fake.logins()[0]!.TOKEN).toBe(fresh);
    await pool.release(connection);
    await pool.drain();
    await pool.clear();
  });

  it('hands a refused login to the waiting acquire as a KeylessError instead of retrying without end', async () => {
    const fake = await fakeSnowflake({ login: () => loginFailure('390144', 'JWT token is invalid.') });
    const pool = createSnowflakePool(
      { ...target(fake), webIdentityToken: tokensInTurn(await snowflakeJwt()).provider },
      { acquireTimeoutMillis: 5_000 },
    );
    const error = await pool.acquire().catch((e: unknown) => e);
    expect(isKeylessError(error)).toBe(true);
    expect((error as KeylessError).code).toBe('TOKEN_REJECTED');
    // generic-pool would otherwise call create again and again while the client waits.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fake.logins()).toHaveLength(1);
    await pool.drain();
    await pool.clear();
  });

  it('validates the options when the pool is created, before any I/O', () => {
    expect(() => createSnowflakePool({ account: TEST_ACCOUNT, password: 'x' } as never)).toThrowError(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
  });

  it('validate() (testOnBorrow) checks a pooled session with a heartbeat', async () => {
    const fake = await fakeSnowflake();
    const pool = createSnowflakePool(
      { ...target(fake), webIdentityToken: tokensInTurn(await snowflakeJwt()).provider },
      { testOnBorrow: true },
    );
    const connection = await pool.acquire();
    expect(fake.requests.some((r) => r.path === '/session/heartbeat')).toBe(true);
    await pool.release(connection);
    await pool.drain();
    await pool.clear();
    expect(fake.requests.some((r) => r.path === '/session' && r.query.get('delete') === 'true')).toBe(true);
  });
});
