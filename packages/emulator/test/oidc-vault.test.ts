import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULTS, type Emulator, startEmulator } from '../src/index.js';
import { type JsonAnswer, postForm, requestJson, stsToken } from './helpers.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

let lab: Emulator;
beforeAll(async () => {
  lab = await startEmulator();
});
afterAll(() => lab.close());
afterEach(() => {
  lab.trust.reset();
  lab.faults.clear();
  lab.clock.reset();
});

describe('RFC 8693 / RFC 7523 token endpoint', () => {
  const exchange = (
    subjectToken: string,
    extra: Record<string, string | undefined> = {},
    headers: Record<string, string> = {},
  ) =>
    postForm(
      lab.oidc.tokenEndpoint,
      { grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: JWT_TYPE, ...extra },
      headers,
    );

  function expectError(answer: JsonAnswer, status: number, error: string, description?: string) {
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ error, error_description: description ?? expect.any(String) });
  }

  it('publishes discovery under both well-known names', async () => {
    for (const name of ['openid-configuration', 'oauth-authorization-server']) {
      const doc = (await requestJson(`${lab.oidc.issuer}/.well-known/${name}`)).body;
      expect(doc).toMatchObject({
        issuer: lab.oidc.issuer,
        token_endpoint: lab.oidc.tokenEndpoint,
        jwks_uri: lab.oidc.jwksUri,
        grant_types_supported: [TOKEN_EXCHANGE, JWT_BEARER],
      });
    }
  });

  it('exchanges the STS token for an access token its JWKS verifies, then introspects it', async () => {
    const answer = await exchange(await stsToken(lab, lab.oidc.audience), {
      audience: 'https://api.example.com',
      scope: 'read write',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      access_token: expect.any(String),
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: expect.any(Number),
      scope: 'read write',
    });
    // Capped by the STS token's own exp: 300 s, or 299 when a second boundary passed in between.
    expect([299, 300]).toContain(answer.body.expires_in);
    const { payload } = await jwtVerify(
      String(answer.body.access_token),
      createRemoteJWKSet(new URL(lab.oidc.jwksUri)),
      {
        issuer: lab.oidc.issuer,
        audience: 'https://api.example.com',
      },
    );
    expect(payload).toMatchObject({ sub: lab.roleArn, scope: 'read write' });
    const introspection = await postForm(lab.oidc.introspectionEndpoint, { token: String(answer.body.access_token) });
    expect(introspection.body).toMatchObject({ active: true, sub: lab.roleArn, iss: lab.oidc.issuer });
    expect((await postForm(lab.oidc.introspectionEndpoint, { token: 'nope' })).body).toEqual({ active: false });
  });

  it('accepts an RFC 7523 assertion addressed to the issuer or to the token endpoint', async () => {
    for (const audience of [lab.oidc.issuer, lab.oidc.tokenEndpoint]) {
      const answer = await postForm(lab.oidc.tokenEndpoint, {
        grant_type: JWT_BEARER,
        assertion: await stsToken(lab, audience),
      });
      expect(answer.status).toBe(200);
      expect(answer.body).not.toHaveProperty('issued_token_type');
      expect(answer.body.token_type).toBe('Bearer');
    }
  });

  it('rejects issuer, subject, audience, signature and expiry mismatches with invalid_grant', async () => {
    const aud = lab.oidc.audience;
    expectError(
      await exchange(await lab.mintWebIdentityToken({ audience: aud, issuer: 'https://evil.example' })),
      400,
      'invalid_grant',
      'No trust rule accepts tokens from issuer "https://evil.example" for this grant.',
    );
    expectError(
      await exchange(await lab.mintWebIdentityToken({ audience: aud, subject: 'arn:aws:iam::1:role/x' })),
      400,
      'invalid_grant',
    );
    expectError(
      await exchange(await stsToken(lab, 'wrong')),
      400,
      'invalid_grant',
      `The token audience [wrong] is not accepted; expected "${aud}".`,
    );
    expectError(
      await exchange(await lab.mintWebIdentityToken({ audience: aud, untrustedKey: true })),
      400,
      'invalid_grant',
      'The token signature could not be verified.',
    );
    expectError(
      await exchange(await lab.mintWebIdentityToken({ audience: aud, lifetimeSeconds: -61 })),
      400,
      'invalid_grant',
      'The token has expired or is not yet valid.',
    );
  });

  it('enforces client authentication, scopes and targets of the rule', async () => {
    lab.trust.oidc.addRule({
      name: 'strict',
      issuer: lab.issuer,
      subject: '*',
      audience: 'strict-api',
      client: { id: 'app', secret: 's3cret' },
      scopes: ['read'],
      targets: ['https://api.example.com'],
    });
    const token = await stsToken(lab, 'strict-api');
    expectError(await exchange(token), 401, 'invalid_client', 'Client authentication failed.');
    const wrongSecret = await exchange(
      token,
      {},
      { authorization: `Basic ${Buffer.from('app:nope').toString('base64')}` },
    );
    expectError(wrongSecret, 401, 'invalid_client');
    expect(wrongSecret.headers.get('www-authenticate')).toBe('Basic realm="keyless-emulator"');
    const basic = { authorization: `Basic ${Buffer.from('app:s3cret').toString('base64')}` };
    expect((await exchange(token, { scope: 'read' }, basic)).status).toBe(200);
    expect((await exchange(token, { client_id: 'app', client_secret: 's3cret' })).status).toBe(200);
    expectError(await exchange(token, { scope: 'admin' }, basic), 400, 'invalid_scope');
    expectError(await exchange(token, { resource: 'https://other.example.com' }, basic), 400, 'invalid_target');
  });

  it('answers RFC 6749 errors for malformed requests', async () => {
    const token = await stsToken(lab, lab.oidc.audience);
    expectError(
      await postForm(lab.oidc.tokenEndpoint, { grant_type: 'client_credentials' }),
      400,
      'unsupported_grant_type',
    );
    expectError(await postForm(lab.oidc.tokenEndpoint, {}), 400, 'invalid_request');
    expectError(await exchange(token, { subject_token_type: ACCESS_TOKEN_TYPE }), 400, 'invalid_request');
    expectError(
      await postForm(lab.oidc.tokenEndpoint, { grant_type: TOKEN_EXCHANGE, subject_token_type: JWT_TYPE }),
      400,
      'invalid_request',
      'Missing required parameter "subject_token".',
    );
  });
});

describe('Vault JWT auth', () => {
  const login = (body: Record<string, unknown>, mount = 'jwt') =>
    requestJson(`${lab.vault.address}/v1/auth/${mount}/login`, body);
  const expectVaultError = (answer: JsonAnswer, status: number, message: string) => {
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ errors: [message] });
  };

  it('logs in and the token looks itself up', async () => {
    const answer = await login({ role: lab.vault.role, jwt: await stsToken(lab, lab.vault.audience) });
    expect(answer.status).toBe(200);
    expect(answer.body.auth).toEqual({
      client_token: expect.stringMatching(/^hvs\./),
      accessor: expect.any(String),
      policies: ['default', ...EMULATOR_DEFAULTS.vault.policies],
      token_policies: ['default', ...EMULATOR_DEFAULTS.vault.policies],
      metadata: { role: lab.vault.role },
      lease_duration: 3600,
      renewable: true,
      entity_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    });
    const token = (answer.body.auth as { client_token: string }).client_token;
    const self = await requestJson(`${lab.vault.address}/v1/auth/token/lookup-self`, undefined, {
      'x-vault-token': token,
    });
    expect(self.body.data).toMatchObject({ meta: { role: lab.vault.role }, path: 'auth/jwt/login', type: 'service' });
    expectVaultError(
      await requestJson(`${lab.vault.address}/v1/auth/token/lookup-self`, undefined, { 'x-vault-token': 'hvs.nope' }),
      403,
      'permission denied',
    );
  });

  it.each([
    [
      'an unknown role',
      async () => ({ role: 'nope', jwt: await stsToken(lab, 'vault') }),
      'role "nope" could not be found',
    ],
    [
      'the wrong audience',
      async () => ({ role: 'keyless-demo', jwt: await stsToken(lab, 'not-vault') }),
      'error validating token: invalid audience (aud) claim: audience claim does not match any expected audience',
    ],
    [
      'another subject',
      async () => ({
        role: 'keyless-demo',
        jwt: await lab.mintWebIdentityToken({ audience: 'vault', subject: 'arn:aws:iam::123456789012:role/x' }),
      }),
      'sub claim does not match bound subject',
    ],
    [
      'another AWS account (bound claim by JSON pointer)',
      async () => {
        lab.trust.vault.addRole({
          name: 'acct',
          boundAudiences: ['vault'],
          boundClaims: { '/https:~1~1sts.amazonaws.com~1/aws_account': '999999999999' },
        });
        return { role: 'acct', jwt: await stsToken(lab, 'vault') };
      },
      'claim "/https:~1~1sts.amazonaws.com~1/aws_account" does not match any associated bound claim values',
    ],
    [
      'an ES384 token (jwt_supported_algs defaults to RS256)',
      async () => ({ role: 'keyless-demo', jwt: await stsToken(lab, 'vault', { algorithm: 'ES384' }) }),
      'error validating token: unsupported signing algorithm: ES384',
    ],
    [
      'a bad signature',
      async () => ({
        role: 'keyless-demo',
        jwt: await lab.mintWebIdentityToken({ audience: 'vault', untrustedKey: true }),
      }),
      'error validating token: failed to verify signature: failed to verify id token signature',
    ],
    [
      'an expired token',
      async () => ({
        role: 'keyless-demo',
        jwt: await lab.mintWebIdentityToken({ audience: 'vault', lifetimeSeconds: -61 }),
      }),
      'error validating token: invalid expiration time (exp) claim: token is expired',
    ],
    [
      'another issuer',
      async () => ({ role: 'keyless-demo', jwt: await stsToken(lab, 'vault') }),
      'error validating token: invalid issuer (iss) claim',
    ],
    ['no token', async () => ({ role: 'keyless-demo' }), 'missing token'],
  ])('answers 400 with Vault’s message for %s', async (name, body, message) => {
    if (name === 'another issuer') lab.trust.vault.addMount({ path: 'jwt', boundIssuer: 'https://elsewhere.example' });
    expectVaultError(await login(await body()), 400, message);
  });

  it('answers 404 for a mount that does not exist', async () => {
    expectVaultError(
      await login({ role: 'x', jwt: 'y' }, 'oidc'),
      404,
      'no handler for route "auth/oidc/login". route entry not found.',
    );
  });
});
