import type { WebIdentityTokenProvider } from '@keyless/core';
import nock from 'nock';
import { describe, expect, it, vi } from 'vitest';
import { stsSuccessXml, TEST_CREDENTIALS, TEST_ISSUER, TEST_ROLE_ARN } from '../../../test/support/aws.js';
import { recordingLogger } from '../../../test/support/leaks.js';
import { snowflakeJwt, tokensInTurn } from '../test/support/helpers.js';
import {
  CONFLICTING_OPTIONS,
  createConnectionOptionsResolver,
  type SnowflakeConnectionOptions,
  snowflakeConnectionOptions,
} from './snowflake-connection-options.js';

const account = 'myorg-myacct';

function rejects(options: unknown, message: string | RegExp) {
  const run = () => createConnectionOptionsResolver(options as SnowflakeConnectionOptions);
  expect(run).toThrowError(
    expect.objectContaining({
      code: 'INVALID_CONFIG',
      provider: 'snowflake',
      message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message),
    }),
  );
}

describe('option validation (before any I/O)', () => {
  const provider: WebIdentityTokenProvider = async () => {
    throw new Error('must not be called');
  };

  it('requires account', () => {
    rejects({ webIdentityToken: provider }, 'account must be a string');
    rejects(undefined, 'options must be an object');
  });

  it.each(CONFLICTING_OPTIONS.map((key) => [key]))('refuses the credential option %s', (key) => {
    rejects({ account, webIdentityToken: provider, [key]: 'x' }, `${key} cannot be combined with keyless`);
  });

  it('types refuse the credential options too', () => {
    // @ts-expect-error password carries another credential
    const withPassword: SnowflakeConnectionOptions = { account, password: 'x' };
    // @ts-expect-error the workload identity path is picked with provider
    const withProvider: SnowflakeConnectionOptions = { account, workloadIdentityProvider: 'OIDC' };
    // @ts-expect-error only WORKLOAD_IDENTITY
    const withAuthenticator: SnowflakeConnectionOptions = { account, authenticator: 'SNOWFLAKE_JWT' };
    const fine: SnowflakeConnectionOptions = { account, warehouse: 'WH', clientSessionKeepAlive: true };
    expect([withPassword, withProvider, withAuthenticator, fine]).toHaveLength(4);
  });

  it('lists every conflicting option at once and points workloadIdentityProvider users at provider', () => {
    const run = () =>
      createConnectionOptionsResolver({
        account,
        password: 'p',
        workloadIdentityProvider: 'OIDC',
      } as unknown as SnowflakeConnectionOptions);
    expect(run).toThrowError(
      expect.objectContaining({
        message: expect.stringContaining('password, workloadIdentityProvider cannot be combined'),
        hint: expect.stringContaining("keyless's provider option"),
      }),
    );
  });

  it.each(['SNOWFLAKE', 'SNOWFLAKE_JWT', 'OAUTH', 'EXTERNALBROWSER', 'PROGRAMMATIC_ACCESS_TOKEN'])(
    'refuses authenticator %s',
    (authenticator) => {
      rejects({ account, authenticator }, 'authenticator must be WORKLOAD_IDENTITY');
    },
  );

  it('accepts authenticator WORKLOAD_IDENTITY in any case', async () => {
    const options = await snowflakeConnectionOptions({
      account,
      authenticator: 'workload_identity' as 'WORKLOAD_IDENTITY',
      webIdentityToken: tokensInTurn(await snowflakeJwt()).provider,
    });
    expect(options.authenticator).toBe('WORKLOAD_IDENTITY');
  });

  it('refuses an unknown provider', () => {
    rejects({ account, provider: 'GCP' }, 'provider must be one of OIDC, AWS, got "GCP"');
  });

  it('refuses aws together with webIdentityToken', () => {
    rejects({ account, aws: { region: 'us-east-1' }, webIdentityToken: provider }, 'either aws or webIdentityToken');
  });

  it('refuses a webIdentityToken that is not a function', () => {
    rejects({ account, webIdentityToken: 'eyJ...' }, 'webIdentityToken must be a function');
  });

  it('checks the aws options through core (e.g. durationSeconds)', () => {
    expect(() =>
      createConnectionOptionsResolver({ account, aws: { region: 'us-east-1', durationSeconds: 30 } }),
    ).toThrowError(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        message: 'aws.durationSeconds must be an integer 60..3600, got 30',
      }),
    );
  });

  it.each([
    [{ aws: { region: 'us-east-1' } }, 'aws'],
    [{ webIdentityToken: async () => ({}) }, 'webIdentityToken'],
    [{ minTokenValiditySeconds: 30 }, 'minTokenValiditySeconds'],
  ])("refuses keyless token options with provider 'AWS' (%o)", (extra, key) => {
    rejects({ account, provider: 'AWS', ...extra }, `${key} cannot be used with provider 'AWS'`);
  });

  it('refuses minTokenValiditySeconds out of range', () => {
    rejects(
      { account, webIdentityToken: provider, minTokenValiditySeconds: -1 },
      'minTokenValiditySeconds must be a number 0..3000, got -1',
    );
    rejects(
      { account, webIdentityToken: provider, minTokenValiditySeconds: 4000 },
      'minTokenValiditySeconds must be a number 0..3000',
    );
  });

  it('refuses minTokenValiditySeconds at or above aws.durationSeconds, and halves the default for short tokens', async () => {
    rejects(
      { account, aws: { region: 'us-east-1', durationSeconds: 60 }, minTokenValiditySeconds: 60 },
      'minTokenValiditySeconds (60) must be below aws.durationSeconds (60)',
    );
    // durationSeconds 60: the default margin becomes 30 s, so a fresh 60 s token serves two logins.
    vi.stubEnv('AWS_REGION', '');
    const minted: string[] = [];
    const scope = nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .times(2)
      .reply(async () => {
        const jwt = await snowflakeJwt({ lifetime: 60 });
        minted.push(jwt);
        return [200, stsSuccessXml(jwt, new Date(Date.now() + 60_000)), { 'content-type': 'text/xml' }];
      });
    const resolve = createConnectionOptionsResolver({
      account,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS, durationSeconds: 60, retry: false },
    });
    const first = await resolve();
    const second = await resolve();
    expect(minted).toHaveLength(1);
    expect(second.connectionOptions.token).toBe(first.connectionOptions.token);
    expect(scope.pendingMocks()).toHaveLength(1);
    nock.cleanAll();
  });

  it('refuses workloadIdentityImpersonationPath with OIDC but passes it through with AWS', async () => {
    rejects(
      { account, webIdentityToken: provider, workloadIdentityImpersonationPath: ['arn:aws:iam::1:role/x'] },
      "workloadIdentityImpersonationPath only works with provider 'AWS'",
    );
    const options = await snowflakeConnectionOptions({
      account,
      provider: 'AWS',
      workloadIdentityImpersonationPath: ['arn:aws:iam::1:role/x'],
    });
    expect(options.workloadIdentityImpersonationPath).toEqual(['arn:aws:iam::1:role/x']);
  });

  it('refuses a snowflake option that is not the snowflake-sdk module', () => {
    rejects({ account, webIdentityToken: provider, snowflake: {} }, 'snowflake must be the snowflake-sdk module');
  });

  it('checks the host against the WORKLOAD_IDENTITY allow-list', () => {
    rejects({ account, webIdentityToken: provider, host: 'snowflake.evil.example' }, 'only logs in to Snowflake hosts');
  });

  it('refuses a username that is not a string', () => {
    rejects({ account, webIdentityToken: provider, username: 42 }, 'username must be a string');
  });
});

describe('snowflakeConnectionOptions', () => {
  it('OIDC: WORKLOAD_IDENTITY, provider OIDC, the JWT as token, every other snowflake-sdk option as it was', async () => {
    const jwt = await snowflakeJwt();
    const options = await snowflakeConnectionOptions({
      account,
      username: 'KEYLESS_SVC',
      warehouse: 'WH',
      role: 'R',
      clientSessionKeepAlive: true,
      webIdentityToken: tokensInTurn(jwt).provider,
      minTokenValiditySeconds: 30,
      logger: console,
    });
    expect(options).toEqual({
      account,
      username: 'KEYLESS_SVC',
      warehouse: 'WH',
      role: 'R',
      clientSessionKeepAlive: true,
      authenticator: 'WORKLOAD_IDENTITY',
      workloadIdentityProvider: 'OIDC',
      token: jwt,
    });
  });

  it('builds a new object each time (snowflake-sdk mutates the options it is given)', async () => {
    const resolve = createConnectionOptionsResolver({
      account,
      webIdentityToken: tokensInTurn(await snowflakeJwt()).provider,
    });
    const a = await resolve();
    const b = await resolve();
    expect(a.connectionOptions).not.toBe(b.connectionOptions);
    expect(a.connectionOptions).toEqual(b.connectionOptions);
  });

  it('reports the presented claims (not the token) in the login context', async () => {
    const resolve = createConnectionOptionsResolver({
      account,
      webIdentityToken: tokensInTurn(await snowflakeJwt()).provider,
    });
    const { context } = await resolve();
    expect(context.presented).toMatchObject({
      iss: TEST_ISSUER,
      sub: TEST_ROLE_ARN,
      aud: 'snowflakecomputing.com',
      alg: 'ES384',
    });
    expect(context.host).toBe('myorg-myacct.snowflakecomputing.com');
  });

  it('forces a refresh when the provider hands out a token with less than minTokenValiditySeconds left', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = await snowflakeJwt({ iat: now - 250, lifetime: 300 }); // 50 s left
    const fresh = await snowflakeJwt();
    const { provider, calls } = tokensInTurn(old, fresh);
    const options = await snowflakeConnectionOptions({ account, webIdentityToken: provider });
    expect(calls).toEqual([{ forceRefresh: undefined }, { forceRefresh: true }]);
    expect(options.token).toBe(fresh);

    const { provider: relaxed, calls: relaxedCalls } = tokensInTurn(old, fresh);
    expect(
      (await snowflakeConnectionOptions({ account, webIdentityToken: relaxed, minTokenValiditySeconds: 30 })).token,
    ).toBe(old);
    expect(relaxedCalls).toHaveLength(1);
  });

  it('uses a token still under the margin after a refresh, with a warning', async () => {
    const now = Math.floor(Date.now() / 1000);
    const short = await snowflakeJwt({ iat: now, lifetime: 40 });
    const { lines, logger } = recordingLogger();
    const options = await snowflakeConnectionOptions({
      account,
      webIdentityToken: tokensInTurn(short).provider,
      logger,
    });
    expect(options.token).toBe(short);
    expect(lines.some((line) => line.startsWith('warn') && line.includes('under minTokenValiditySeconds (60)'))).toBe(
      true,
    );
  });

  it('wraps a failing user provider in a KeylessError and passes an abort through', async () => {
    const failing: WebIdentityTokenProvider = async () => {
      throw new Error('boom');
    };
    await expect(snowflakeConnectionOptions({ account, webIdentityToken: failing })).rejects.toMatchObject({
      code: 'EXCHANGE_FAILED',
      provider: 'aws',
      message: 'The webIdentityToken provider failed: boom',
    });
    const controller = new AbortController();
    const waiting: WebIdentityTokenProvider = (options) =>
      new Promise((_resolve, reject) =>
        options?.signal?.addEventListener('abort', () => reject(options.signal?.reason)),
      );
    const pending = snowflakeConnectionOptions({ account, webIdentityToken: waiting }, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses a provider answer without token and expiresAt', async () => {
    const bad = (async () => ({ token: '' })) as unknown as WebIdentityTokenProvider;
    await expect(snowflakeConnectionOptions({ account, webIdentityToken: bad })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });

  it('AWS: no token, and a warning when AWS_REGION is unset (snowflake-sdk ignores AWS_DEFAULT_REGION)', async () => {
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', 'eu-west-1');
    const { lines, logger } = recordingLogger();
    const options = await snowflakeConnectionOptions({ account, provider: 'AWS', logger });
    expect(options).toEqual({
      account,
      authenticator: 'WORKLOAD_IDENTITY',
      workloadIdentityProvider: 'AWS',
      workloadIdentityAwsUseOutboundToken: true,
    });
    expect(lines.some((line) => line.startsWith('warn') && line.includes('AWS_REGION'))).toBe(true);
  });

  it('debug lines carry the claims, never the token', async () => {
    const jwt = await snowflakeJwt();
    const { lines, logger } = recordingLogger();
    await snowflakeConnectionOptions({ account, webIdentityToken: tokensInTurn(jwt).provider, logger });
    expect(lines.join('\n')).toContain(`sub=${TEST_ROLE_ARN}`);
    expect(lines.join('\n')).not.toContain(jwt.split('.')[1]!);
  });
});
