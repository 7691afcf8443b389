/**
 * snowflake-sdk connections and pools opened by @keyless/snowflake (WORKLOAD_IDENTITY logins with the
 * AWS JWT) against the emulator's Snowflake endpoint. The test setup sets
 * SNOWFLAKE_DISABLE_PLATFORM_DETECTION before anything loads snowflake-sdk.
 */
import { type Emulator, startEmulator } from '@keyless/emulator';
import { connectSnowflake, createSnowflakePool, type SnowflakeConnectionOptions } from '@keyless/snowflake';
import snowflake, { type Connection } from 'snowflake-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { keylessRejection, labAws, mintedProvider, stsCalls } from './support/lab.js';

const WRONG_ROLE = 'arn:aws:iam::123456789012:role/keyless-prod';

let lab: Emulator;

beforeAll(async () => {
  // Nothing on the console and no ./snowflake.log from the driver.
  snowflake.configure({ logLevel: 'OFF' });
  lab = await startEmulator();
});
afterAll(async () => {
  await lab?.close();
});
afterEach(() => {
  lab.trust.reset();
  lab.stats.reset();
});

function options(extra: Partial<SnowflakeConnectionOptions> = {}): SnowflakeConnectionOptions {
  return {
    account: lab.snowflake.account,
    host: lab.snowflake.host,
    accessUrl: lab.snowflake.accessUrl,
    snowflake,
    sfRetryMaxLoginRetries: 0,
    ...(extra.webIdentityToken ? {} : { aws: labAws(lab) }),
    ...extra,
  };
}

function query(connection: Connection, sqlText: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    connection.execute({
      sqlText,
      complete: (error, _statement, rows) =>
        error ? reject(error) : resolve((rows ?? []) as Record<string, unknown>[]),
    });
  });
}

function destroy(connection: Connection): Promise<void> {
  return new Promise((resolve) => connection.destroy(() => resolve()));
}

describe('snowflake-sdk through @keyless/snowflake', () => {
  test('connectSnowflake: a session for the default user, SELECT CURRENT_USER() and CURRENT_ROLE()', async () => {
    const connection = await connectSnowflake(options());
    try {
      expect(connection.isUp()).toBe(true);
      const [row] = await query(connection, 'SELECT CURRENT_USER(), CURRENT_ROLE()');
      expect(row).toEqual({ 'CURRENT_USER()': lab.snowflake.user, 'CURRENT_ROLE()': lab.snowflake.role });
    } finally {
      await destroy(connection);
    }
    expect(stsCalls(lab)).toBe(1);
    expect(lab.stats.get('snowflake:login')).toMatchObject({ calls: 1, ok: 1 });
  });

  test('createSnowflakePool: every new connection logs in; the JWT comes from one cached provider', async () => {
    const pool = createSnowflakePool(options(), { max: 2, min: 0 });
    try {
      const [a, b] = await Promise.all([pool.acquire(), pool.acquire()]);
      const users = await Promise.all([a, b].map(async (c) => (await query(c, 'SELECT CURRENT_USER()'))[0]));
      expect(users).toEqual([{ 'CURRENT_USER()': lab.snowflake.user }, { 'CURRENT_USER()': lab.snowflake.user }]);
      await Promise.all([pool.release(a), pool.release(b)]);
      const again = await pool.acquire();
      expect([a, b]).toContain(again);
      await pool.release(again);
    } finally {
      await pool.drain();
      await pool.clear();
    }
    expect(lab.stats.get('snowflake:login')).toMatchObject({ calls: 2, ok: 2 });
    expect(stsCalls(lab)).toBe(1);
  });

  test('a user whose SUBJECT is another role: TOKEN_REJECTED with the WORKLOAD_IDENTITY the user needs', async () => {
    for (const user of lab.trust.snowflake.listUsers()) lab.trust.snowflake.removeUser(user.name);
    lab.trust.snowflake.addUser({
      name: lab.snowflake.user,
      workloadIdentity: { type: 'OIDC', issuer: lab.issuer, subject: WRONG_ROLE },
    });
    const error = await keylessRejection(connectSnowflake(options()));
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'snowflake',
      retryable: false,
      details: {
        targetCode: '390430',
        presented: { iss: lab.issuer, sub: lab.roleArn, aud: lab.snowflake.audience, alg: 'ES384' },
      },
    });
    expect(error.hint).toContain(`ISSUER = '${lab.issuer}'`);
    expect(error.hint).toContain(`SUBJECT = '${lab.roleArn}'`);
  });

  test('a JWT for another audience: TOKEN_REJECTED quoting the aud (OIDC_AUDIENCE_LIST or aws.audience)', async () => {
    const webIdentityToken = await mintedProvider(lab, {
      audience: 'https://example.com/not-snowflake',
      algorithm: 'ES384',
    });
    const error = await keylessRejection(connectSnowflake(options({ webIdentityToken })));
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'snowflake',
      details: { presented: { aud: 'https://example.com/not-snowflake' } },
    });
    expect(error.hint).toMatch(/OIDC_AUDIENCE_LIST|aws\.audience/);
  });

  test('a failed login in a pool rejects acquire() with the KeylessError instead of retrying', async () => {
    lab.trust.snowflake.removeUser(lab.snowflake.user);
    lab.trust.snowflake.removeUser('KEYLESS_DEMO_AWS');
    const pool = createSnowflakePool(options(), { max: 1, min: 0, acquireTimeoutMillis: 10_000 });
    try {
      const error = await keylessRejection(pool.acquire());
      expect(error).toMatchObject({ code: 'TOKEN_REJECTED', provider: 'snowflake', details: { targetCode: '390430' } });
    } finally {
      await pool.drain();
      await pool.clear();
    }
    expect(lab.stats.get('snowflake:login').calls).toBe(1);
  });
});
