import { randomUUID } from 'node:crypto';
import { AWS_CLAIMS_KEY, type KeylessError } from '@keyless/core';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordingLogger } from '../../../../test/support/leaks.js';
import { createAwsTokenVerifier, verifyAwsWebIdentityToken } from '../../src/index.js';
import { rejectionOf } from '../fixtures.js';
import {
  ACCOUNT,
  AUDIENCE,
  hmacWithPublicKey,
  type LoopbackIssuer,
  newKey,
  ROLE_ARN,
  signToken,
  startIssuer,
  type TestKey,
  unsignedToken,
} from '../issuer.js';

const T0 = new Date('2026-03-01T12:00:00Z');

let rsa: TestKey;
let ec: TestKey;
let issuers: LoopbackIssuer[] = [];

async function issuerWith(keys: TestKey[]): Promise<LoopbackIssuer> {
  const issuer = await startIssuer(keys);
  issuers.push(issuer);
  return issuer;
}

/** A nock-served AWS-like issuer (https, unique per test). */
function nockIssuer(keys: TestKey[], document: Record<string, unknown> = {}) {
  const issuer = `https://${randomUUID()}.tokens.sts.global.api.aws`;
  const scope = nock(issuer)
    .get('/.well-known/openid-configuration')
    .reply(200, { issuer, jwks_uri: `${issuer}/.well-known/jwks.json`, ...document })
    .get('/.well-known/jwks.json')
    .reply(200, { keys: keys.map((k) => k.jwk) });
  return { issuer, scope };
}

function reasonOf(error: KeylessError): unknown {
  return error.details.reason;
}

beforeEach(async () => {
  rsa ??= await newKey('RS256', 'RSA_0');
  ec ??= await newKey('ES384', 'EC384_0');
});

afterEach(async () => {
  vi.useRealTimers();
  nock.cleanAll();
  await Promise.all(issuers.map((i) => i.close()));
  issuers = [];
});

describe('valid tokens', () => {
  it('accepts RS256 and ES384 tokens with typed claims and the protected header; keys are fetched once', async () => {
    const { issuer, scope } = nockIssuer([rsa, ec]);
    const verify = createAwsTokenVerifier({ issuer, audience: AUDIENCE, subject: ROLE_ARN });
    const viaRsa = await verify(await signToken(rsa, issuer));
    const viaEc = await verify(await signToken(ec, issuer));
    scope.done();
    expect(viaRsa.protectedHeader).toEqual({ alg: 'RS256', kid: 'RSA_0', typ: 'JWT' });
    expect(viaEc.protectedHeader.alg).toBe('ES384');
    const { claims } = viaRsa;
    expect(claims.iss).toBe(issuer);
    expect(claims.sub).toBe(ROLE_ARN);
    expect(claims.aud).toBe(AUDIENCE);
    expect(claims[AWS_CLAIMS_KEY]?.aws_account).toBe(ACCOUNT);
    expect(claims[AWS_CLAIMS_KEY]?.principal_tags).toEqual({ team: 'reporting' });
    // Nothing is mocked any more: a third token is verified from the cached keys.
    await expect(verify(await signToken(rsa, issuer))).resolves.toBeTruthy();
  });

  it('accepts an aud array that contains an expected audience, and a subject predicate', async () => {
    const { issuer } = nockIssuer([rsa]);
    const verify = createAwsTokenVerifier({
      issuer,
      audience: ['other', AUDIENCE],
      subject: (sub) => sub.startsWith('arn:aws:iam::111122223333:role/'),
    });
    const { claims } = await verify(await signToken(rsa, issuer, { claims: { aud: ['x', AUDIENCE] } }));
    expect(claims.aud).toEqual(['x', AUDIENCE]);
  });

  it('accepts a token within the clock tolerance, and a token without kid when several keys could match', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const other = await newKey('RS256', 'RSA_1');
    const { issuer } = nockIssuer([other, rsa]);
    const verify = createAwsTokenVerifier({ issuer, audience: AUDIENCE });
    const expiredRecently = await signToken(rsa, issuer, { iat: -320, lifetime: 300 });
    await expect(verify(expiredRecently)).resolves.toBeTruthy();
    const noKid = await signToken(rsa, issuer, { header: { kid: undefined } });
    await expect(verify(noKid)).resolves.toBeTruthy();
  });

  it('verifyAwsWebIdentityToken caches discovery and keys per issuer across calls', async () => {
    const { issuer, scope } = nockIssuer([rsa]);
    await verifyAwsWebIdentityToken(await signToken(rsa, issuer), { issuer, audience: AUDIENCE });
    await verifyAwsWebIdentityToken(await signToken(rsa, issuer), { issuer, audience: AUDIENCE, subject: ROLE_ARN });
    scope.done();
    const wrong = await rejectionOf(
      verifyAwsWebIdentityToken(await signToken(rsa, issuer), { issuer, audience: 'someone-else' }),
    );
    expect(reasonOf(wrong)).toBe('audience');
  });

  it('jwksUri skips discovery; it must be on the issuer’s origin', async () => {
    const issuer = `https://${randomUUID()}.tokens.sts.global.api.aws`;
    const scope = nock(issuer)
      .get('/keys')
      .reply(200, { keys: [rsa.jwk] });
    const verify = createAwsTokenVerifier({ issuer, audience: AUDIENCE, jwksUri: `${issuer}/keys` });
    await expect(verify(await signToken(rsa, issuer))).resolves.toBeTruthy();
    scope.done();
    expect(() =>
      createAwsTokenVerifier({ issuer, audience: AUDIENCE, jwksUri: 'https://elsewhere.example/keys' }),
    ).toThrow(/jwksUri must be on the issuer's origin/);
  });
});

describe('rejections (TOKEN_REJECTED with a precise reason)', () => {
  it('alg none is rejected before any request', async () => {
    const issuer = `https://${randomUUID()}.tokens.sts.global.api.aws`;
    const error = await rejectionOf(createAwsTokenVerifier({ issuer, audience: AUDIENCE })(unsignedToken(issuer)));
    expect(error).toMatchObject({ code: 'TOKEN_REJECTED', provider: 'oidc', retryable: false });
    expect(reasonOf(error)).toBe('algorithm');
    expect(error.message).toContain('"none"');
  });

  it('HS256 signed with the issuer’s RSA public key as the HMAC secret is rejected (key confusion)', async () => {
    const { issuer } = nockIssuer([rsa]);
    const verify = createAwsTokenVerifier({ issuer, audience: AUDIENCE });
    const error = await rejectionOf(verify(await hmacWithPublicKey(rsa, issuer)));
    expect(reasonOf(error)).toBe('algorithm');
    expect(error.hint).toMatch(/HMAC/);
    expect(() => createAwsTokenVerifier({ issuer, audience: AUDIENCE, algorithms: ['HS256' as never] })).toThrow(
      /algorithms must be a subset of RS256, ES384/,
    );
  });

  it('ES384 is refused when algorithms allows only RS256', async () => {
    const { issuer } = nockIssuer([rsa, ec]);
    const error = await rejectionOf(
      createAwsTokenVerifier({ issuer, audience: AUDIENCE, algorithms: ['RS256'] })(await signToken(ec, issuer)),
    );
    expect(reasonOf(error)).toBe('algorithm');
  });

  it('a token of another issuer is rejected without fetching that issuer’s keys', async () => {
    const { issuer } = nockIssuer([rsa]);
    const attacker = 'https://attacker.example';
    // If the verifier followed the token's iss, these would be fetched (and the test would fail on scope state).
    const trap = nock(attacker)
      .get('/.well-known/openid-configuration')
      .reply(200, {})
      .get('/.well-known/jwks.json')
      .reply(200, {});
    const error = await rejectionOf(
      createAwsTokenVerifier({ issuer, audience: AUDIENCE })(await signToken(rsa, attacker)),
    );
    expect(reasonOf(error)).toBe('issuer');
    expect(error.details.presented?.iss).toBe(attacker);
    expect(trap.isDone()).toBe(false);
  });

  it('a foreign iss is rejected before discovery (no request at all)', async () => {
    const issuer = `https://${randomUUID()}.tokens.sts.global.api.aws`; // nothing mocked: a request would fail
    const error = await rejectionOf(
      createAwsTokenVerifier({ issuer, audience: AUDIENCE })(await signToken(rsa, 'https://attacker.example')),
    );
    expect(error.code).toBe('TOKEN_REJECTED');
    expect(reasonOf(error)).toBe('issuer');
  });

  it('a discovery document naming another issuer is refused (INVALID_RESPONSE), keys are never fetched', async () => {
    const issuer = `https://${randomUUID()}.tokens.sts.global.api.aws`;
    const scope = nock(issuer)
      .get('/.well-known/openid-configuration')
      .reply(200, { issuer: 'https://other.example', jwks_uri: `${issuer}/.well-known/jwks.json` });
    const error = await rejectionOf(
      createAwsTokenVerifier({ issuer, audience: AUDIENCE })(await signToken(rsa, issuer)),
    );
    scope.done();
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE', provider: 'oidc' });
    expect(error.message).toContain('https://other.example');
  });

  it('a jwks_uri on another origin is refused', async () => {
    const { issuer } = nockIssuer([], { jwks_uri: 'https://keys.attacker.example/jwks.json' });
    const error = await rejectionOf(
      createAwsTokenVerifier({ issuer, audience: AUDIENCE })(await signToken(rsa, issuer)),
    );
    expect(error.code).toBe('INVALID_RESPONSE');
    expect(error.message).toContain('jwks_uri');
  });

  it.each([
    ['a different string aud', { claims: { aud: 'https://other.example' } }, 'audience'],
    ['an aud array without the audience', { claims: { aud: ['a', 'b'] } }, 'audience'],
    ['a different sub', { claims: { sub: 'arn:aws:iam::111122223333:role/intruder' } }, 'subject'],
    ['an expired token', { iat: -400, lifetime: 300 }, 'expired'],
    ['a token not valid yet (nbf)', { claims: { nbf: Math.floor(T0.getTime() / 1000) + 120 } }, 'not_yet_valid'],
    ['a token issued in the future (iat)', { iat: 120 }, 'issued_in_future'],
    ['a token issued over an hour ago', { iat: -4000, lifetime: 7200 }, 'too_old'],
    ['a token without exp', { omit: ['exp'] }, 'missing_claim'],
    ['a token without sub', { omit: ['sub'] }, 'missing_claim'],
    ['a token without iat', { omit: ['iat'] }, 'missing_claim'],
  ] as const)('%s → %s', async (_name, token, reason) => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const { issuer } = nockIssuer([rsa]);
    const verify = createAwsTokenVerifier({ issuer, audience: AUDIENCE, subject: [ROLE_ARN] });
    const error = await rejectionOf(verify(await signToken(rsa, issuer, token as never)));
    expect(error).toMatchObject({ code: 'TOKEN_REJECTED', provider: 'oidc', retryable: false });
    expect(reasonOf(error)).toBe(reason);
    expect(error.hint).toBeTruthy();
    expect(error.details.expected).toMatchObject({ issuer, audience: [AUDIENCE] });
  });

  it('the audience hint names the audience callers must request', async () => {
    const { issuer } = nockIssuer([rsa]);
    const error = await rejectionOf(
      createAwsTokenVerifier({ issuer, audience: AUDIENCE })(await signToken(rsa, issuer, { claims: { aud: 'x' } })),
    );
    expect(error.hint).toContain(`"${AUDIENCE}"`);
    expect(error.details.presented).toMatchObject({ aud: 'x', sub: ROLE_ARN, alg: 'RS256' });
  });

  it('a tampered payload fails the signature check', async () => {
    const { issuer } = nockIssuer([rsa]);
    const token = await signToken(rsa, issuer);
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.sub = 'arn:aws:iam::111122223333:role/admin';
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const error = await rejectionOf(createAwsTokenVerifier({ issuer, audience: AUDIENCE })(forged));
    expect(reasonOf(error)).toBe('signature');
  });

  it('accepts a large token (50 long principal tags), and keeps control characters out of messages', async () => {
    const { issuer } = nockIssuer([rsa]);
    const verify = createAwsTokenVerifier({ issuer, audience: AUDIENCE, subject: ROLE_ARN });
    const tags = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}${'x'.repeat(120)}`, 'v'.repeat(256)]));
    const large = await signToken(rsa, issuer, { aws: { principal_tags: tags } });
    expect(large.length).toBeGreaterThan(16_384);
    await expect(verify(large)).resolves.toBeTruthy();
    const forged = await signToken(rsa, issuer, { claims: { sub: 'arn:aws:iam::1:role/x\nERROR admin logged in' } });
    const error = await rejectionOf(verify(forged));
    expect(reasonOf(error)).toBe('subject');
    expect(error.message).not.toContain('\n');
    expect(error.details.presented?.sub).toBe('arn:aws:iam::1:role/x?ERROR admin logged in');
  });

  it('garbage is malformed', async () => {
    const issuer = `https://${randomUUID()}.tokens.sts.global.api.aws`;
    const verify = createAwsTokenVerifier({ issuer, audience: AUDIENCE });
    for (const token of ['', 'abc', 'a.b.c', `${'x'.repeat(20_000)}.y.z`, 42 as never]) {
      expect(reasonOf(await rejectionOf(verify(token)))).toBe('malformed');
    }
  });

  describe('requiredClaims', () => {
    it.each([
      [{ names: ['jti'] }, { omit: ['jti'] }, 'missing_claim', 'jti'],
      [{ awsAccount: '999988887777' }, {}, 'claim_mismatch', 'https://sts.amazonaws.com/aws_account'],
      [{ orgId: ['o-zzz'] }, {}, 'claim_mismatch', 'https://sts.amazonaws.com/org_id'],
      [{ orgId: 'o-abc123' }, { aws: { org_id: undefined } }, 'missing_claim', 'https://sts.amazonaws.com/org_id'],
      [{ sourceRegion: 'us-east-1' }, {}, 'claim_mismatch', 'https://sts.amazonaws.com/source_region'],
      [{ principalTags: { team: ['billing'] } }, {}, 'claim_mismatch', 'https://sts.amazonaws.com/principal_tags.team'],
      [{ principalTags: { env: 'prod' } }, {}, 'missing_claim', 'https://sts.amazonaws.com/principal_tags.env'],
    ] as const)('%j on %j → %s', async (requiredClaims, token, reason, claim) => {
      const { issuer } = nockIssuer([rsa]);
      const verify = createAwsTokenVerifier({ issuer, audience: AUDIENCE, requiredClaims: requiredClaims as never });
      const error = await rejectionOf(verify(await signToken(rsa, issuer, token as never)));
      expect(reasonOf(error)).toBe(reason);
      expect(error.details.claim).toBe(claim);
    });

    it('passes when every requirement holds', async () => {
      const { issuer } = nockIssuer([rsa]);
      const verify = createAwsTokenVerifier({
        issuer,
        audience: AUDIENCE,
        requiredClaims: {
          names: ['jti'],
          awsAccount: [ACCOUNT, '444455556666'],
          orgId: 'o-abc123',
          sourceRegion: ['eu-west-1'],
          principalTags: { team: ['reporting', 'billing'] },
        },
      });
      await expect(verify(await signToken(rsa, issuer))).resolves.toBeTruthy();
    });
  });
});

describe('key rotation, outages and the cool-down (loopback issuer, fake Date)', () => {
  it('an unknown kid causes one JWKS re-fetch; a rotated-in key then verifies', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const idp = await issuerWith([rsa]);
    const verify = createAwsTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE });
    await verify(await signToken(rsa, idp.issuer));
    expect(idp.counts).toEqual({ discovery: 1, jwks: 1 });

    const next = await newKey('RS256', 'RSA_1');
    idp.keys = [rsa, next];
    vi.setSystemTime(T0.getTime() + 31_000);
    const { protectedHeader } = await verify(await signToken(next, idp.issuer));
    expect(protectedHeader.kid).toBe('RSA_1');
    expect(idp.counts).toEqual({ discovery: 1, jwks: 2 });
    // Both keys are now cached: neither costs a request.
    await verify(await signToken(rsa, idp.issuer));
    await verify(await signToken(next, idp.issuer));
    expect(idp.counts.jwks).toBe(2);
  });

  it('an unknown kid is refetched once, then rejected as unknown_key; repeated unknown kids inside the cool-down cost nothing', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const idp = await issuerWith([rsa]);
    const verify = createAwsTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE });
    await verify(await signToken(rsa, idp.issuer));
    vi.setSystemTime(T0.getTime() + 31_000);
    const stranger = await newKey('RS256', 'RSA_9');
    const first = await rejectionOf(verify(await signToken(stranger, idp.issuer)));
    expect(reasonOf(first)).toBe('unknown_key');
    expect(first.message).toContain('"RSA_9"');
    expect(idp.counts.jwks).toBe(2);
    // A storm of tokens with unknown kids inside the 30 s cool-down: no further JWKS request.
    for (let i = 0; i < 20; i++) {
      const error = await rejectionOf(verify(await signToken(await newKey('RS256', `RSA_x${i}`), idp.issuer)));
      expect(reasonOf(error)).toBe('unknown_key');
    }
    expect(idp.counts.jwks).toBe(2);
    vi.setSystemTime(T0.getTime() + 62_000);
    await rejectionOf(verify(await signToken(stranger, idp.issuer)));
    expect(idp.counts.jwks).toBe(3);
  });

  it('during a JWKS outage cached keys keep working; a new kid fails with a clear, retryable error; no refetch storm', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const idp = await issuerWith([rsa]);
    const { logger, lines } = recordingLogger();
    const verify = createAwsTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, logger });
    await verify(await signToken(rsa, idp.issuer));
    idp.jwksMode = 'unavailable';
    // Well past the 10-minute cache age: the old keys are refreshed in the background, and still used.
    vi.setSystemTime(T0.getTime() + 11 * 60_000);
    await expect(verify(await signToken(rsa, idp.issuer))).resolves.toBeTruthy();
    await vi.waitFor(() =>
      expect(lines.some((l) => l.startsWith('warn') && l.includes('JWKS refresh failed'))).toBe(true),
    );
    expect(idp.counts.jwks).toBe(2);

    const rotated = await newKey('RS256', 'RSA_2');
    vi.setSystemTime(T0.getTime() + 11 * 60_000 + 31_000);
    const error = await rejectionOf(verify(await signToken(rotated, idp.issuer)));
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE', provider: 'oidc', retryable: true });
    expect(error.message).toContain('"RSA_2"');
    expect(error.message).toContain('1 cached keys');
    expect(error.details.status).toBe(503);
    expect(idp.counts.jwks).toBe(3);

    // Inside the failure cool-down: neither old nor new kids cause requests; old ones still verify.
    for (let i = 0; i < 10; i++) {
      await expect(verify(await signToken(rsa, idp.issuer))).resolves.toBeTruthy();
      expect((await rejectionOf(verify(await signToken(rotated, idp.issuer)))).retryable).toBe(true);
    }
    expect(idp.counts.jwks).toBe(3);

    // The outage ends: after the cool-down the new key is fetched and accepted.
    idp.jwksMode = 'ok';
    idp.keys = [rsa, rotated];
    vi.setSystemTime(T0.getTime() + 11 * 60_000 + 62_000);
    await expect(verify(await signToken(rotated, idp.issuer))).resolves.toBeTruthy();
    expect(idp.counts.jwks).toBe(4);
  });

  it('a background refresh drops keys the issuer no longer publishes', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const idp = await issuerWith([rsa]);
    const verify = createAwsTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, jwksCacheMaxAgeSeconds: 60 });
    await verify(await signToken(rsa, idp.issuer));
    const replacement = await newKey('RS256', 'RSA_3');
    idp.keys = [replacement];
    vi.setSystemTime(T0.getTime() + 61_000);
    await verify(await signToken(rsa, idp.issuer)); // served from the old set while the refresh runs
    await vi.waitFor(() => expect(idp.counts.jwks).toBe(2));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const error = await rejectionOf(verify(await signToken(rsa, idp.issuer)));
    expect(reasonOf(error)).toBe('unknown_key');
    await expect(verify(await signToken(replacement, idp.issuer))).resolves.toBeTruthy();
  });

  it.each([
    ['reset', 'NETWORK'],
    ['unavailable', 'INVALID_RESPONSE'],
    ['html', 'INVALID_RESPONSE'],
  ] as const)('discovery %s → %s, and the next call tries again', async (mode, code) => {
    const idp = await issuerWith([rsa]);
    idp.discoveryMode = mode;
    const verify = createAwsTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE });
    const error = await rejectionOf(verify(await signToken(rsa, idp.issuer)));
    expect(error).toMatchObject({ code, provider: 'oidc' });
    expect(error.retryable).toBe(mode !== 'html');
    idp.discoveryMode = 'ok';
    await expect(verify(await signToken(rsa, idp.issuer))).resolves.toBeTruthy();
    expect(idp.counts.discovery).toBe(2);
  });

  it.each([
    ['reset', 'NETWORK'],
    ['unavailable', 'INVALID_RESPONSE'],
    ['html', 'INVALID_RESPONSE'],
    ['silent', 'TIMEOUT'],
  ] as const)('first JWKS fetch %s → %s', async (mode, code) => {
    const idp = await issuerWith([rsa]);
    idp.jwksMode = mode;
    const verify = createAwsTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, requestTimeoutMs: 100 });
    const error = await rejectionOf(verify(await signToken(rsa, idp.issuer)));
    expect(error).toMatchObject({ code, provider: 'oidc' });
    expect(error.message).toContain('Could not load the keys');
  });
});

describe('option checks', () => {
  it.each([
    [{ audience: AUDIENCE }, 'issuer must be an absolute'],
    [{ issuer: 'http://issuer.example', audience: AUDIENCE }, 'issuer must use https'],
    [{ issuer: 'https://issuer.example' }, 'audience is required'],
    [{ issuer: 'https://issuer.example', audience: [] }, 'audience must be a string or a non-empty array'],
    [{ issuer: 'https://issuer.example', audience: 'a', algorithms: [] }, 'algorithms must be a non-empty subset'],
    [{ issuer: 'https://issuer.example', audience: 'a', algorithms: ['none'] }, 'algorithms must be a subset'],
    [{ issuer: 'https://issuer.example', audience: 'a', algorithms: 'RS256' }, 'algorithms must be a non-empty subset'],
    [
      { issuer: 'https://issuer.example', audience: 'a', clockToleranceSeconds: 301 },
      'clockToleranceSeconds must be a number 0..300',
    ],
    [{ issuer: 'https://issuer.example', audience: 'a', subject: 42 }, 'subject must be a string or a non-empty array'],
    [
      { issuer: 'https://issuer.example', audience: 'a', requiredClaims: { account: 'x' } },
      'requiredClaims.account is not a known requirement',
    ],
    [
      { issuer: 'https://issuer.example', audience: 'a', jwksCooldownSeconds: -1 },
      'jwksCooldownSeconds must be a number 0..3600',
    ],
  ])('%j → INVALID_CONFIG (%s)', async (options, message) => {
    expect(() => createAwsTokenVerifier(options as never)).toThrow(message);
    await expect(verifyAwsWebIdentityToken('x', options as never)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
