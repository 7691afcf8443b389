import snowflake, { type Connection, type ConnectionOptions } from 'snowflake-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EMULATOR_DEFAULTS, type Emulator, startEmulator } from '../src/index.js';
import { requestJson, stsToken } from './helpers.js';

let lab: Emulator;
beforeAll(async () => {
  lab = await startEmulator();
  snowflake.configure({ logLevel: 'OFF' });
});
afterAll(() => lab.close());
afterEach(() => {
  lab.trust.reset();
  lab.faults.clear();
  lab.clock.reset();
});

function connectionOptions(extra: Partial<ConnectionOptions>): ConnectionOptions {
  return {
    account: lab.snowflake.account,
    host: lab.snowflake.host,
    accessUrl: lab.snowflake.accessUrl,
    authenticator: 'WORKLOAD_IDENTITY',
    warehouse: lab.snowflake.warehouse,
    ...extra,
  } as ConnectionOptions;
}

function connect(options: ConnectionOptions): Promise<Connection> {
  const connection = snowflake.createConnection(options);
  // connectAsync() resolves even when the login fails: only the callback sees the error (PROTOCOLS §5.4).
  return new Promise((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve(connection))));
}

function query(connection: Connection, sqlText: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) =>
    connection.execute({
      sqlText,
      complete: (error, _statement, rows) => (error ? reject(error) : resolve(rows as Record<string, unknown>[])),
    }),
  );
}

function destroy(connection: Connection): Promise<void> {
  return new Promise((resolve, reject) => connection.destroy((error) => (error ? reject(error) : resolve())));
}

describe('snowflake-sdk with WORKLOAD_IDENTITY against the emulator', () => {
  it('logs in with PROVIDER=OIDC, runs SELECT CURRENT_USER() and deletes the session on destroy', async () => {
    const token = await stsToken(lab, lab.snowflake.audience, { algorithm: 'ES384' });
    const connection = await connect(
      connectionOptions({ workloadIdentityProvider: 'OIDC', token } as Partial<ConnectionOptions>),
    );
    expect(await query(connection, 'SELECT CURRENT_USER()')).toEqual([
      { 'CURRENT_USER()': EMULATOR_DEFAULTS.snowflake.user },
    ]);
    expect(await query(connection, 'select current_role(), current_warehouse() as wh, 1, 42 answer;')).toEqual([
      {
        'CURRENT_ROLE()': EMULATOR_DEFAULTS.snowflake.role,
        WH: EMULATOR_DEFAULTS.snowflake.warehouse,
        '1': 1,
        ANSWER: 42,
      },
    ]);
    const before = lab.stats.get('snowflake:session').calls;
    await destroy(connection);
    expect(lab.stats.get('snowflake:session').calls).toBe(before + 1);
    expect(lab.stats.recent().at(-1)).toMatchObject({ endpoint: 'snowflake:session', path: '/session', status: 200 });
  });

  it('answers an unsupported statement with a SQL compilation error', async () => {
    const token = await stsToken(lab, lab.snowflake.audience);
    const connection = await connect(
      connectionOptions({ workloadIdentityProvider: 'OIDC', token } as Partial<ConnectionOptions>),
    );
    await expect(query(connection, 'SELECT * FROM customers')).rejects.toMatchObject({ code: '001003' });
    await destroy(connection);
  });

  it('logs in with PROVIDER=AWS, letting snowflake-sdk mint the outbound JWT or sign GetCallerIdentity itself', async () => {
    for (const [name, value] of Object.entries(lab.env())) vi.stubEnv(name, value);
    for (const extra of [{ workloadIdentityAwsUseOutboundToken: true }, {}]) {
      const connection = await connect(
        connectionOptions({ workloadIdentityProvider: 'AWS', ...extra } as Partial<ConnectionOptions>),
      );
      expect(await query(connection, 'SELECT CURRENT_USER()')).toEqual([
        { 'CURRENT_USER()': EMULATOR_DEFAULTS.snowflake.awsUser },
      ]);
      await destroy(connection);
    }
    expect(lab.stats.get('sts:GetWebIdentityToken').calls).toBeGreaterThan(0);
  });

  it('renews an expired session with the master token, as the driver expects', async () => {
    const token = await stsToken(lab, lab.snowflake.audience);
    const connection = await connect(
      connectionOptions({ workloadIdentityProvider: 'OIDC', token } as Partial<ConnectionOptions>),
    );
    lab.clock.advance(3601);
    const sessionCalls = lab.stats.get('snowflake:session').calls;
    expect(await query(connection, 'SELECT CURRENT_USER()')).toEqual([
      { 'CURRENT_USER()': EMULATOR_DEFAULTS.snowflake.user },
    ]);
    expect(lab.stats.recent().some((r) => r.path === '/session/token-request' && r.status === 200)).toBe(true);
    expect(lab.stats.get('snowflake:session').calls).toBeGreaterThan(sessionCalls);
    await destroy(connection);
  });

  it.each([
    [
      'another subject',
      () =>
        lab.mintWebIdentityToken({
          audience: 'snowflakecomputing.com',
          subject: 'arn:aws:iam::123456789012:role/other',
        }),
      '390430',
      'no user has WORKLOAD_IDENTITY TYPE = OIDC',
    ],
    [
      'another audience',
      () => stsToken(lab, 'api://AzureADTokenExchange'),
      '390430',
      "OIDC_AUDIENCE_LIST (default 'snowflakecomputing.com')",
    ],
    [
      'another issuer',
      () => lab.mintWebIdentityToken({ audience: 'snowflakecomputing.com', issuer: 'https://other.example' }),
      '390430',
      "ISSUER 'https://other.example'",
    ],
    [
      'a bad signature',
      () => lab.mintWebIdentityToken({ audience: 'snowflakecomputing.com', untrustedKey: true }),
      '390431',
      'signature is invalid',
    ],
    [
      'an expired token',
      () => lab.mintWebIdentityToken({ audience: 'snowflakecomputing.com', lifetimeSeconds: -120 }),
      '390431',
      'expired',
    ],
  ])('refuses the login for %s', async (_name, makeToken, code, text) => {
    const error = await connect(
      connectionOptions({ workloadIdentityProvider: 'OIDC', token: await makeToken() } as Partial<ConnectionOptions>),
    ).catch((e: unknown) => e as { code?: string; message?: string });
    expect(error).toMatchObject({ code });
    expect((error as { message: string }).message).toContain(text);
  });

  it('honours OIDC_AUDIENCE_LIST', async () => {
    lab.trust.snowflake.addUser({
      name: EMULATOR_DEFAULTS.snowflake.user,
      workloadIdentity: { type: 'OIDC', issuer: lab.issuer, subject: lab.roleArn, audiences: ['custom-audience'] },
    });
    const connection = await connect(
      connectionOptions({
        workloadIdentityProvider: 'OIDC',
        token: await stsToken(lab, 'custom-audience'),
      } as Partial<ConnectionOptions>),
    );
    await destroy(connection);
  });
});

describe('login-request wire shapes', () => {
  const login = (data: Record<string, unknown>) =>
    requestJson(
      `${lab.snowflake.accessUrl}/session/v1/login-request?requestId=0f0e0d0c-0000-4000-8000-000000000001&warehouse=WH`,
      {
        data: { ACCOUNT_NAME: 'KEYLESS-DEMO', CLIENT_APP_ID: 'JavaScript', ...data },
      },
    );

  it('answers success with session tokens and the role and warehouse of the session', async () => {
    const answer = await login({
      AUTHENTICATOR: 'WORKLOAD_IDENTITY',
      PROVIDER: 'OIDC',
      TOKEN: await stsToken(lab, 'snowflakecomputing.com'),
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      success: true,
      code: null,
      message: null,
      data: {
        token: expect.any(String),
        masterToken: expect.any(String),
        validityInSeconds: 3600,
        masterValidityInSeconds: 14400,
        sessionId: expect.any(Number),
        parameters: expect.any(Array),
        sessionInfo: { warehouseName: 'WH', roleName: EMULATOR_DEFAULTS.snowflake.role },
      },
    });
  });

  it('answers failure as HTTP 200 with success: false, a code, a message and data', async () => {
    const answer = await login({ AUTHENTICATOR: 'SNOWFLAKE', PASSWORD: 'x' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      success: false,
      code: '390139',
      message: expect.stringContaining('The specified authenticator is not accepted'),
      data: null,
    });
    const wif = await login({
      AUTHENTICATOR: 'WORKLOAD_IDENTITY',
      PROVIDER: 'OIDC',
      TOKEN: await stsToken(lab, 'nope'),
    });
    expect(wif.body).toEqual({
      success: false,
      code: '390430',
      message: expect.stringMatching(/^Workload identity authentication failed: .* \[[0-9a-f-]{36}\]$/),
      data: { nextAction: 'RETRY_LOGIN', authnMethod: 'WORKLOAD_IDENTITY', signInOptions: {} },
    });
  });

  it('restricts the match to LOGIN_NAME when the driver sends one', async () => {
    const token = await stsToken(lab, 'snowflakecomputing.com');
    expect(
      (await login({ AUTHENTICATOR: 'WORKLOAD_IDENTITY', PROVIDER: 'OIDC', TOKEN: token, LOGIN_NAME: 'keyless_demo' }))
        .body.success,
    ).toBe(true);
    expect(
      (await login({ AUTHENTICATOR: 'WORKLOAD_IDENTITY', PROVIDER: 'OIDC', TOKEN: token, LOGIN_NAME: 'SOMEONE_ELSE' }))
        .body.success,
    ).toBe(false);
  });

  it('refuses queries without a live session', async () => {
    const answer = await requestJson(
      `${lab.snowflake.accessUrl}/queries/v1/query-request?requestId=1`,
      { sqlText: 'SELECT 1' },
      {
        authorization: 'Snowflake Token="not-a-session"',
      },
    );
    expect(answer.body).toMatchObject({ success: false, code: '390111' });
  });
});
