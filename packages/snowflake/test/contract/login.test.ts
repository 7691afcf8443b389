import { isKeylessError, type KeylessError } from '@keyless/core';
import nock from 'nock';
import snowflake from 'snowflake-sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  parseForm,
  stsErrorXml,
  stsSuccessXml,
  TEST_CREDENTIALS,
  TEST_ISSUER,
  TEST_ROLE_ARN,
} from '../../../../test/support/aws.js';
import { connectSnowflake, snowflakeConnectionOptions } from '../../src/index.js';
import {
  type FakeSnowflake,
  type FakeSnowflakeOptions,
  loginFailure,
  SERVICE_USER,
  startFakeSnowflake,
  TEST_ACCOUNT,
  TEST_HOST,
} from '../support/fake-snowflake.js';
import { destroy, query, snowflakeJwt, tokensInTurn } from '../support/helpers.js';

const sdkLog: string[] = [];
beforeAll(() => {
  // snowflake-sdk logs at INFO to the console and ./snowflake.log unless told otherwise.
  snowflake.configure({
    logLevel: 'DEBUG',
    customLogger: {
      error: (m) => sdkLog.push(m),
      warn: (m) => sdkLog.push(m),
      info: (m) => sdkLog.push(m),
      debug: (m) => sdkLog.push(m),
      trace: (m) => sdkLog.push(m),
    },
  });
});

let server: FakeSnowflake | undefined;
async function fakeSnowflake(options?: FakeSnowflakeOptions): Promise<FakeSnowflake> {
  server = await startFakeSnowflake(options);
  return server;
}
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Options every test shares: the fake server, the host the allow-list checks, no SDK login retries. */
function target(fake: FakeSnowflake) {
  return { account: TEST_ACCOUNT, host: TEST_HOST, accessUrl: fake.origin, sfRetryMaxLoginRetries: 0 };
}

async function failure(promise: Promise<unknown>): Promise<KeylessError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isKeylessError(error), `expected a KeylessError, got ${String(error)}`).toBe(true);
  return error as KeylessError;
}

describe('login-request, provider OIDC (keyless mints the JWT)', () => {
  it('sends the AWS JWT as TOKEN with AUTHENTICATOR WORKLOAD_IDENTITY, then runs SELECT CURRENT_USER()', async () => {
    const fake = await fakeSnowflake();
    const jwt = await snowflakeJwt();
    const connection = await connectSnowflake({
      ...target(fake),
      username: SERVICE_USER,
      warehouse: 'COMPUTE_WH',
      role: 'KEYLESS_ROLE',
      webIdentityToken: tokensInTurn(jwt).provider,
    });
    expect(connection.isUp()).toBe(true);

    const [login, ...rest] = fake.requests;
    expect(login!.method).toBe('POST');
    expect(login!.path).toBe('/session/v1/login-request');
    expect(login!.query.get('warehouse')).toBe('COMPUTE_WH');
    expect(login!.query.get('roleName')).toBe('KEYLESS_ROLE');
    expect(login!.headers['content-type']).toMatch(/^application\/json/);
    const data = fake.logins()[0]!;
    expect(data).toMatchObject({
      ACCOUNT_NAME: TEST_ACCOUNT,
      LOGIN_NAME: SERVICE_USER,
      AUTHENTICATOR: 'WORKLOAD_IDENTITY',
      PROVIDER: 'OIDC',
      TOKEN: jwt,
      CLIENT_APP_ID: 'JavaScript',
    });
    expect(data).not.toHaveProperty('PASSWORD');
    expect(rest.every((r) => r.path !== '/session/v1/login-request')).toBe(true);

    const rows = await query(connection, 'SELECT CURRENT_USER()');
    expect(rows).toEqual([{ 'CURRENT_USER()': SERVICE_USER }]);
    const queryRequest = fake.requests.find((r) => r.path === '/queries/v1/query-request')!;
    expect(queryRequest.method).toBe('POST');
    expect(queryRequest.headers.authorization).toBe(`Snowflake Token="${fake.issued[0]}"`);
    expect(queryRequest.body).toMatchObject({ sqlText: 'SELECT CURRENT_USER()' });
    await destroy(connection);
  });

  it('leaves LOGIN_NAME out when no username is given (Snowflake finds the user by its identity)', async () => {
    const fake = await fakeSnowflake();
    const connection = await connectSnowflake({
      ...target(fake),
      webIdentityToken: tokensInTurn(await snowflakeJwt()).provider,
    });
    expect(fake.logins()[0]).not.toHaveProperty('LOGIN_NAME');
    expect(fake.logins()[0]!.ACCOUNT_NAME).toBe(TEST_ACCOUNT);
    await destroy(connection);
  });

  describe('with the aws option (keyless calls STS)', () => {
    beforeEach(() => {
      vi.stubEnv('AWS_REGION', '');
      vi.stubEnv('AWS_DEFAULT_REGION', '');
    });
    afterEach(() => {
      nock.cleanAll();
    });

    function mockSts(answer: () => Promise<[number, string]>) {
      const forms: Record<string, string>[] = [];
      const scope = nock('https://sts.eu-west-1.amazonaws.com')
        .post('/')
        .reply(async (req: Request) => {
          forms.push(parseForm(await req.text()));
          const [status, xml] = await answer();
          return [status, xml, { 'content-type': 'text/xml' }];
        });
      return { scope, forms };
    }

    it('asks STS for audience snowflakecomputing.com signed ES384, and sends that JWT', async () => {
      const fake = await fakeSnowflake();
      const jwt = await snowflakeJwt();
      const { scope, forms } = mockSts(async () => [200, stsSuccessXml(jwt, new Date(Date.now() + 300_000))]);
      const connection = await connectSnowflake({
        ...target(fake),
        aws: { region: 'eu-west-1', credentials: TEST_CREDENTIALS, retry: false },
      });
      scope.done();
      expect(forms[0]).toEqual({
        Action: 'GetWebIdentityToken',
        Version: '2011-06-15',
        'Audience.member.1': 'snowflakecomputing.com',
        SigningAlgorithm: 'ES384',
        DurationSeconds: '300',
      });
      expect(fake.logins()[0]!.TOKEN).toBe(jwt);
      await destroy(connection);
    });

    it('lets aws.audience and aws.signingAlgorithm override the defaults (OIDC_AUDIENCE_LIST users, RS256)', async () => {
      const jwt = await snowflakeJwt({ audience: 'my-snowflake', alg: 'RS256' });
      const { scope, forms } = mockSts(async () => [200, stsSuccessXml(jwt, new Date(Date.now() + 300_000))]);
      const options = await snowflakeConnectionOptions({
        account: TEST_ACCOUNT,
        aws: {
          region: 'eu-west-1',
          credentials: TEST_CREDENTIALS,
          audience: 'my-snowflake',
          signingAlgorithm: 'RS256',
          durationSeconds: 900,
        },
      });
      scope.done();
      expect(forms[0]).toMatchObject({
        'Audience.member.1': 'my-snowflake',
        SigningAlgorithm: 'RS256',
        DurationSeconds: '900',
      });
      expect(options.token).toBe(jwt);
    });

    it('reports an STS failure as the aws KeylessError, before any login', async () => {
      const fake = await fakeSnowflake();
      const { scope } = mockSts(async () => [
        403,
        stsErrorXml('AccessDenied', 'not authorized to perform sts:GetWebIdentityToken'),
      ]);
      const error = await failure(
        connectSnowflake({
          ...target(fake),
          aws: { region: 'eu-west-1', credentials: TEST_CREDENTIALS, retry: false },
        }),
      );
      scope.done();
      expect(error.code).toBe('ACCESS_DENIED');
      expect(error.provider).toBe('aws');
      expect(error.hint).toContain('sts:IdentityTokenAudience = snowflakecomputing.com');
      expect(error.hint).toContain('sts:SigningAlgorithm = ES384');
      expect(fake.logins()).toHaveLength(0);
    });
  });
});

describe('login-request, provider AWS (snowflake-sdk mints the JWT)', () => {
  beforeEach(() => {
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', TEST_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', TEST_CREDENTIALS.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_PROFILE', '');
  });
  afterEach(() => {
    nock.cleanAll();
  });

  it('options carry workloadIdentityProvider AWS and workloadIdentityAwsUseOutboundToken, and no token', async () => {
    const options = await snowflakeConnectionOptions({ account: TEST_ACCOUNT, provider: 'AWS', warehouse: 'WH' });
    expect(options).toEqual({
      account: TEST_ACCOUNT,
      warehouse: 'WH',
      authenticator: 'WORKLOAD_IDENTITY',
      workloadIdentityProvider: 'AWS',
      workloadIdentityAwsUseOutboundToken: true,
    });
    expect(options).not.toHaveProperty('token');
  });

  it('snowflake-sdk calls GetWebIdentityToken (snowflakecomputing.com, ES384) and sends PROVIDER AWS', async () => {
    const fake = await fakeSnowflake();
    const jwt = await snowflakeJwt();
    const forms: Record<string, string>[] = [];
    const scope = nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .reply(async (req: Request) => {
        forms.push(parseForm(await req.text()));
        return [200, stsSuccessXml(jwt, new Date(Date.now() + 300_000)), { 'content-type': 'text/xml' }];
      });
    const connection = await connectSnowflake({ ...target(fake), provider: 'AWS' });
    scope.done();
    // No DurationSeconds: snowflake-sdk takes STS's default lifetime.
    expect(forms[0]).toEqual({
      Action: 'GetWebIdentityToken',
      Version: '2011-06-15',
      'Audience.member.1': 'snowflakecomputing.com',
      SigningAlgorithm: 'ES384',
    });
    expect(fake.logins()[0]).toMatchObject({ AUTHENTICATOR: 'WORKLOAD_IDENTITY', PROVIDER: 'AWS', TOKEN: jwt });
    await destroy(connection);
  });

  it('maps the AWS error snowflake-sdk surfaces (federation disabled) with the aws provider', async () => {
    const fake = await fakeSnowflake();
    const scope = nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .reply(403, stsErrorXml('OutboundWebIdentityFederationDisabledException', 'disabled'), {
        'content-type': 'text/xml',
      });
    const error = await failure(connectSnowflake({ ...target(fake), provider: 'AWS' }));
    scope.done();
    expect(error.code).toBe('FEDERATION_DISABLED');
    expect(error.provider).toBe('aws');
    expect(fake.logins()).toHaveLength(0);
  });
});

describe('login failures (HTTP 200, success: false) map to KeylessError codes', () => {
  async function refusedWith(code: string, message: string, extra: Record<string, unknown> = {}) {
    const fake = await fakeSnowflake({ login: () => loginFailure(code, message) });
    const error = await failure(
      connectSnowflake({
        ...target(fake),
        username: SERVICE_USER,
        webIdentityToken: tokensInTurn(await snowflakeJwt()).provider,
        ...extra,
      }),
    );
    expect(fake.logins()).toHaveLength(1);
    expect(error.provider).toBe('snowflake');
    expect(error.details.targetCode).toBe(code);
    return error;
  }

  it('390144 JWT token is invalid → TOKEN_REJECTED naming the user property to set, with the presented claims', async () => {
    const error = await refusedWith('390144', 'JWT token is invalid.');
    expect(error.code).toBe('TOKEN_REJECTED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('390144');
    expect(error.message).toContain('JWT token is invalid.');
    expect(error.hint).toContain(
      `WORKLOAD_IDENTITY = (TYPE = OIDC ISSUER = '${TEST_ISSUER}' SUBJECT = '${TEST_ROLE_ARN}'`,
    );
    expect(error.hint).toContain(`LOGIN_NAME is ${SERVICE_USER}`);
    expect(error.details.presented).toEqual({
      iss: TEST_ISSUER,
      sub: TEST_ROLE_ARN,
      aud: 'snowflakecomputing.com',
      alg: 'ES384',
    });
    expect(error.details.nextAction).toBe('RETRY_LOGIN');
  });

  it('390100 (no user matches) → TOKEN_REJECTED', async () => {
    const error = await refusedWith('390100', 'Incorrect username or password was specified.');
    expect(error.code).toBe('TOKEN_REJECTED');
    expect(error.hint).toContain('SHOW USER WORKLOAD IDENTITY AUTHENTICATION METHODS');
  });

  it('394301 expired → TOKEN_REJECTED pointing at the clock and minTokenValiditySeconds', async () => {
    const error = await refusedWith('394301', 'JWT token has expired.');
    expect(error.code).toBe('TOKEN_REJECTED');
    expect(error.hint).toMatch(/clock.*minTokenValiditySeconds/);
  });

  it('394305 algorithm → TOKEN_REJECTED pointing at aws.signingAlgorithm', async () => {
    const error = await refusedWith('394305', 'JWT token has an invalid algorithm.');
    expect(error.code).toBe('TOKEN_REJECTED');
    expect(error.hint).toContain("aws.signingAlgorithm to 'RS256'");
  });

  it('a non-default audience is quoted as the OIDC_AUDIENCE_LIST to set', async () => {
    const fake = await fakeSnowflake({ login: () => loginFailure('390144', 'JWT token is invalid.') });
    const error = await failure(
      connectSnowflake({
        ...target(fake),
        webIdentityToken: tokensInTurn(await snowflakeJwt({ audience: 'my-snowflake' })).provider,
      }),
    );
    expect(error.hint).toContain("OIDC_AUDIENCE_LIST = ('my-snowflake')");
  });

  it('390139 authenticator not accepted → INVALID_CONFIG naming the authentication policy', async () => {
    const error = await refusedWith(
      '390139',
      'The specified authenticator is not accepted by your Snowflake account configuration.  Please contact your local system administrator to get the correct URL to use.',
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.hint).toContain('AUTHENTICATION_METHODS');
  });

  it('390189 role not granted → INVALID_CONFIG naming the role option', async () => {
    const error = await refusedWith(
      '390189',
      "Role 'ANALYST' specified in the connect string is not granted to this user. Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC.",
      { role: 'ANALYST' },
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.hint).toContain('The role option (ANALYST)');
  });

  it('390201 warehouse not authorized → INVALID_CONFIG', async () => {
    const error = await refusedWith('390201', 'The requested warehouse does not exist or not authorized.', {
      warehouse: 'NOPE',
    });
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.hint).toContain('warehouse (NOPE)');
  });

  it('an unknown code whose message says WIF is not set up → INVALID_CONFIG (matched on the text)', async () => {
    const error = await refusedWith('390999', 'Workload identity federation is not configured for this user.');
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.hint).toContain('TYPE = OIDC');
  });

  it('a network-policy refusal → ACCESS_DENIED', async () => {
    const error = await refusedWith(
      '390422',
      'Incoming request with IP/Token 203.0.113.9 is not allowed to access Snowflake. Contact your local security administrator.',
    );
    expect(error.code).toBe('ACCESS_DENIED');
    expect(error.hint).toContain('NETWORK_POLICY');
  });

  it('quotes the login-failure id for SYSTEM$GET_LOGIN_FAILURE_DETAILS when Snowflake gives one', async () => {
    const error = await refusedWith('390144', 'JWT token is invalid. [eb55b777-50a4-4db5-b231-9ee457fb3981]');
    expect(error.hint).toContain("SYSTEM$GET_LOGIN_FAILURE_DETAILS('eb55b777-50a4-4db5-b231-9ee457fb3981')");
  });

  it('anything else → EXCHANGE_FAILED, not retryable', async () => {
    const error = await refusedWith('390400', 'Something went wrong.');
    expect(error.code).toBe('EXCHANGE_FAILED');
    expect(error.retryable).toBe(false);
  });

  it('never copies the login answer data wholesale (only named fields)', async () => {
    const fake = await fakeSnowflake({
      login: () =>
        loginFailure('390144', 'JWT token is invalid.', {
          nextAction: 'RETRY_LOGIN',
          authnMethod: 'WORKLOAD_IDENTITY',
          inFlightCtx: 'opaque-server-context',
        }),
    });
    const error = await failure(
      connectSnowflake({ ...target(fake), webIdentityToken: tokensInTurn(await snowflakeJwt()).provider }),
    );
    expect(error.details.authnMethod).toBe('WORKLOAD_IDENTITY');
    expect(JSON.stringify(error)).not.toContain('opaque-server-context');
  });
});

describe('HTTP and network failures', () => {
  async function answeredWith(answer: FakeSnowflakeOptions['login']) {
    const fake = await fakeSnowflake({ login: answer });
    const error = await failure(
      connectSnowflake({ ...target(fake), webIdentityToken: tokensInTurn(await snowflakeJwt()).provider }),
    );
    return { error, fake };
  }

  it('HTTP 503 → retryable EXCHANGE_FAILED', async () => {
    const { error } = await answeredWith(() => ({ status: 503, body: { message: 'unavailable' } }));
    expect(error.code).toBe('EXCHANGE_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.details.status).toBe(503);
  });

  it('HTTP 429 → THROTTLED with Retry-After', async () => {
    const { error } = await answeredWith(() => ({ status: 429, body: {}, headers: { 'retry-after': '7' } }));
    expect(error.code).toBe('THROTTLED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(7000);
  });

  it('HTTP 403 (no such account at this host) → INVALID_CONFIG naming account and host', async () => {
    const { error } = await answeredWith(() => ({ status: 403, body: {} }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.retryable).toBe(false);
    expect(error.hint).toContain(`"${TEST_ACCOUNT}"`);
  });

  it('a reset connection → retryable NETWORK', async () => {
    const { error } = await answeredWith(() => 'reset');
    expect(error.code).toBe('NETWORK');
    expect(error.retryable).toBe(true);
  });

  it('snowflake-sdk retries 5xx itself (sfRetryMaxLoginRetries) with the same token before keyless sees it', async () => {
    const jwt = await snowflakeJwt();
    const fake = await fakeSnowflake({
      login: (_data, index) => (index === 0 ? { status: 503, body: {} } : undefined),
    });
    // retryTimeout 0 = no overall limit; the SDK's first back-off is about a second.
    const connection = await connectSnowflake({
      ...target(fake),
      sfRetryMaxLoginRetries: 1,
      webIdentityToken: tokensInTurn(jwt).provider,
    });
    expect(fake.logins().map((l) => l.TOKEN)).toEqual([jwt, jwt]);
    await destroy(connection);
  });
});

describe('connectSnowflake', () => {
  it('rejects a refused login, where snowflake-sdk connectAsync() resolves', async () => {
    const fake = await fakeSnowflake({ login: () => loginFailure('390144', 'JWT token is invalid.') });
    const jwt = await snowflakeJwt();
    // The trap keyless avoids: connectAsync resolves with a connection that is not up.
    const raw = snowflake.createConnection(
      await snowflakeConnectionOptions({ ...target(fake), webIdentityToken: tokensInTurn(jwt).provider }),
    );
    const resolved = await raw.connectAsync();
    expect(resolved.isUp()).toBe(false);

    const error = await failure(connectSnowflake({ ...target(fake), webIdentityToken: tokensInTurn(jwt).provider }));
    expect(error.code).toBe('TOKEN_REJECTED');
  });

  it('uses the snowflake module it is given', async () => {
    const fake = await fakeSnowflake();
    const createConnection = vi.fn(snowflake.createConnection);
    const connection = await connectSnowflake({
      ...target(fake),
      snowflake: { ...snowflake, createConnection },
      webIdentityToken: tokensInTurn(await snowflakeJwt()).provider,
    });
    expect(createConnection).toHaveBeenCalledTimes(1);
    expect(createConnection.mock.calls[0]![0]).not.toHaveProperty('snowflake');
    expect(createConnection.mock.calls[0]![0]).not.toHaveProperty('webIdentityToken');
    await destroy(connection);
  });

  it('maps an option snowflake-sdk itself refuses to INVALID_CONFIG', async () => {
    const fake = await fakeSnowflake();
    const error = await failure(
      connectSnowflake({
        ...target(fake),
        warehouse: 42 as unknown as string,
        webIdentityToken: tokensInTurn(await snowflakeJwt()).provider,
      }),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain('snowflake-sdk refused the connection options');
    expect(fake.requests).toHaveLength(0);
  });

  it('an aborted signal rejects with its reason, without a login', async () => {
    const fake = await fakeSnowflake();
    const controller = new AbortController();
    controller.abort();
    const error = await connectSnowflake(
      { ...target(fake), webIdentityToken: tokensInTurn(await snowflakeJwt()).provider },
      { signal: controller.signal },
    ).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(fake.requests).toHaveLength(0);
  });

  it('an abort during the login rejects at once and closes the session when it opens', async () => {
    const controller = new AbortController();
    const fake = await fakeSnowflake({
      login: () => {
        controller.abort();
        return undefined;
      },
    });
    const error = await connectSnowflake(
      { ...target(fake), webIdentityToken: tokensInTurn(await snowflakeJwt()).provider },
      { signal: controller.signal },
    ).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    await vi.waitFor(() => expect(fake.requests.some((r) => r.path === '/session')).toBe(true));
  });

  it('refuses a host outside the allow-list before minting anything', async () => {
    const fake = await fakeSnowflake();
    const { provider, calls } = tokensInTurn(await snowflakeJwt());
    const error = await failure(
      connectSnowflake({ account: TEST_ACCOUNT, accessUrl: fake.origin, webIdentityToken: provider }),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain('"127.0.0.1"');
    expect(error.hint).toContain('SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES');
    expect(calls).toHaveLength(0);
    expect(fake.requests).toHaveLength(0);
  });

  it('accepts a host listed in SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES, as snowflake-sdk does', async () => {
    vi.stubEnv('SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES', 'example.internal, 127.0.0.1');
    const fake = await fakeSnowflake();
    const connection = await connectSnowflake({
      account: TEST_ACCOUNT,
      accessUrl: fake.origin,
      webIdentityToken: tokensInTurn(await snowflakeJwt()).provider,
    });
    expect(fake.logins()).toHaveLength(1);
    await destroy(connection);
  });
});

afterAll(() => {
  expect(sdkLog.length).toBeGreaterThan(0);
});
