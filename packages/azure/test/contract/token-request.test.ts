import { isKeylessError, type KeylessError } from '@keyless/core';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TEST_CREDENTIALS, TEST_ISSUER, TEST_ROLE_ARN } from '../../../../test/support/aws.js';
import { faults, withLoopbackServer } from '../../../../test/support/loopback.js';
import { AwsFederatedCredential, type AwsFederatedCredentialOptions } from '../../src/index.js';
import { ENTRA_ERRORS } from './entra-error-cases.js';
import {
  accessToken,
  CLIENT_ID,
  countingProvider,
  entraError,
  entraSuccess,
  LOGIN,
  mockEntra,
  mockSts,
  STORAGE_SCOPE,
  TENANT_ID,
} from './entra-mock.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

beforeEach(() => {
  for (const name of [
    'AZURE_TENANT_ID',
    'AZURE_CLIENT_ID',
    'AZURE_AUTHORITY_HOST',
    'AZURE_IDENTITY_DISABLE_MULTITENANTAUTH',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
  ]) {
    vi.stubEnv(name, '');
  }
});
afterEach(() => {
  nock.cleanAll();
  vi.useRealTimers();
});

async function credentialWith(options: Partial<AwsFederatedCredentialOptions> = {}) {
  const provider = await countingProvider();
  const credential = new AwsFederatedCredential({
    tenantId: TENANT_ID,
    clientId: CLIENT_ID,
    webIdentityToken: provider,
    retry: false,
    ...options,
  });
  return { credential, provider };
}

async function rejection(promise: Promise<unknown>): Promise<KeylessError> {
  try {
    await promise;
  } catch (error) {
    if (isKeylessError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('the token request', () => {
  it('POSTs the exact client-credentials form with the AWS JWT as client assertion', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-21T12:00:00Z') });
    const token = accessToken();
    const { scope, requests } = mockEntra([entraSuccess(token)]);
    const { credential, provider } = await credentialWith();

    const result = await credential.getToken(STORAGE_SCOPE);

    scope.done();
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.url).toBe(`https://login.microsoftonline.com/${TENANT_ID}/oauth2/v2.0/token`);
    expect(request!.method).toBe('POST');
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.headers.accept).toBe('application/json');
    expect(request!.headers['client-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.form).toEqual({
      client_id: CLIENT_ID,
      scope: STORAGE_SCOPE,
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: provider.token,
    });
    expect(request!.fields).toHaveLength(5);
    expect(result).toEqual({
      token,
      expiresOnTimestamp: Date.parse('2026-11-21T12:00:00Z') + 3599_000,
      refreshAfterTimestamp: Date.parse('2026-11-21T12:00:00Z') + 3599_000 - 300_000,
      tokenType: 'Bearer',
    });
  });

  it('sends claims when a CAE challenge gives them, merged with the cp1 capability when CAE is enabled', async () => {
    const challenge = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}';
    const { scope, requests } = mockEntra([
      entraSuccess(accessToken()),
      entraSuccess(accessToken()),
      entraSuccess(accessToken()),
    ]);
    const { credential } = await credentialWith();

    await credential.getToken(STORAGE_SCOPE, { claims: challenge });
    await credential.getToken(STORAGE_SCOPE, { enableCae: true });
    await credential.getToken(STORAGE_SCOPE, { enableCae: true, claims: challenge });

    scope.done();
    expect(requests[0]!.form.claims).toBe(challenge);
    expect(JSON.parse(requests[1]!.form.claims!)).toEqual({ access_token: { xms_cc: { values: ['cp1'] } } });
    expect(JSON.parse(requests[2]!.form.claims!)).toEqual({
      access_token: { nbf: { essential: true, value: '1700000000' }, xms_cc: { values: ['cp1'] } },
    });
    for (const request of requests) expect(request.fields.filter((f) => f === 'claims')).toHaveLength(1);
  });

  it('joins several scopes with spaces (de-duplicated, sorted) and accepts a scope string', async () => {
    const { scope, requests } = mockEntra([entraSuccess(accessToken())]);
    const { credential } = await credentialWith();
    await credential.getToken([
      'https://vault.azure.net/.default',
      'https://a.example/.default',
      'https://a.example/.default',
    ]);
    scope.done();
    expect(requests[0]!.form.scope).toBe('https://a.example/.default https://vault.azure.net/.default');
  });

  it('takes the lifetime from expires_in (numbers or numeric strings), counted from when the request left', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-21T12:00:00Z') });
    const scope = nock(LOGIN)
      .post(`/${TENANT_ID}/oauth2/v2.0/token`)
      .reply(() => {
        vi.setSystemTime(Date.parse('2026-11-21T12:00:05Z')); // the answer takes 5 s
        const [status, body, headers] = entraSuccess(accessToken(), { expires_in: '599', refresh_in: 300 });
        return [status, JSON.stringify(body), headers ?? {}];
      });
    const { credential } = await credentialWith();
    const result = await credential.getToken(STORAGE_SCOPE);
    scope.done();
    expect(result.expiresOnTimestamp).toBe(Date.parse('2026-11-21T12:00:00Z') + 599_000);
    // Entra's refresh_in (300 s from when the request left) comes before keyless's own window
    // (min(300 s, half the remaining lifetime) before expiry), so it wins.
    expect(result.refreshAfterTimestamp).toBe(Date.parse('2026-11-21T12:00:00Z') + 300_000);
  });

  it('uses refreshBeforeExpirySeconds for refreshAfterTimestamp', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-21T12:00:00Z') });
    const { scope } = mockEntra([entraSuccess(accessToken())]);
    const { credential } = await credentialWith({ refreshBeforeExpirySeconds: 900 });
    const result = await credential.getToken(STORAGE_SCOPE);
    scope.done();
    expect(result.refreshAfterTimestamp).toBe(result.expiresOnTimestamp - 900_000);
  });

  it('posts to the tenant getToken asks for when additionallyAllowedTenants allows it', async () => {
    const other = '8eaef023-2b34-4da1-9baa-8bc8c9d6a490';
    const { scope, requests } = mockEntra([entraSuccess(accessToken())], { tenantId: other });
    const { credential } = await credentialWith({ additionallyAllowedTenants: [other.toUpperCase()] });
    await credential.getToken(STORAGE_SCOPE, { tenantId: other });
    scope.done();
    expect(requests[0]!.url).toBe(`${LOGIN}/${other}/oauth2/v2.0/token`);
  });

  it('posts to a custom https authority host, keeping its path', async () => {
    const { scope, requests } = mockEntra([entraSuccess(accessToken())], {
      origin: 'https://login.proxy.example',
      path: `/entra/${TENANT_ID}/oauth2/v2.0/token`,
    });
    const { credential } = await credentialWith({ authorityHost: 'https://login.proxy.example/entra/' });
    await credential.getToken(STORAGE_SCOPE);
    scope.done();
    expect(requests[0]!.url).toBe(`https://login.proxy.example/entra/${TENANT_ID}/oauth2/v2.0/token`);
  });

  it('posts to an http://127.0.0.1 authority host (the emulator) with no discovery requests', async () => {
    const token = accessToken();
    const seen: string[] = [];
    await withLoopbackServer(
      (req, res) => {
        seen.push(`${req.method} ${req.url}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(entraSuccess(token)[1]));
      },
      async (origin) => {
        const { credential } = await credentialWith({ authorityHost: origin });
        expect((await credential.getToken(STORAGE_SCOPE)).token).toBe(token);
      },
    );
    expect(seen).toEqual([`POST /${TENANT_ID}/oauth2/v2.0/token`]);
  });

  it('takes tenantId, clientId and authorityHost from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_AUTHORITY_HOST', async () => {
    vi.stubEnv('AZURE_TENANT_ID', 'contoso.onmicrosoft.com');
    vi.stubEnv('AZURE_CLIENT_ID', 'env-client-id');
    vi.stubEnv('AZURE_AUTHORITY_HOST', 'https://login.microsoftonline.us');
    const { scope, requests } = mockEntra([entraSuccess(accessToken())], {
      origin: 'https://login.microsoftonline.us',
      tenantId: 'contoso.onmicrosoft.com',
    });
    const provider = await countingProvider();
    const credential = new AwsFederatedCredential({ webIdentityToken: provider });
    expect(credential).toMatchObject({
      tenantId: 'contoso.onmicrosoft.com',
      clientId: 'env-client-id',
      authorityHost: 'https://login.microsoftonline.us',
    });
    await credential.getToken(STORAGE_SCOPE);
    scope.done();
    expect(requests[0]!.form.client_id).toBe('env-client-id');
  });

  it('prefers options over the environment', async () => {
    vi.stubEnv('AZURE_TENANT_ID', 'env-tenant');
    vi.stubEnv('AZURE_CLIENT_ID', 'env-client');
    vi.stubEnv('AZURE_AUTHORITY_HOST', 'https://login.microsoftonline.us');
    const { scope, requests } = mockEntra([entraSuccess(accessToken())]);
    const { credential } = await credentialWith({ authorityHost: LOGIN });
    await credential.getToken(STORAGE_SCOPE);
    scope.done();
    expect(requests[0]!.form.client_id).toBe(CLIENT_ID);
  });
});

describe('the AWS JWT keyless asks STS for', () => {
  it.each([
    [undefined, LOGIN, 'api://AzureADTokenExchange'],
    ['https://login.microsoftonline.com', LOGIN, 'api://AzureADTokenExchange'],
    ['https://login.microsoftonline.us', 'https://login.microsoftonline.us', 'api://AzureADTokenExchangeUSGov'],
    ['https://login.chinacloudapi.cn', 'https://login.chinacloudapi.cn', 'api://AzureADTokenExchangeChina'],
    [
      'https://login.partner.microsoftonline.cn',
      'https://login.partner.microsoftonline.cn',
      'api://AzureADTokenExchangeChina',
    ],
  ])('authorityHost %s (posts to %s) → audience %s', async (authorityHost, origin, audience) => {
    const sts = mockSts(1, { audience });
    const entra = mockEntra([entraSuccess(accessToken())], { origin });
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      ...(authorityHost ? { authorityHost } : {}),
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS },
    });
    await credential.getToken(STORAGE_SCOPE);
    sts.scope.done();
    entra.scope.done();
    expect(sts.forms[0]).toEqual({
      Action: 'GetWebIdentityToken',
      Version: '2011-06-15',
      'Audience.member.1': audience,
      SigningAlgorithm: 'RS256',
      DurationSeconds: '300',
    });
    expect(entra.requests[0]!.form.client_assertion).toBe(sts.tokens[0]);
  });

  it('honours aws.audience, aws.signingAlgorithm and aws.durationSeconds', async () => {
    const sts = mockSts(1, { audience: 'api://custom' });
    const entra = mockEntra([entraSuccess(accessToken())]);
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      aws: {
        region: 'us-east-1',
        credentials: TEST_CREDENTIALS,
        audience: 'api://custom',
        signingAlgorithm: 'ES384',
        durationSeconds: 900,
      },
    });
    await credential.getToken(STORAGE_SCOPE);
    sts.scope.done();
    entra.scope.done();
    expect(sts.forms[0]).toMatchObject({
      'Audience.member.1': 'api://custom',
      SigningAlgorithm: 'ES384',
      DurationSeconds: '900',
    });
  });
});

describe('Entra errors', () => {
  it.each(ENTRA_ERRORS)('$name → $code', async ({ answer, code, retryable, message, hint }) => {
    const { scope } = mockEntra([answer]);
    const { credential } = await credentialWith();
    const error = await rejection(credential.getToken(STORAGE_SCOPE));
    scope.done();
    expect(error.code).toBe(code);
    expect(error.provider).toBe('azure');
    expect(error.retryable).toBe(retryable);
    expect(error.message).toMatch(message);
    expect(error.hint ?? '').toMatch(hint);
    expect(error.message).not.toMatch(/Trace ID|Correlation ID|Timestamp:/);
    expect(error.details.status).toBe(answer[0]);
    const body = answer[1] as { error_codes?: number[]; correlation_id?: string; trace_id?: string };
    if (body?.error_codes) {
      expect(error.details.targetCode).toBe(`AADSTS${body.error_codes[0]}`);
      expect(error.details.presented).toEqual({
        iss: TEST_ISSUER,
        sub: TEST_ROLE_ARN,
        aud: 'api://AzureADTokenExchange',
        alg: 'RS256',
      });
      expect(error.details).toMatchObject({ requestId: body.correlation_id, traceId: body.trace_id });
    }
  });

  it('reads the AADSTS code from error_description when error_codes is missing', async () => {
    const { scope } = mockEntra([
      entraError(
        400,
        'invalid_client',
        700213,
        `No matching federated identity record found for presented assertion subject '${TEST_ROLE_ARN}'.`,
        {
          errorCodes: false,
        },
      ),
    ]);
    const { credential } = await credentialWith();
    const error = await rejection(credential.getToken(STORAGE_SCOPE));
    scope.done();
    expect(error).toMatchObject({ code: 'TOKEN_REJECTED', details: { targetCode: 'AADSTS700213' } });
  });

  it('prefers error_codes[] over the description text', async () => {
    const [status, body, headers] = entraError(400, 'invalid_client', 700212, 'Audience mismatch.');
    const described = { ...(body as Record<string, unknown>), error_description: 'AADSTS700213: Mentioned first.' };
    const { scope } = mockEntra([[status, described, headers]]);
    const { credential } = await credentialWith();
    const error = await rejection(credential.getToken(STORAGE_SCOPE));
    scope.done();
    expect(error.details.targetCode).toBe('AADSTS700212');
  });

  it('quotes the client-request-id it sent as requestId when the answer has no correlation_id', async () => {
    const { scope, requests } = mockEntra([[502, '<html>Bad Gateway</html>', { 'content-type': 'text/html' }]]);
    const { credential } = await credentialWith();
    const error = await rejection(credential.getToken(STORAGE_SCOPE));
    scope.done();
    expect(error.details.requestId).toBe(requests[0]!.headers['client-request-id']);
  });

  it('carries Retry-After of a 429 as retryAfterMs', async () => {
    const { scope } = mockEntra([
      entraError(429, 'temporarily_unavailable', 50196, 'Slow down.', { headers: { 'retry-after': '7' } }),
    ]);
    const { credential } = await credentialWith();
    const error = await rejection(credential.getToken(STORAGE_SCOPE));
    scope.done();
    expect(error.retryAfterMs).toBe(7000);
  });

  it('names aws.signingAlgorithm for AADSTS5002738 when keyless minted the JWT', async () => {
    const sts = mockSts(1, { alg: 'ES384' });
    const entra = mockEntra([
      entraError(400, 'invalid_request', 5002738, "Invalid JWT token. 'ES384' is not a supported signature algorithm."),
    ]);
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS, signingAlgorithm: 'ES384' },
      retry: false,
    });
    const error = await rejection(credential.getToken(STORAGE_SCOPE));
    sts.scope.done();
    entra.scope.done();
    expect(error.message).toMatch(/signing algorithm \(ES384\)/);
    expect(error.hint).toBe("Use RS256: set aws.signingAlgorithm to 'RS256' (the default of @keyless/azure).");
  });

  it('names aws.audience for AADSTS700212 when keyless minted the JWT', async () => {
    const sts = mockSts(1, { audience: 'api://wrong' });
    const entra = mockEntra([
      entraError(
        400,
        'invalid_client',
        700212,
        "No matching federated identity record found for presented assertion audience 'api://wrong'.",
      ),
    ]);
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS, audience: 'api://wrong' },
      retry: false,
    });
    const error = await rejection(credential.getToken(STORAGE_SCOPE));
    sts.scope.done();
    entra.scope.done();
    expect(error.hint).toMatch(
      /to \["api:\/\/wrong"\], or make the token’s audience match the credential \(the aws\.audience option/,
    );
    expect(error.details.presented?.aud).toBe('api://wrong');
  });

  it('retries a failing STS call in one layer only, also when aws is not given (one STS call per Entra attempt)', async () => {
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', TEST_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', TEST_CREDENTIALS.secretAccessKey);
    const failing = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>later</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
    let stsCalls = 0;
    nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .times(9)
      .reply(async () => {
        stsCalls += 1;
        return [503, failing, { 'content-type': 'text/xml' }];
      });
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    });
    const error = await rejection(credential.getToken(STORAGE_SCOPE));
    expect(error).toMatchObject({ code: 'EXCHANGE_FAILED', provider: 'aws', retryable: true });
    // Three Entra-cache attempts, each one STS call: not three times three.
    expect(stsCalls).toBe(3);
  });

  it('passes an STS failure through as the aws error it is, without calling Entra', async () => {
    nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .reply(
        403,
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
        { 'content-type': 'text/xml' },
      );
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS },
    });
    const error = await rejection(credential.getToken(STORAGE_SCOPE));
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', provider: 'aws' });
    expect(error.hint).toMatch(
      /sts:IdentityTokenAudience = api:\/\/AzureADTokenExchange; sts:SigningAlgorithm = RS256/,
    );
  });

  it('retries a 503 once in one layer, then succeeds', async () => {
    const token = accessToken();
    const { scope } = mockEntra([entraError(503, 'temporarily_unavailable', 50000, 'Try again.'), entraSuccess(token)]);
    const { credential, provider } = await credentialWith({ retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    expect((await credential.getToken(STORAGE_SCOPE)).token).toBe(token);
    scope.done();
    expect(provider.calls).toBe(2);
  });

  it('retries a failed STS call from the Entra cache only: one STS attempt per Entra attempt', async () => {
    let stsCalls = 0;
    nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .times(10)
      .reply(() => {
        stsCalls++;
        return [
          503,
          '<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>busy</Message></Error></ErrorResponse>',
          { 'content-type': 'text/xml' },
        ];
      });
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS },
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    });
    const error = await rejection(credential.getToken(STORAGE_SCOPE));
    expect(error).toMatchObject({ provider: 'aws', retryable: true });
    expect(stsCalls).toBe(2);
  });

  it('reports a reset connection as NETWORK and silence as TIMEOUT', async () => {
    await withLoopbackServer(faults.reset, async (origin) => {
      const { credential } = await credentialWith({ authorityHost: origin });
      expect(await rejection(credential.getToken(STORAGE_SCOPE))).toMatchObject({ code: 'NETWORK', provider: 'azure' });
    });
    await withLoopbackServer(faults.silent, async (origin) => {
      const { credential } = await credentialWith({ authorityHost: origin, requestTimeoutMs: 50 });
      const error = await rejection(credential.getToken(STORAGE_SCOPE));
      expect(error).toMatchObject({ code: 'TIMEOUT', provider: 'azure', retryable: true });
      expect(error.message).toMatch(/Entra ID token endpoint did not answer within 50 ms/);
    });
  });
});

describe('abortSignal', () => {
  it('rejects at once with the reason of an aborted signal, with no request', async () => {
    const { credential, provider } = await credentialWith();
    const controller = new AbortController();
    controller.abort();
    await expect(credential.getToken(STORAGE_SCOPE, { abortSignal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(provider.calls).toBe(0);
  });

  it('stops one caller’s wait while the shared request goes on for the others', async () => {
    const token = accessToken();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { scope } = mockEntra([entraSuccess(token)]);
    const inner = await countingProvider();
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      webIdentityToken: async () => {
        await gate;
        return inner();
      },
    });
    const controller = new AbortController();
    const aborted = credential.getToken(STORAGE_SCOPE, { abortSignal: controller.signal });
    const patient = credential.getToken(STORAGE_SCOPE);
    controller.abort(new DOMException('caller gave up', 'AbortError'));
    await expect(aborted).rejects.toThrow('caller gave up');
    release();
    expect((await patient).token).toBe(token);
    scope.done();
  });

  it('accepts an AbortSignalLike that is not a native AbortSignal', async () => {
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      webIdentityToken: () => new Promise(() => {}),
    });
    const listeners: Array<(event: unknown) => void> = [];
    const like = {
      aborted: false,
      reason: undefined as unknown,
      addEventListener: (_type: 'abort', listener: (event: unknown) => void) => {
        listeners.push(listener);
      },
      removeEventListener: () => {},
    };
    const pending = credential.getToken(STORAGE_SCOPE, { abortSignal: like });
    like.aborted = true;
    like.reason = new DOMException('like aborted', 'AbortError');
    for (const listener of listeners) listener({ type: 'abort' });
    await expect(pending).rejects.toThrow('like aborted');
  });
});
