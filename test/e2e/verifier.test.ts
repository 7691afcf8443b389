/**
 * The receiving side: @keyless/oidc's verifier on tokens from the emulator's STS (through @keyless/core),
 * with discovery and JWKS over HTTP from the lab's issuer, through key rotations.
 */
import { AWS_CLAIMS_KEY, fromAwsWebIdentityToken } from '@keyless/core';
import { type Emulator, startEmulator } from '@keyless/emulator';
import { type AwsTokenVerifierOptions, createAwsTokenVerifier, verifyAwsWebIdentityToken } from '@keyless/oidc';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { keylessRejection, labAws, secret } from './support/lab.js';

const AUDIENCE = 'https://api.example.com';

let lab: Emulator;

beforeAll(async () => {
  lab = await startEmulator();
});
afterAll(async () => {
  await lab?.close();
});
afterEach(() => {
  vi.useRealTimers();
  lab.stats.reset();
});

/** A fresh STS token for AUDIENCE (a new provider, so never a cached one). */
async function stsToken(signingAlgorithm: 'RS256' | 'ES384' = 'RS256'): Promise<string> {
  const { token } = await fromAwsWebIdentityToken({ ...labAws(lab), audience: AUDIENCE, signingAlgorithm })();
  return secret(token);
}

function kidOf(jwt: string): string {
  return (JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid: string }).kid;
}

function verifier(options: Partial<AwsTokenVerifierOptions> = {}) {
  return createAwsTokenVerifier({ issuer: lab.issuer, audience: AUDIENCE, ...options });
}

describe('verifying emulator tokens', () => {
  test('an RS256 token from STS: typed claims, the AWS context, required claims met', async () => {
    const verify = verifier({ requiredClaims: { awsAccount: lab.accountId, principalTags: { project: 'keyless' } } });
    const { claims, protectedHeader } = await verify(await stsToken());
    expect(claims).toMatchObject({ iss: lab.issuer, sub: lab.roleArn, aud: AUDIENCE });
    expect(claims[AWS_CLAIMS_KEY]).toMatchObject({
      aws_account: lab.accountId,
      source_region: lab.region,
      principal_tags: { project: 'keyless' },
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(lab.keyIds()).toContain(protectedHeader.kid);
    expect(lab.stats.get('issuer:openid-configuration').calls).toBe(1);
    expect(lab.stats.get('issuer:jwks').calls).toBe(1);
  });

  test('verifyAwsWebIdentityToken on an ES384 token', async () => {
    const { protectedHeader, claims } = await verifyAwsWebIdentityToken(await stsToken('ES384'), {
      issuer: lab.issuer,
      audience: AUDIENCE,
      subject: lab.roleArn,
    });
    expect(protectedHeader.alg).toBe('ES384');
    expect(claims.sub).toBe(lab.roleArn);
  });

  test('rotation keeping the previous keys: tokens of both generations verify', async () => {
    const verify = verifier({ jwksCooldownSeconds: 0 });
    const before = await stsToken();
    await verify(before);

    const newKids = await lab.rotateKeys();
    const after = await stsToken();
    expect(newKids).toContain(kidOf(after));
    expect(kidOf(after)).not.toBe(kidOf(before));

    await verify(after); // an unknown kid: one new JWKS fetch
    await verify(before);
    expect(lab.stats.get('issuer:jwks').calls).toBe(2);
  });

  test('rotation dropping the previous keys: old tokens are refused once the verifier sees the new JWKS', async () => {
    const verify = verifier({ jwksCooldownSeconds: 0 });
    const before = await stsToken();
    await verify(before);

    await lab.rotateKeys({ keepPrevious: false });
    await verify(await stsToken());

    const error = await keylessRejection(verify(before));
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'oidc',
      details: { reason: 'unknown_key', kid: kidOf(before), presented: { iss: lab.issuer, sub: lab.roleArn } },
    });
    expect(error.hint).toMatch(/key/);
  });

  test('with the default cool-down a new kid is refused until the cool-down has passed, then accepted', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const verify = verifier(); // jwksCooldownSeconds: 30
    await verify(await stsToken());

    await lab.rotateKeys();
    const rotated = await stsToken();
    const error = await keylessRejection(verify(rotated));
    expect(error.details).toMatchObject({ reason: 'unknown_key', kid: kidOf(rotated) });
    expect(error.message).toMatch(/cool-down/);

    vi.setSystemTime(Date.now() + 31_000);
    const { protectedHeader } = await verify(rotated);
    expect(protectedHeader.kid).toBe(kidOf(rotated));
  });
});

describe('rejected tokens name the field', () => {
  const verify = () => verifier();

  test('another audience', async () => {
    const token = secret(await lab.mintWebIdentityToken({ audience: 'https://other.example.com' }));
    const error = await keylessRejection(verify()(token));
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'oidc',
      retryable: false,
      details: { reason: 'audience', presented: { aud: 'https://other.example.com', sub: lab.roleArn } },
    });
    expect(error.hint).toContain(JSON.stringify(AUDIENCE));
  });

  test('another issuer (another AWS account)', async () => {
    const token = secret(
      await lab.mintWebIdentityToken({ audience: AUDIENCE, issuer: 'https://0b4e7a3c.tokens.sts.global.api.aws' }),
    );
    const error = await keylessRejection(verify()(token));
    expect(error.details).toMatchObject({
      reason: 'issuer',
      presented: { iss: 'https://0b4e7a3c.tokens.sts.global.api.aws' },
    });
    expect(error.hint).toMatch(/issuer/);
  });

  test('a subject that is not allowed', async () => {
    const error = await keylessRejection(
      verifier({ subject: 'arn:aws:iam::123456789012:role/keyless-prod' })(await stsToken()),
    );
    expect(error.details).toMatchObject({ reason: 'subject', presented: { sub: lab.roleArn } });
    expect(error.hint).toMatch(/subject/);
  });

  test('a bad signature and an expired token', async () => {
    const forged = secret(await lab.mintWebIdentityToken({ audience: AUDIENCE, untrustedKey: true }));
    expect((await keylessRejection(verify()(forged))).details.reason).toBe('signature');
    const expired = secret(await lab.mintWebIdentityToken({ audience: AUDIENCE, lifetimeSeconds: -120 }));
    expect((await keylessRejection(verify()(expired))).details.reason).toBe('expired');
  });
});
