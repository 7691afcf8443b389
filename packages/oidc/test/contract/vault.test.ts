import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordingLogger } from '../../../../test/support/leaks.js';
import { fromVaultJwtLogin } from '../../src/index.js';
import { awsJwt, mockEndpoint, rejectionOf, staticJwt, TEST_ISSUER, TEST_ROLE_ARN } from '../fixtures.js';

const VAULT = 'https://vault.example.com:8200';
const CLIENT_TOKEN = 'hvs.CAESIJlU0M2Y0ZTk2LTk4OWMtNGRhZC05ZjU5LWQzNDRmYmQ0NzYwNBoeChxodnMuRkRuVE5ZUnVwdzNvMjE5dmFRc0';

/** A real-shaped Vault login answer (sys/auth login response). */
function vaultLogin(leaseDuration = 2764800, extra: Record<string, unknown> = {}) {
  return {
    request_id: '2a6d0e2c-7f1e-4b1e-9c7a-0a7e2a7f6c11',
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: {
      client_token: CLIENT_TOKEN,
      accessor: 'hmac-accessor-0f9e',
      policies: ['default', 'reporting'],
      token_policies: ['default', 'reporting'],
      identity_policies: ['team-reporting'],
      metadata: { role: 'reporting' },
      lease_duration: leaseDuration,
      renewable: true,
      entity_id: '7d2e3d66-ea4b-4f3a-9b2e-2c1c0b6a1f10',
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    },
    ...extra,
  };
}

const vaultErrors = (...errors: string[]) => ({ errors });

beforeEach(() => {
  vi.stubEnv('VAULT_ADDR', '');
  vi.stubEnv('VAULT_NAMESPACE', '');
});
afterEach(() => {
  vi.useRealTimers();
  nock.cleanAll();
});

describe('fromVaultJwtLogin request', () => {
  it('POSTs JSON { role, jwt } to /v1/auth/jwt/login and returns the client token with its lease', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') });
    const jwt = await awsJwt({ audience: 'vault.example.com' });
    const { scope, captured } = mockEndpoint(VAULT, '/v1/auth/jwt/login', [[200, vaultLogin(3600)]]);
    const token = await fromVaultJwtLogin({
      address: VAULT,
      role: 'reporting',
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    scope.done();
    expect(captured[0]!.method).toBe('POST');
    expect(captured[0]!.headers['content-type']).toBe('application/json');
    expect(captured[0]!.headers['x-vault-request']).toBe('true');
    expect(captured[0]!.headers['x-vault-namespace']).toBeUndefined();
    expect(JSON.parse(captured[0]!.body)).toEqual({ role: 'reporting', jwt });
    expect(token).toEqual({
      accessToken: CLIENT_TOKEN,
      tokenType: 'Vault',
      expiresAt: new Date(Date.now() + 3_600_000),
      accessor: 'hmac-accessor-0f9e',
      policies: ['default', 'reporting'],
      tokenPolicies: ['default', 'reporting'],
      identityPolicies: ['team-reporting'],
      renewable: true,
      leaseDurationSeconds: 3600,
      entityId: '7d2e3d66-ea4b-4f3a-9b2e-2c1c0b6a1f10',
      vaultTokenType: 'service',
      metadata: { role: 'reporting' },
    });
  });

  it('sends X-Vault-Namespace, uses the mount path, and reads VAULT_ADDR / VAULT_NAMESPACE', async () => {
    vi.stubEnv('VAULT_ADDR', 'https://vault.internal:8200/');
    vi.stubEnv('VAULT_NAMESPACE', 'admin/team-a');
    const jwt = await awsJwt();
    const { scope, captured } = mockEndpoint('https://vault.internal:8200', '/v1/auth/aws/jwt/login', [
      [200, vaultLogin()],
    ]);
    await fromVaultJwtLogin({
      role: 'r',
      mount: '/aws/jwt/',
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    scope.done();
    expect(captured[0]!.headers['x-vault-namespace']).toBe('admin/team-a');
  });

  it('options win over the environment', async () => {
    vi.stubEnv('VAULT_ADDR', 'https://wrong.example');
    vi.stubEnv('VAULT_NAMESPACE', 'wrong');
    const jwt = await awsJwt();
    const { scope, captured } = mockEndpoint(VAULT, '/v1/auth/jwt/login', [[200, vaultLogin()]]);
    await fromVaultJwtLogin({
      address: VAULT,
      namespace: 'ns1',
      role: 'r',
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    scope.done();
    expect(captured[0]!.headers['x-vault-namespace']).toBe('ns1');
  });

  it('a lease of 0 is never "no expiry": the default lifetime applies; warnings are logged', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') });
    const jwt = await awsJwt();
    const { logger, lines } = recordingLogger();
    mockEndpoint(VAULT, '/v1/auth/jwt/login', [
      [200, vaultLogin(0, { warnings: ['TTL of "768h" exceeded the effective max_ttl of "1h"; TTL value is capped'] })],
    ]);
    const token = await fromVaultJwtLogin({
      address: VAULT,
      role: 'r',
      logger,
      webIdentityToken: staticJwt(jwt, 900).provider,
    })();
    expect(token.expiresAt.getTime()).toBe(Date.now() + 300_000);
    expect(lines.some((l) => l.startsWith('warn') && l.includes('max_ttl'))).toBe(true);
  });

  it('caches the token: concurrent callers log in once', async () => {
    const jwt = await awsJwt();
    const { scope, captured } = mockEndpoint(VAULT, '/v1/auth/jwt/login', [[200, vaultLogin()]]);
    const provider = fromVaultJwtLogin({
      address: VAULT,
      role: 'r',
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    });
    const tokens = await Promise.all([provider(), provider(), provider()]);
    scope.done();
    expect(captured).toHaveLength(1);
    expect(tokens.every((t) => t.accessToken === CLIENT_TOKEN)).toBe(true);
    await provider();
    expect(captured).toHaveLength(1);
  });
});

describe('Vault errors (JWT auth plugin messages)', () => {
  const cases = [
    [
      400,
      ['error validating claims: aud claim does not match any bound audience'],
      'TOKEN_REJECTED',
      'bound_audiences',
    ],
    [
      400,
      ['error validating token: invalid audience (aud) claim: audience claim does not match any expected audience'],
      'TOKEN_REJECTED',
      'bound_audiences',
    ],
    [
      400,
      ['error validating claims: audience claim found in JWT but no audiences bound to the role'],
      'TOKEN_REJECTED',
      'bound_audiences',
    ],
    [400, ['sub claim does not match bound subject'], 'TOKEN_REJECTED', 'bound_subject'],
    [
      400,
      [
        'error validating claims: claim "/https:~1~1sts.amazonaws.com~1/aws_account" does not match any associated bound claim values',
      ],
      'TOKEN_REJECTED',
      'bound_claims',
    ],
    [
      400,
      ['error validating claims: claim "/https:~1~1sts.amazonaws.com~1/org_id" is missing'],
      'TOKEN_REJECTED',
      'bound_claims',
    ],
    [400, ['claim "email" not found in token'], 'TOKEN_REJECTED', 'user_claim'],
    [400, ['role "reporting" could not be found'], 'INVALID_CONFIG', 'role'],
    [400, ['role with oidc role_type is not allowed'], 'INVALID_CONFIG', 'role_type'],
    [400, ['could not load configuration'], 'INVALID_CONFIG', 'oidc_discovery_url'],
    [
      400,
      ['error validating signature: oidc: id token signed with unsupported algorithm, expected ["RS256"] got "ES384"'],
      'TOKEN_REJECTED',
      'jwt_supported_algs',
    ],
    [
      400,
      [
        'error validating signature: oidc: id token issued by a different provider, expected "https://x" got "https://y"',
      ],
      'TOKEN_REJECTED',
      'bound_issuer',
    ],
    [
      400,
      ['error validating signature: oidc: token is expired (Token Expiry: 2026-01-01 00:00:00 +0000 UTC)'],
      'TOKEN_REJECTED',
      'clock',
    ],
    [
      400,
      ['error validating signature: failed to verify signature: failed to verify id token signature'],
      'TOKEN_REJECTED',
      'oidc_discovery_url',
    ],
    [403, ['permission denied'], 'ACCESS_DENIED', 'token_bound_cidrs'],
    [404, ['no handler for route "auth/jwt/login". route entry not found.'], 'INVALID_CONFIG', 'mount'],
    [400, ['something new'], 'EXCHANGE_FAILED', 'Presented'],
  ] as const;

  it.each(cases)('HTTP %i %j → %s (hint names %s)', async (status, errors, code, hintWord) => {
    const jwt = await awsJwt({ audience: 'vault' });
    const { scope } = mockEndpoint(VAULT, '/v1/auth/jwt/login', [[status, vaultErrors(...errors)]]);
    const error = await rejectionOf(
      fromVaultJwtLogin({
        address: VAULT,
        role: 'reporting',
        aws: undefined,
        webIdentityToken: staticJwt(jwt).provider,
        retry: false,
      })(),
    );
    scope.done();
    expect(error).toMatchObject({ code, provider: 'oidc', retryable: false });
    expect(error.hint).toContain(hintWord);
    expect(error.details).toMatchObject({ status, errors: [...errors] });
    expect(error.details.presented).toEqual({ iss: TEST_ISSUER, sub: TEST_ROLE_ARN, aud: 'vault', alg: 'RS256' });
    expect(error.message).toContain(errors[0].slice(0, 30));
  });

  it('names ES384 in the jwt_supported_algs hint when the JWT is ES384', async () => {
    const jwt = await awsJwt({ alg: 'ES384' });
    mockEndpoint(VAULT, '/v1/auth/jwt/login', [
      [
        400,
        vaultErrors(
          'error validating signature: oidc: id token signed with unsupported algorithm, expected ["RS256"] got "ES384"',
        ),
      ],
    ]);
    const provider = fromVaultJwtLogin({
      address: VAULT,
      role: 'r',
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    });
    const error = await rejectionOf(provider());
    expect(error.hint).toContain('add "ES384" to jwt_supported_algs');
  });

  it.each([
    [503, vaultErrors('Vault is sealed'), 'EXCHANGE_FAILED', 'sealed'],
    [
      500,
      vaultErrors(
        'error getting provider for login operation: Get "https://x/.well-known/openid-configuration": dial tcp: i/o timeout',
      ),
      'EXCHANGE_FAILED',
      'oidc_discovery_url',
    ],
    [429, vaultErrors('request path "auth/jwt/login": rate limit quota exceeded'), 'THROTTLED', 'quota'],
    [502, '<html>Bad Gateway</html>', 'EXCHANGE_FAILED', 'retries'],
  ] as const)('HTTP %i → retryable %s', async (status, body, code, hintWord) => {
    const jwt = await awsJwt();
    mockEndpoint(VAULT, '/v1/auth/jwt/login', [
      [status, body, typeof body === 'string' ? { 'content-type': 'text/html' } : {}],
    ]);
    const error = await rejectionOf(
      fromVaultJwtLogin({ address: VAULT, role: 'r', webIdentityToken: staticJwt(jwt).provider, retry: false })(),
    );
    expect(error).toMatchObject({ code, retryable: true });
    expect(error.hint).toContain(hintWord);
  });

  it.each([
    ['an HTML 400', [400, '<html>nope</html>', { 'content-type': 'text/html' }]],
    ['a 200 without auth', [200, { data: {}, auth: null }]],
    ['a truncated 200', [200, '{"auth":{"client_token":"hvs.', { 'content-type': 'application/json' }]],
  ] as const)('%s is INVALID_RESPONSE', async (_name, answer) => {
    const jwt = await awsJwt();
    mockEndpoint(VAULT, '/v1/auth/jwt/login', [answer as never]);
    const error = await rejectionOf(
      fromVaultJwtLogin({ address: VAULT, role: 'r', webIdentityToken: staticJwt(jwt).provider, retry: false })(),
    );
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE', provider: 'oidc' });
  });

  it('checks options before any I/O', () => {
    const webIdentityToken = staticJwt('x').provider;
    expect(() => fromVaultJwtLogin({ role: 'r', webIdentityToken })).toThrow(/address is required/);
    expect(() => fromVaultJwtLogin({ address: VAULT, webIdentityToken } as never)).toThrow(/role must be a string/);
    expect(() => fromVaultJwtLogin({ address: VAULT, role: 'r' })).toThrow(
      /aws.audience is required: use one of the Vault role/,
    );
    expect(() => fromVaultJwtLogin({ address: VAULT, role: 'r', mount: 'auth/jwt', webIdentityToken })).toThrow(
      /after auth\//,
    );
    expect(() => fromVaultJwtLogin({ address: VAULT, role: 'r', mount: 'a b', webIdentityToken })).toThrow(
      /mount must be/,
    );
    expect(() => fromVaultJwtLogin({ address: 'http://vault.example.com:8200', role: 'r', webIdentityToken })).toThrow(
      /https/,
    );
    expect(() => fromVaultJwtLogin({ address: 'http://127.0.0.1:8200', role: 'r', webIdentityToken })).not.toThrow();
  });
});
