/**
 * RFC 8693, RFC 7523 and Vault login × the fault matrix (test/reliability/matrix.ts), through the
 * shared fault suite; and the verifier's discovery/JWKS cells that its contract tests leave open.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { faultSuite, rejection } from '../../../../test/reliability/support/fault-suite.js';
import {
  type Reply,
  type ScriptedServer,
  startScriptedServer,
} from '../../../../test/reliability/support/scripted-server.js';
import {
  type AwsTokenVerifierOptions,
  createAwsTokenVerifier,
  fromJwtBearer,
  fromTokenExchange,
  fromVaultJwtLogin,
} from '../../src/index.js';
import { AUDIENCE as AUDIENCE_VERIFIED, newKey, signToken, type TestKey } from '../issuer.js';

const AUDIENCE = 'https://auth.example.com';

function tokenBody(token: string, lifetime: number) {
  return {
    status: 200,
    body: {
      access_token: token,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: lifetime,
    },
  };
}

const expiredGrant = {
  reply: { status: 400, body: { error: 'invalid_grant', error_description: 'the subject token has expired' } },
  code: 'TOKEN_REJECTED' as const,
};

faultSuite({
  endpoint: 'token-exchange',
  provider: 'oidc',
  path: '/token',
  create: ({ origin, sts, retry, requestTimeoutMs, logger }) => {
    const provider = fromTokenExchange({
      tokenEndpoint: `${origin}/token`,
      aws: { client: sts, audience: AUDIENCE },
      retry,
      logger,
      ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
    });
    return { get: async (signal) => (await provider(signal ? { signal } : {})).accessToken };
  },
  success: tokenBody,
  lifetime: 3600,
  malformed: { status: 200, body: { access_token: 'x', expires_in: 'soon' } },
  malformedRetryable: false,
  presented: (request) => new URLSearchParams(request.body).get('subject_token') ?? undefined,
  presentedLifetime: 300,
  expired: expiredGrant,
});

faultSuite({
  endpoint: 'jwt-bearer',
  provider: 'oidc',
  path: '/token',
  create: ({ origin, sts, retry, requestTimeoutMs, logger }) => {
    const provider = fromJwtBearer({
      tokenEndpoint: `${origin}/token`,
      aws: { client: sts, audience: `${AUDIENCE}/token` },
      retry,
      logger,
      ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
    });
    return { get: async (signal) => (await provider(signal ? { signal } : {})).accessToken };
  },
  success: tokenBody,
  lifetime: 3600,
  malformed: { status: 200, body: { token_type: 'Bearer', expires_in: 3600 } },
  malformedRetryable: false,
  presented: (request) => new URLSearchParams(request.body).get('assertion') ?? undefined,
  presentedLifetime: 300,
  expired: expiredGrant,
});

faultSuite({
  endpoint: 'vault-login',
  provider: 'oidc',
  path: '/v1/auth/jwt/login',
  create: ({ origin, sts, retry, requestTimeoutMs, logger }) => {
    const provider = fromVaultJwtLogin({
      address: origin,
      role: 'reporting',
      aws: { client: sts, audience: 'vault' },
      retry,
      logger,
      ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
    });
    return { get: async (signal) => (await provider(signal ? { signal } : {})).accessToken };
  },
  success: (token, lifetime) => ({
    status: 200,
    body: {
      request_id: '8e2d8f5a-0000-4000-8000-000000000000',
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: null,
      wrap_info: null,
      warnings: null,
      auth: {
        client_token: token,
        accessor: 'hmac-accessor',
        policies: ['default', 'reporting'],
        token_policies: ['default', 'reporting'],
        metadata: { role: 'reporting' },
        lease_duration: lifetime,
        renewable: true,
        entity_id: 'f1c4d3e2-0000-4000-8000-000000000000',
        token_type: 'service',
        orphan: true,
      },
    },
  }),
  lifetime: 3600,
  malformed: { status: 200, body: { auth: { client_token: 7, lease_duration: 3600 } } },
  malformedRetryable: false,
  presented: (request) => (JSON.parse(request.body) as { jwt?: string }).jwt,
  presentedLifetime: 300,
  expired: {
    reply: {
      status: 400,
      body: {
        errors: ['error validating signature: oidc: token is expired (Token Expiry: 2026-01-01 00:00:00 +0000 UTC)'],
      },
    },
    code: 'TOKEN_REJECTED',
  },
});

describe('verifier-keys: discovery and JWKS cells its contract tests leave open', () => {
  const DISCOVERY = '/.well-known/openid-configuration';
  const JWKS = '/.well-known/jwks.json';
  let server: ScriptedServer | undefined;
  let rsa: TestKey;

  beforeEach(async () => {
    rsa ??= await newKey('RS256', 'RSA_0');
    server = await startScriptedServer();
  });
  afterEach(async () => {
    vi.useRealTimers();
    const unexpected = server?.unexpected ?? [];
    await server?.close();
    server = undefined;
    expect(unexpected.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  /** The issuer's discovery document and key set, as AWS publishes them (PROTOCOLS §2.7). */
  const discovery = (issuer: string): Reply => ({
    status: 200,
    body: { issuer, jwks_uri: `${issuer}${JWKS}`, id_token_signing_alg_values_supported: ['RS256', 'ES384'] },
  });
  const jwks = (): Reply => ({ status: 200, body: { keys: [rsa.jwk] } });
  const verifier = (options: Partial<AwsTokenVerifierOptions> = {}) =>
    createAwsTokenVerifier({
      issuer: server!.origin,
      audience: AUDIENCE_VERIFIED,
      requestTimeoutMs: 1_000,
      ...options,
    });

  it('[verifier-keys × http-429] a throttled discovery or JWKS fetch: THROTTLED (retryable) carrying Retry-After; the next call fetches again', async () => {
    const issuer = server!.origin;
    const throttled: Reply = { status: 429, body: 'slow down', headers: { 'retry-after': '30' } };
    server!.answer(DISCOVERY, throttled, discovery(issuer), discovery(issuer));
    server!.answer(JWKS, jwks());
    const verify = verifier();
    const first = await rejection(verify(await signToken(rsa, issuer)));
    expect(first).toMatchObject({ code: 'THROTTLED', retryable: true, retryAfterMs: 30_000 });
    await expect(verify(await signToken(rsa, issuer))).resolves.toBeTruthy();

    server!.answer(JWKS, throttled, jwks());
    const fresh = verifier();
    const keys = await rejection(fresh(await signToken(rsa, issuer)));
    expect(keys).toMatchObject({ code: 'THROTTLED', retryable: true });
    expect(keys.message).toContain('Could not load the keys');
    expect(server!.requestsTo(JWKS)).toHaveLength(2);
  });

  it('[verifier-keys × http-429] a throttled JWKS fetch keeps Retry-After (retryAfterMs) on its way through jose', async () => {
    const issuer = server!.origin;
    server!.answer(DISCOVERY, discovery(issuer));
    server!.answer(JWKS, { status: 429, body: 'slow down', headers: { 'retry-after': '30' } });
    const error = await rejection(verifier()(await signToken(rsa, issuer)));
    expect(error.code).toBe('THROTTLED');
    // aws-token-verifier.ts joseError() rebuilds the KeylessError without retryAfterMs.
    expect(error.retryAfterMs).toBe(30_000);
  });

  it('[verifier-keys × dropped] a discovery or JWKS body cut off mid-transfer: retryable NETWORK; the next call recovers', async () => {
    const issuer = server!.origin;
    server!.answer(DISCOVERY, 'dropped', discovery(issuer), discovery(issuer));
    server!.answer(JWKS, 'dropped', jwks());
    const verify = verifier();
    expect(await rejection(verify(await signToken(rsa, issuer)))).toMatchObject({
      code: 'NETWORK',
      retryable: true,
    });
    const keys = await rejection(verify(await signToken(rsa, issuer)));
    expect(keys).toMatchObject({ code: 'NETWORK', retryable: true });
    expect(keys.message).toContain('Could not load the keys');
    // The failed JWKS fetch starts the cool-down (default 30 s): a new verifier shows the recovery.
    await expect(verifier()(await signToken(rsa, issuer))).resolves.toBeTruthy();
  });

  it('[verifier-keys × truncated] truncated JSON from discovery or the JWKS: INVALID_RESPONSE, not retryable', async () => {
    const issuer = server!.origin;
    const cut: Reply = {
      status: 200,
      body: '{"issuer":"http://127.0.0.1',
      headers: { 'content-type': 'application/json' },
    };
    server!.answer(DISCOVERY, cut, discovery(issuer));
    server!.answer(JWKS, { ...cut, body: '{"keys":[{"kty":"RSA","n":"' });
    const verify = verifier();
    expect(await rejection(verify(await signToken(rsa, issuer)))).toMatchObject({
      code: 'INVALID_RESPONSE',
      retryable: false,
    });
    expect(await rejection(verify(await signToken(rsa, issuer)))).toMatchObject({
      code: 'INVALID_RESPONSE',
      retryable: false,
    });
  });

  it.each([
    ['a JWK Set without a keys array', { keys: 'RSA_0' }],
    ['a key with garbage material', { keys: [{ kty: 'RSA', kid: 'RSA_0', alg: 'RS256', n: 'AQAB', e: '!!' }] }],
    ['keys that are not objects', { keys: [null, 42] }],
  ])('[verifier-keys × malformed] %s: INVALID_RESPONSE, never a verified token', async (_name, body) => {
    const issuer = server!.origin;
    server!.answer(DISCOVERY, discovery(issuer));
    server!.answer(JWKS, { status: 200, body });
    const error = await rejection(verifier()(await signToken(rsa, issuer)));
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE', provider: 'oidc' });
  });

  it('[verifier-keys × malformed] a discovery document without jwks_uri: INVALID_RESPONSE naming it', async () => {
    const issuer = server!.origin;
    server!.answer(DISCOVERY, { status: 200, body: { issuer } });
    const error = await rejection(verifier()(await signToken(rsa, issuer)));
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE' });
    expect(error.message).toContain('jwks_uri');
  });

  it('[verifier-keys × slow] discovery and JWKS answering after 300 ms, inside requestTimeoutMs: verified', async () => {
    const issuer = server!.origin;
    server!.answer(DISCOVERY, { ...discovery(issuer), delayMs: 300 });
    server!.answer(JWKS, { ...jwks(), delayMs: 300 });
    const { claims } = await verifier({ requestTimeoutMs: 5_000 })(await signToken(rsa, issuer));
    expect(claims.iss).toBe(issuer);
  });

  it('[verifier-keys × clock-skew] a caller 5 minutes ahead or behind: rejected with the precise reason, accepted within clockToleranceSeconds', async () => {
    const issuer = server!.origin;
    server!.answer(DISCOVERY, discovery(issuer), discovery(issuer));
    server!.answer(JWKS, jwks(), jwks());
    const strict = verifier();
    const lenient = verifier({ clockToleranceSeconds: 300 });
    const ahead = await signToken(rsa, issuer, { iat: 290, lifetime: 300 });
    const behind = await signToken(rsa, issuer, { iat: -590, lifetime: 300 });
    expect((await rejection(strict(ahead))).details.reason).toBe('issued_in_future');
    expect((await rejection(strict(behind))).details.reason).toBe('expired');
    await expect(lenient(ahead)).resolves.toBeTruthy();
    await expect(lenient(behind)).resolves.toBeTruthy();
  });

  it('[verifier-keys × expires-mid-request] a token that expires while its keys are fetched is rejected as expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const issuer = server!.origin;
    server!.answer(DISCOVERY, discovery(issuer));
    server!.answer(JWKS, () => {
      vi.setSystemTime(Date.now() + 60_000);
      return jwks();
    });
    // 20 s left when it arrives (below the 30 s tolerance it would pass, so: 20 s left, 60 s fetch).
    const token = await signToken(rsa, issuer, { iat: -280, lifetime: 300 });
    const error = await rejection(verifier()(token));
    expect(error).toMatchObject({ code: 'TOKEN_REJECTED', retryable: false, details: { reason: 'expired' } });
  });
});
