/**
 * @keyless/oidc's providers against the emulator's OAuth server (RFC 8693 token exchange with discovery,
 * RFC 7523 JWT bearer) and its Vault (JWT auth login), each credential then used where it is meant to be.
 */
import { type Emulator, startEmulator } from '@keyless/emulator';
import { fromJwtBearer, fromTokenExchange, fromVaultJwtLogin } from '@keyless/oidc';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { keylessRejection, labAws, mintedProvider, secret, stsCalls } from './support/lab.js';

const WRONG_ROLE = 'arn:aws:iam::123456789012:role/keyless-prod';

let lab: Emulator;

beforeAll(async () => {
  lab = await startEmulator();
});
afterAll(async () => {
  await lab?.close();
});
afterEach(() => {
  lab.trust.reset();
  lab.stats.reset();
});

async function introspect(token: string): Promise<Record<string, unknown>> {
  const response = await fetch(lab.oidc.introspectionEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  return (await response.json()) as Record<string, unknown>;
}

/** The lab's default OAuth rule with `change` applied. */
function changeOAuthRule(change: { subject?: string; audience?: string }) {
  const rule = lab.trust.oidc.listRules()[0];
  if (!rule) throw new Error('the lab has no default OAuth rule');
  lab.trust.oidc.addRule({ ...rule, ...change });
}

describe('OAuth 2.0 token exchange (RFC 8693)', () => {
  test('discovers the token endpoint from the issuer and gets an access token the server introspects as active', async () => {
    const getToken = fromTokenExchange({
      issuer: lab.oidc.issuer,
      aws: { ...labAws(lab), audience: lab.oidc.audience },
    });
    const token = await getToken();
    secret(token.accessToken);
    expect(token).toMatchObject({
      tokenType: 'Bearer',
      issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
    });
    expect(await introspect(token.accessToken)).toMatchObject({ active: true, sub: lab.roleArn });

    // Cached: a second call is a memory read.
    expect((await getToken()).accessToken).toBe(token.accessToken);
    expect(lab.stats.get('oidc:token').calls).toBe(1);
    expect(lab.stats.get('oidc:discovery').calls).toBe(1);
    expect(stsCalls(lab)).toBe(1);
  });

  test('a rule for another subject: TOKEN_REJECTED (invalid_grant) quoting the presented claims', async () => {
    changeOAuthRule({ subject: WRONG_ROLE });
    const getToken = fromTokenExchange({
      tokenEndpoint: lab.oidc.tokenEndpoint,
      aws: { ...labAws(lab), audience: lab.oidc.audience },
      retry: false,
    });
    const error = await keylessRejection(getToken());
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'oidc',
      retryable: false,
      details: {
        status: 400,
        targetCode: 'invalid_grant',
        presented: { iss: lab.issuer, sub: lab.roleArn, aud: lab.oidc.audience, alg: 'RS256' },
      },
    });
    // invalid_grant does not say which field failed: the hint names all three and quotes what was sent.
    expect(error.hint).toContain('the role ARN (sub)');
    expect(error.hint).toContain(`sub=${lab.roleArn}`);
  });
});

describe('OAuth 2.0 JWT bearer grant (RFC 7523)', () => {
  test('the AWS JWT is the grant: an active access token', async () => {
    const getToken = fromJwtBearer({
      tokenEndpoint: lab.oidc.tokenEndpoint,
      clientId: lab.oidc.clientId,
      aws: { ...labAws(lab), audience: lab.oidc.audience },
    });
    const token = await getToken();
    secret(token.accessToken);
    expect(token.tokenType).toBe('Bearer');
    expect(await introspect(token.accessToken)).toMatchObject({ active: true, sub: lab.roleArn });
  });

  test('a rule for another audience: TOKEN_REJECTED quoting the aud that was presented', async () => {
    changeOAuthRule({ audience: 'https://example.com/another-audience' });
    const getToken = fromJwtBearer({
      tokenEndpoint: lab.oidc.tokenEndpoint,
      aws: { ...labAws(lab), audience: lab.oidc.audience },
      retry: false,
    });
    const error = await keylessRejection(getToken());
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'oidc',
      details: { targetCode: 'invalid_grant', presented: { aud: lab.oidc.audience } },
    });
    expect(error.hint).toContain('aws.audience');
    expect(error.hint).toContain(`aud=${lab.oidc.audience}`);
  });
});

describe('Vault JWT auth', () => {
  test('logs in with the AWS JWT; the Vault token works for lookup-self', async () => {
    const getToken = fromVaultJwtLogin({
      address: lab.vault.address,
      mount: lab.vault.mount,
      role: lab.vault.role,
      aws: { ...labAws(lab), audience: lab.vault.audience },
    });
    const token = await getToken();
    secret(token.accessToken);
    expect(token).toMatchObject({ tokenType: 'Vault', vaultTokenType: 'service' });
    expect(token.policies).toContain('keyless-demo');
    expect(token.expiresAt.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);

    const response = await fetch(`${lab.vault.address}/v1/auth/token/lookup-self`, {
      headers: { 'x-vault-token': token.accessToken },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: { meta: unknown } }).data.meta).toEqual({ role: lab.vault.role });
  });

  test('a role bound to another subject: TOKEN_REJECTED naming bound_subject', async () => {
    const role = lab.trust.vault.listRoles().find((r) => r.name === lab.vault.role);
    if (!role) throw new Error('the lab has no default Vault role');
    lab.trust.vault.addRole({ ...role, boundSubject: WRONG_ROLE });
    const getToken = fromVaultJwtLogin({
      address: lab.vault.address,
      role: lab.vault.role,
      aws: { ...labAws(lab), audience: lab.vault.audience },
      retry: false,
    });
    const error = await keylessRejection(getToken());
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'oidc',
      details: { status: 400, presented: { sub: lab.roleArn, aud: lab.vault.audience } },
    });
    expect(error.hint).toContain('bound_subject');
    expect(error.hint).toContain(lab.roleArn);
  });

  // Current Vault (hashicorp/cap, and the emulator) words a bound_audiences mismatch as "invalid audience
  // (aud) claim: audience claim does not match any expected audience"; older Vault as "aud claim does not
  // match any bound audience". Both must map to TOKEN_REJECTED.
  test('a JWT for another audience: TOKEN_REJECTED naming bound_audiences', async () => {
    const webIdentityToken = await mintedProvider(lab, { audience: 'not-vault' });
    const getToken = fromVaultJwtLogin({
      address: lab.vault.address,
      role: lab.vault.role,
      webIdentityToken,
      retry: false,
    });
    const error = await keylessRejection(getToken());
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'oidc',
      details: { presented: { aud: 'not-vault' } },
    });
    expect(error.hint).toContain('bound_audiences');
  });
});
