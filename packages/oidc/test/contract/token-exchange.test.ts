import { isKeylessError } from '@keyless/core';
import nock from 'nock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TEST_CREDENTIALS } from '../../../../test/support/aws.js';
import { faults, withLoopbackServer } from '../../../../test/support/loopback.js';
import { fromTokenExchange, TOKEN_EXCHANGE_GRANT_TYPE } from '../../src/index.js';
import {
  awsJwt,
  formEntries,
  mockEndpoint,
  rejectionOf,
  staticJwt,
  TEST_ISSUER,
  TEST_ROLE_ARN,
  tokenBody,
} from '../fixtures.js';

const AS = 'https://auth.example.com';
const TOKEN_PATH = '/oauth2/token';
const ENDPOINT = `${AS}${TOKEN_PATH}`;
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

afterEach(() => {
  vi.useRealTimers();
  nock.cleanAll();
});

describe('fromTokenExchange request (RFC 8693 §2.1)', () => {
  it('POSTs exactly the token-exchange form, form-encoded, to the token endpoint', async () => {
    const jwt = await awsJwt();
    const { scope, captured } = mockEndpoint(AS, TOKEN_PATH, [[200, tokenBody('at-1', { scope: 'read write' })]]);
    const provider = fromTokenExchange({
      tokenEndpoint: ENDPOINT,
      audience: 'api://target',
      scope: 'read write',
      requestedTokenType: 'access_token',
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    });
    const token = await provider();
    scope.done();
    expect(captured).toHaveLength(1);
    expect(captured[0]!.method).toBe('POST');
    expect(captured[0]!.url).toBe(ENDPOINT);
    expect(captured[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(captured[0]!.headers.accept).toBe('application/json');
    expect(captured[0]!.headers.authorization).toBeUndefined();
    expect(formEntries(captured[0])).toEqual([
      ['grant_type', TOKEN_EXCHANGE_GRANT_TYPE],
      ['subject_token', jwt],
      ['subject_token_type', JWT_TYPE],
      ['audience', 'api://target'],
      ['scope', 'read write'],
      ['requested_token_type', 'urn:ietf:params:oauth:token-type:access_token'],
    ]);
    expect(token).toMatchObject({
      accessToken: 'at-1',
      tokenType: 'Bearer',
      issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      scope: 'read write',
    });
    expect(token.refreshToken).toBeUndefined();
  });

  it('repeats audience and resource for lists, joins scope lists, and sends extraParams', async () => {
    const jwt = await awsJwt();
    const { scope, captured } = mockEndpoint(AS, TOKEN_PATH, [[200, tokenBody('at')]]);
    await fromTokenExchange({
      tokenEndpoint: ENDPOINT,
      audience: ['svc-a', 'svc-b'],
      resource: ['https://api.example.com/a', 'https://api.example.com/b'],
      scope: ['read', 'write'],
      subjectTokenType: 'id_token',
      extraParams: { tenant: 'acme', flag: ['1', '2'] },
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    scope.done();
    expect(formEntries(captured[0])).toEqual([
      ['grant_type', TOKEN_EXCHANGE_GRANT_TYPE],
      ['subject_token', jwt],
      ['subject_token_type', 'urn:ietf:params:oauth:token-type:id_token'],
      ['audience', 'svc-a'],
      ['audience', 'svc-b'],
      ['resource', 'https://api.example.com/a'],
      ['resource', 'https://api.example.com/b'],
      ['scope', 'read write'],
      ['tenant', 'acme'],
      ['flag', '1'],
      ['flag', '2'],
    ]);
  });

  it('client_secret_basic: form-urlencodes id and secret before base64 (RFC 6749 §2.3.1)', async () => {
    const jwt = await awsJwt();
    const { scope, captured } = mockEndpoint(AS, TOKEN_PATH, [[200, tokenBody('at')]]);
    const clientId = 'my client:1';
    const clientSecret = 'p@ss:w+rd/%é ~*';
    await fromTokenExchange({
      tokenEndpoint: ENDPOINT,
      clientAuth: { method: 'client_secret_basic', clientId, clientSecret },
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    scope.done();
    const header = captured[0]!.headers.authorization ?? '';
    expect(header.startsWith('Basic ')).toBe(true);
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    expect(decoded).toBe('my+client%3A1:p%40ss%3Aw%2Brd%2F%25%C3%A9+%7E*');
    // The encoded form decodes back to the originals (what a conforming server does).
    const [id, secret] = decoded.split(':');
    expect(new URLSearchParams(`a=${id}`).get('a')).toBe(clientId);
    expect(new URLSearchParams(`a=${secret}`).get('a')).toBe(clientSecret);
    const fields = Object.fromEntries(formEntries(captured[0]));
    expect(fields.client_id).toBeUndefined();
    expect(fields.client_secret).toBeUndefined();
  });

  it('client_secret_post puts id and secret in the form; none with an id sends only client_id', async () => {
    const jwt = await awsJwt();
    const { scope, captured } = mockEndpoint(AS, TOKEN_PATH, [
      [200, tokenBody('at1')],
      [200, tokenBody('at2')],
    ]);
    await fromTokenExchange({
      tokenEndpoint: ENDPOINT,
      clientAuth: { method: 'client_secret_post', clientId: 'cid', clientSecret: 's3cr&t=x' },
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    await fromTokenExchange({
      tokenEndpoint: ENDPOINT,
      clientAuth: { method: 'none', clientId: 'public-client' },
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    scope.done();
    expect(formEntries(captured[0]).slice(-2)).toEqual([
      ['client_id', 'cid'],
      ['client_secret', 's3cr&t=x'],
    ]);
    expect(captured[0]!.headers.authorization).toBeUndefined();
    expect(formEntries(captured[1]).slice(-1)).toEqual([['client_id', 'public-client']]);
    expect(Object.fromEntries(formEntries(captured[1])).client_secret).toBeUndefined();
  });
});

describe('discovery (OIDC Discovery §4, RFC 8414 §3)', () => {
  it('reads token_endpoint from {issuer}/.well-known/openid-configuration once per provider', async () => {
    const jwt = await awsJwt();
    const issuer = 'https://idp.example.com/tenant-1';
    const discovery = mockEndpoint(
      'https://idp.example.com',
      '/tenant-1/.well-known/openid-configuration',
      [[200, { issuer, token_endpoint: 'https://idp.example.com/tenant-1/token', jwks_uri: `${issuer}/keys` }]],
      'GET',
    );
    const token = mockEndpoint('https://idp.example.com', '/tenant-1/token', [
      [200, tokenBody('at1', { expires_in: 30 })],
      [200, tokenBody('at2', { expires_in: 30 })],
    ]);
    const provider = fromTokenExchange({ issuer, webIdentityToken: staticJwt(jwt).provider, retry: false });
    expect((await provider()).accessToken).toBe('at1');
    expect((await provider({ forceRefresh: true })).accessToken).toBe('at2');
    discovery.scope.done();
    token.scope.done();
    expect(discovery.captured).toHaveLength(1);
    expect(discovery.captured[0]!.method).toBe('GET');
  });

  it('falls back to RFC 8414 metadata, inserting the well-known segment before the issuer path', async () => {
    const jwt = await awsJwt();
    const issuer = 'https://as.example.com/realms/prod';
    const scope = nock('https://as.example.com')
      .get('/realms/prod/.well-known/openid-configuration')
      .reply(404, '<html>Not Found</html>', { 'content-type': 'text/html' })
      .get('/.well-known/oauth-authorization-server/realms/prod')
      .reply(200, { issuer, token_endpoint: 'https://as.example.com/realms/prod/token' })
      .post('/realms/prod/token')
      .reply(200, tokenBody('at'));
    const token = await fromTokenExchange({ issuer, webIdentityToken: staticJwt(jwt).provider, retry: false })();
    scope.done();
    expect(token.accessToken).toBe('at');
  });

  it('rejects a discovery document whose issuer differs from the configured one, and sends no token', async () => {
    const jwt = await awsJwt();
    const scope = nock('https://idp.example.com')
      .get('/.well-known/openid-configuration')
      .reply(200, { issuer: 'https://evil.example.net', token_endpoint: 'https://evil.example.net/token' });
    const error = await rejectionOf(
      fromTokenExchange({
        issuer: 'https://idp.example.com',
        webIdentityToken: staticJwt(jwt).provider,
        retry: false,
      })(),
    );
    scope.done();
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE', provider: 'oidc', retryable: false });
    expect(error.message).toContain('https://evil.example.net');
    expect(error.details).toMatchObject({ expected: { issuer: 'https://idp.example.com' } });
  });

  it('calls a trailing-slash-only mismatch INVALID_CONFIG and names the exact issuer to use', async () => {
    const jwt = await awsJwt();
    nock('https://idp.example.com')
      .get('/.well-known/openid-configuration')
      .reply(200, { issuer: 'https://idp.example.com', token_endpoint: 'https://idp.example.com/token' });
    const error = await rejectionOf(
      fromTokenExchange({
        issuer: 'https://idp.example.com/',
        webIdentityToken: staticJwt(jwt).provider,
        retry: false,
      })(),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.hint).toContain('"https://idp.example.com"');
  });

  it('refuses a discovered token_endpoint that is not https', async () => {
    const jwt = await awsJwt();
    nock('https://idp.example.com')
      .get('/.well-known/openid-configuration')
      .reply(200, { issuer: 'https://idp.example.com', token_endpoint: 'http://idp.example.com/token' });
    const error = await rejectionOf(
      fromTokenExchange({
        issuer: 'https://idp.example.com',
        webIdentityToken: staticJwt(jwt).provider,
        retry: false,
      })(),
    );
    expect(error.code).toBe('INVALID_RESPONSE');
    expect(error.message).toContain('token_endpoint');
  });

  it('reports missing metadata at both locations as INVALID_CONFIG, and retries discovery on the next call', async () => {
    const jwt = await awsJwt();
    const scope = nock('https://idp.example.com')
      .get('/.well-known/openid-configuration')
      .reply(404)
      .get('/.well-known/oauth-authorization-server')
      .reply(404)
      .get('/.well-known/openid-configuration')
      .reply(200, { issuer: 'https://idp.example.com', token_endpoint: 'https://idp.example.com/token' })
      .post('/token')
      .reply(200, tokenBody('at'));
    const source = staticJwt(jwt);
    const provider = fromTokenExchange({
      issuer: 'https://idp.example.com',
      webIdentityToken: source.provider,
      retry: false,
    });
    const error = await rejectionOf(provider());
    expect(error.code).toBe('INVALID_CONFIG');
    expect(source.calls()).toBe(0); // no AWS JWT is minted for an endpoint that cannot be found
    expect(error.message).toContain('/.well-known/openid-configuration');
    expect(error.message).toContain('/.well-known/oauth-authorization-server');
    expect((await provider()).accessToken).toBe('at');
    scope.done();
  });
});

describe('token response (RFC 6749 §5.1)', () => {
  it('without expires_in: 300 s from the request, capped by the AWS JWT’s remaining lifetime', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') });
    const jwt = await awsJwt();
    mockEndpoint(AS, TOKEN_PATH, [
      [200, { access_token: 'a', token_type: 'Bearer' }],
      [200, { access_token: 'b', token_type: 'Bearer' }],
      [200, { access_token: 'c', token_type: 'Bearer' }],
    ]);
    const now = Date.now();
    const long = await fromTokenExchange({ tokenEndpoint: ENDPOINT, webIdentityToken: staticJwt(jwt, 900).provider })();
    expect(long.expiresAt.getTime()).toBe(now + 300_000);
    const short = await fromTokenExchange({
      tokenEndpoint: ENDPOINT,
      webIdentityToken: staticJwt(jwt, 120).provider,
    })();
    expect(short.expiresAt.getTime()).toBe(now + 120_000);
    const configured = await fromTokenExchange({
      tokenEndpoint: ENDPOINT,
      defaultExpiresInSeconds: 1800,
      webIdentityToken: staticJwt(jwt, 120).provider,
    })();
    expect(configured.expiresAt.getTime()).toBe(now + 1_800_000);
  });

  it('reads expires_in (also a quoted number), defaults token_type to Bearer, keeps refresh_token', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') });
    const jwt = await awsJwt();
    mockEndpoint(AS, TOKEN_PATH, [[200, { access_token: 'a', expires_in: '600', refresh_token: 'rt' }]]);
    const token = await fromTokenExchange({ tokenEndpoint: ENDPOINT, webIdentityToken: staticJwt(jwt).provider })();
    expect(token).toEqual({
      accessToken: 'a',
      tokenType: 'Bearer',
      expiresAt: new Date(Date.now() + 600_000),
      refreshToken: 'rt',
    });
  });

  it.each([
    ['no access_token', [200, { token_type: 'Bearer', expires_in: 60 }]],
    ['an empty access_token', [200, { access_token: '', expires_in: 60 }]],
    ['an HTML page', [200, '<html><body>Sign in</body></html>', { 'content-type': 'text/html' }]],
    ['a truncated JSON body', [200, '{"access_token":"abc","expires_', {}]],
    ['a JSON array', [200, '[]', {}]],
    ['a bad expires_in', [200, { access_token: 'a', expires_in: 'soon' }]],
    ['a negative expires_in', [200, { access_token: 'a', expires_in: -5 }]],
  ] as const)('a 200 with %s is INVALID_RESPONSE', async (_name, answer) => {
    const jwt = await awsJwt();
    const { scope } = mockEndpoint(AS, TOKEN_PATH, [answer as never]);
    const error = await rejectionOf(
      fromTokenExchange({ tokenEndpoint: ENDPOINT, webIdentityToken: staticJwt(jwt).provider, retry: false })(),
    );
    scope.done();
    expect(isKeylessError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE', provider: 'oidc', retryable: false });
    expect(error.details.presented).toMatchObject({ iss: TEST_ISSUER, sub: TEST_ROLE_ARN });
  });
});

describe('RFC 6749 §5.2 / RFC 8693 §2.2.2 errors', () => {
  const oauth = (error: string, description: string) => ({ error, error_description: description });
  const cases = [
    [400, oauth('invalid_grant', 'subject token issuer is not trusted'), 'TOKEN_REJECTED', false],
    [400, oauth('invalid_target', 'audience api://x is not allowed'), 'TOKEN_REJECTED', false],
    [400, oauth('unauthorized_client', 'client may not use token exchange'), 'TOKEN_REJECTED', false],
    [401, oauth('invalid_client', 'client authentication failed'), 'INVALID_CONFIG', false],
    [400, oauth('invalid_scope', 'scope admin is not allowed'), 'INVALID_CONFIG', false],
    [400, oauth('unsupported_grant_type', 'grant type not supported'), 'INVALID_CONFIG', false],
    [400, oauth('invalid_request', 'missing subject_token_type'), 'EXCHANGE_FAILED', false],
    [403, oauth('access_denied', 'policy denies this subject'), 'ACCESS_DENIED', false],
    [400, oauth('temporarily_unavailable', 'try later'), 'EXCHANGE_FAILED', true],
    [400, oauth('server_specific', 'something else'), 'EXCHANGE_FAILED', false],
    [429, oauth('slow_down', 'rate limited'), 'THROTTLED', true],
    [503, oauth('temporarily_unavailable', 'maintenance'), 'EXCHANGE_FAILED', true],
    [502, '<html><body>Bad Gateway</body></html>', 'EXCHANGE_FAILED', true],
    [400, '<html><body>Bad Request</body></html>', 'INVALID_RESPONSE', false],
    [400, '{"error":', 'INVALID_RESPONSE', false],
    [401, { message: 'unauthorized' }, 'EXCHANGE_FAILED', false],
  ] as const;

  it.each(cases)('HTTP %i %j → %s (retryable %s)', async (status, body, code, retryable) => {
    const jwt = await awsJwt();
    const headers: Record<string, string> = typeof body === 'string' ? { 'content-type': 'text/html' } : {};
    const { scope } = mockEndpoint(AS, TOKEN_PATH, [[status, body, headers]]);
    const error = await rejectionOf(
      fromTokenExchange({ tokenEndpoint: ENDPOINT, webIdentityToken: staticJwt(jwt).provider, retry: false })(),
    );
    scope.done();
    expect(error).toMatchObject({ code, provider: 'oidc', retryable });
    expect(error.details.status).toBe(status);
    expect(error.details.presented).toEqual({
      iss: TEST_ISSUER,
      sub: TEST_ROLE_ARN,
      aud: 'https://auth.example.com',
      alg: 'RS256',
    });
    if (typeof body === 'object' && 'error' in body) {
      expect(error.details.targetCode).toBe(body.error);
      expect(error.message).toContain(body.error_description);
    }
    expect(error.hint).toBeTruthy();
  });

  it('puts the presented claims and the trust-rule fields in the hint of invalid_grant', async () => {
    const jwt = await awsJwt({ audience: 'api://wrong' });
    mockEndpoint(AS, TOKEN_PATH, [[400, oauth('invalid_grant', 'audience mismatch')]]);
    const error = await rejectionOf(
      fromTokenExchange({ tokenEndpoint: ENDPOINT, webIdentityToken: staticJwt(jwt).provider, retry: false })(),
    );
    expect(error.code).toBe('TOKEN_REJECTED');
    expect(error.hint).toContain(`iss=${TEST_ISSUER}`);
    expect(error.hint).toContain(`sub=${TEST_ROLE_ARN}`);
    expect(error.hint).toContain('aud=api://wrong');
    expect(error.hint).toContain('aws.audience');
  });

  it('invalid_client names clientAuth, invalid_scope names scope', async () => {
    const jwt = await awsJwt();
    mockEndpoint(AS, TOKEN_PATH, [
      [401, oauth('invalid_client', 'bad secret')],
      [400, oauth('invalid_scope', 'nope')],
    ]);
    const base = { tokenEndpoint: ENDPOINT, webIdentityToken: staticJwt(jwt).provider, retry: false as const };
    const client = await rejectionOf(
      fromTokenExchange({ ...base, clientAuth: { method: 'client_secret_basic', clientId: 'c', clientSecret: 's' } })(),
    );
    expect(client.hint).toContain('clientAuth');
    const scope = await rejectionOf(fromTokenExchange({ ...base, scope: 'admin' })());
    expect(scope.hint).toContain('scope');
  });

  it('retries 5xx with back-off and honours Retry-After on 429, then succeeds', async () => {
    const jwt = await awsJwt();
    const { scope, captured } = mockEndpoint(AS, TOKEN_PATH, [
      [503, oauth('temporarily_unavailable', 'x')],
      [429, oauth('slow_down', 'y'), { 'retry-after': '0' }],
      [200, tokenBody('finally')],
    ]);
    const token = await fromTokenExchange({
      tokenEndpoint: ENDPOINT,
      webIdentityToken: staticJwt(jwt).provider,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    })();
    scope.done();
    expect(captured).toHaveLength(3);
    expect(token.accessToken).toBe('finally');
  });

  it('does not retry a TOKEN_REJECTED', async () => {
    const jwt = await awsJwt();
    const { scope, captured } = mockEndpoint(AS, TOKEN_PATH, [[400, oauth('invalid_grant', 'no')]]);
    const error = await rejectionOf(
      fromTokenExchange({
        tokenEndpoint: ENDPOINT,
        webIdentityToken: staticJwt(jwt).provider,
        retry: { maxAttempts: 3, baseDelayMs: 1 },
      })(),
    );
    scope.done();
    expect(error.code).toBe('TOKEN_REJECTED');
    expect(captured).toHaveLength(1);
  });

  it('a connection reset is NETWORK and a silent server TIMEOUT, both retryable', async () => {
    const jwt = await awsJwt();
    const reset = await withLoopbackServer(faults.reset, (origin) =>
      rejectionOf(
        fromTokenExchange({
          tokenEndpoint: `${origin}/token`,
          webIdentityToken: staticJwt(jwt).provider,
          retry: false,
        })(),
      ),
    );
    expect(reset).toMatchObject({ code: 'NETWORK', provider: 'oidc', retryable: true });
    const silent = await withLoopbackServer(faults.silent, (origin) =>
      rejectionOf(
        fromTokenExchange({
          tokenEndpoint: `${origin}/token`,
          requestTimeoutMs: 50,
          webIdentityToken: staticJwt(jwt).provider,
          retry: false,
        })(),
      ),
    );
    expect(silent).toMatchObject({ code: 'TIMEOUT', provider: 'oidc', retryable: true });
  });
});

describe('caching (core createTokenCache)', () => {
  it('concurrent callers share one exchange; a fresh token costs no request', async () => {
    const jwt = await awsJwt();
    const source = staticJwt(jwt);
    const { scope, captured } = mockEndpoint(AS, TOKEN_PATH, [[200, tokenBody('shared', { expires_in: 3600 })]]);
    const provider = fromTokenExchange({ tokenEndpoint: ENDPOINT, webIdentityToken: source.provider, retry: false });
    const tokens = await Promise.all(Array.from({ length: 8 }, () => provider()));
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['shared']));
    expect(captured).toHaveLength(1);
    expect(source.calls()).toBe(1);
    scope.done();
    // Nothing is mocked any more: a second request would fail.
    expect((await provider()).accessToken).toBe('shared');
    expect(captured).toHaveLength(1);
  });

  it('forceRefresh exchanges again; an aborted signal rejects with its reason', async () => {
    const jwt = await awsJwt();
    const { scope } = mockEndpoint(AS, TOKEN_PATH, [
      [200, tokenBody('one')],
      [200, tokenBody('two')],
    ]);
    const provider = fromTokenExchange({
      tokenEndpoint: ENDPOINT,
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    });
    expect((await provider()).accessToken).toBe('one');
    expect((await provider({ forceRefresh: true })).accessToken).toBe('two');
    scope.done();
    const controller = new AbortController();
    controller.abort();
    await expect(provider({ signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('exchanges again (with a new AWS JWT) once the token is near expiry', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') });
    const first = await awsJwt();
    const second = await awsJwt({ sub: 'arn:aws:iam::123456789012:role/second' });
    const source = staticJwt([first, second]);
    const { scope, captured } = mockEndpoint(AS, TOKEN_PATH, [
      [200, tokenBody('old', { expires_in: 60 })],
      [200, tokenBody('new', { expires_in: 60 })],
    ]);
    const provider = fromTokenExchange({ tokenEndpoint: ENDPOINT, webIdentityToken: source.provider, retry: false });
    expect((await provider()).accessToken).toBe('old');
    vi.setSystemTime(Date.now() + 55_000);
    expect((await provider()).accessToken).toBe('new');
    scope.done();
    expect(Object.fromEntries(formEntries(captured[1])).subject_token).toBe(second);
  });
});

describe('option checks (before any I/O)', () => {
  const jwt = 'unused';
  const webIdentityToken = staticJwt(jwt).provider;
  it.each([
    [{ webIdentityToken }, 'tokenEndpoint or issuer is required'],
    [{ tokenEndpoint: ENDPOINT, issuer: AS, webIdentityToken }, 'either tokenEndpoint or issuer'],
    [{ tokenEndpoint: 'http://auth.example.com/token', webIdentityToken }, 'tokenEndpoint must use https'],
    [{ tokenEndpoint: 'https://auth.example.com/token#x', webIdentityToken }, 'fragment'],
    [{ issuer: 'https://idp.example.com?x=1', webIdentityToken }, 'query'],
    [{ tokenEndpoint: ENDPOINT }, 'aws.audience is required'],
    [{ tokenEndpoint: ENDPOINT, aws: {} }, 'aws.audience is required'],
    [{ tokenEndpoint: ENDPOINT, aws: { audience: 'a' }, webIdentityToken }, 'either aws or webIdentityToken'],
    [{ tokenEndpoint: ENDPOINT, webIdentityToken: 'jwt' }, 'webIdentityToken must be a function'],
    [{ tokenEndpoint: ENDPOINT, webIdentityToken, audience: [] }, 'audience must be a string or a non-empty array'],
    [{ tokenEndpoint: ENDPOINT, webIdentityToken, resource: 'not a uri' }, 'resource must be an absolute URI'],
    [{ tokenEndpoint: ENDPOINT, webIdentityToken, scope: ['a b'] }, 'scope[0] must be one scope name'],
    [
      { tokenEndpoint: ENDPOINT, webIdentityToken, subjectTokenType: 'saml2' },
      'subjectTokenType must be one of jwt, id_token',
    ],
    [
      { tokenEndpoint: ENDPOINT, webIdentityToken, extraParams: { subject_token: 'x' } },
      'extraParams.subject_token is set by keyless',
    ],
    [
      { tokenEndpoint: ENDPOINT, webIdentityToken, clientAuth: { method: 'private_key_jwt' } },
      'clientAuth.method must be one of',
    ],
    [
      { tokenEndpoint: ENDPOINT, webIdentityToken, clientAuth: { method: 'client_secret_basic', clientId: 'x' } },
      'clientAuth.clientSecret',
    ],
    [{ tokenEndpoint: ENDPOINT, webIdentityToken, requestTimeoutMs: 0 }, 'requestTimeoutMs must be a number 1..600000'],
    [
      { tokenEndpoint: ENDPOINT, webIdentityToken, defaultExpiresInSeconds: 5 },
      'defaultExpiresInSeconds must be a number 30..86400',
    ],
  ])('%j → INVALID_CONFIG (%s)', (options, message) => {
    let error: unknown;
    try {
      fromTokenExchange(options as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', provider: 'oidc' });
    expect((error as Error).message).toContain(message);
  });

  it('accepts plain http on loopback (the emulator) only', () => {
    expect(() => fromTokenExchange({ tokenEndpoint: 'http://127.0.0.1:8080/token', webIdentityToken })).not.toThrow();
    expect(() => fromTokenExchange({ tokenEndpoint: 'http://localhost:8080/token', webIdentityToken })).not.toThrow();
  });

  it('a webIdentityToken that resolves to garbage is INVALID_CONFIG at call time', async () => {
    const error = await rejectionOf(
      fromTokenExchange({ tokenEndpoint: ENDPOINT, webIdentityToken: async () => ({}) as never, retry: false })(),
    );
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', provider: 'oidc' });
  });
});

describe('one retry layer', () => {
  it('a failing STS call is retried by the token cache only: one STS call per attempt', async () => {
    const failing = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>later</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
    let stsCalls = 0;
    nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .times(9)
      .reply(async () => {
        stsCalls += 1;
        return [503, failing, { 'content-type': 'text/xml' }];
      });
    const provider = fromTokenExchange({
      tokenEndpoint: 'https://auth.example.com/token',
      aws: { audience: 'https://auth.example.com', region: 'us-east-1', credentials: TEST_CREDENTIALS },
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    });
    const error = await provider().catch((e: unknown) => e);
    expect(isKeylessError(error) && error.code).toBe('EXCHANGE_FAILED');
    // Three attempts of the token cache, each one STS call: not three times three.
    expect(stsCalls).toBe(3);
  });
});
