import nock from 'nock';
import { afterEach, describe, it, vi } from 'vitest';
import { errorText, expectNoSecrets, recordingLogger } from '../../../../test/support/leaks.js';
import { faults, withLoopbackServer } from '../../../../test/support/loopback.js';
import {
  createAwsTokenVerifier,
  fromDatabricks,
  fromJwtBearer,
  fromTokenExchange,
  fromVaultJwtLogin,
} from '../../src/index.js';
import { type Answer, awsJwt, mockEndpoint, staticJwt, tokenBody } from '../fixtures.js';
import { AUDIENCE, hmacWithPublicKey, newKey, signToken, startIssuer } from '../issuer.js';

const AS = 'https://auth.example.com';
const VAULT = 'https://vault.example.com';
const ACCESS_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJpc3N1ZWQtYWNjZXNzLXRva2VuIn0.c2lnbmF0dXJlLW9mLWFjY2Vzcy10b2tlbg';
const OPAQUE_TOKEN = 'at_9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddccbbaa99887766554433221100';
const REFRESH_TOKEN = 'rt_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
const VAULT_TOKEN = 'hvs.CAESIGtleWxlc3MtdGVzdC12YXVsdC10b2tlbi1ub3QtcmVhbBoeChxodnMuWGtleWxlc3M';
const CLIENT_SECRET = 'cs-7Yq!p@ss:w+rd/%e9c1b7a3f5d2e8c4';
const DATABRICKS_TOKEN = 'dapi0123456789abcdef0123456789abcdef';

afterEach(() => {
  vi.unstubAllEnvs();
  nock.cleanAll();
});

describe('no token, assertion, secret or body ever reaches a log line or an error', () => {
  it('token exchange, JWT bearer, Databricks and Vault: success and every error path', async () => {
    const jwt = await awsJwt();
    const { logger, lines } = recordingLogger();
    const errors: unknown[] = [];
    const run = async (provider: () => Promise<unknown>) => {
      try {
        await provider();
      } catch (error) {
        errors.push(error);
      }
    };
    const common = { webIdentityToken: staticJwt(jwt).provider, logger, retry: false as const };
    const basic = { method: 'client_secret_basic' as const, clientId: 'client', clientSecret: CLIENT_SECRET };
    const post = { method: 'client_secret_post' as const, clientId: 'client', clientSecret: CLIENT_SECRET };
    const answers: Answer[] = [
      [200, tokenBody(ACCESS_TOKEN, { refresh_token: REFRESH_TOKEN })],
      [200, tokenBody(OPAQUE_TOKEN, { expires_in: undefined })],
      [400, { error: 'invalid_grant', error_description: `assertion ${jwt} rejected` }],
      [400, { error: 'invalid_target' }],
      [400, { error: 'unauthorized_client' }],
      [401, { error: 'invalid_client', error_description: `bad secret ${CLIENT_SECRET}` }],
      [400, { error: 'invalid_scope' }],
      [400, { error: 'invalid_request', error_description: `subject_token=${jwt}` }],
      [400, { error: 'unsupported_grant_type' }],
      [429, { error: 'slow_down' }],
      [503, `<html>upstream echoed ${jwt}</html>`, { 'content-type': 'text/html' }],
      [400, `<html>${jwt}</html>`, { 'content-type': 'text/html' }],
      [200, { token_type: 'Bearer', echo: jwt }],
      [200, `{"access_token":"${OPAQUE_TOKEN}`],
    ];
    mockEndpoint(AS, '/token', answers);
    for (let i = 0; i < answers.length; i++) {
      const clientAuth = i % 2 === 0 ? basic : post;
      await run(() => fromTokenExchange({ ...common, tokenEndpoint: `${AS}/token`, clientAuth, audience: 'x' })());
    }
    mockEndpoint(AS, '/bearer', answers.slice(0, 4));
    for (let i = 0; i < 4; i++) {
      await run(() => fromJwtBearer({ ...common, tokenEndpoint: `${AS}/bearer`, clientAuth: basic })());
    }
    mockEndpoint('https://dbc-1.cloud.databricks.com', '/oidc/v1/token', [
      [200, { access_token: DATABRICKS_TOKEN, token_type: 'Bearer', expires_in: 3600 }],
      [401, ''],
      [400, { error: 'invalid_request', error_description: `bad token ${jwt}` }],
    ]);
    for (let i = 0; i < 3; i++) {
      await run(() => fromDatabricks({ ...common, host: 'dbc-1.cloud.databricks.com', clientId: 'sp' })());
    }
    const vaultAnswers: Answer[] = [
      [
        200,
        {
          auth: { client_token: VAULT_TOKEN, accessor: 'acc', lease_duration: 600, policies: ['p'] },
          warnings: [`echo ${jwt}`],
        },
      ],
      [400, { errors: ['error validating claims: aud claim does not match any bound audience'] }],
      [400, { errors: [`error validating signature: token ${jwt} failed to verify signature`] }],
      [403, { errors: ['permission denied'] }],
      [404, { errors: ['no handler for route "auth/jwt/login". route entry not found.'] }],
      [503, { errors: ['Vault is sealed'] }],
      [200, `{"auth":{"client_token":"${VAULT_TOKEN}`],
      [500, `<html>${VAULT_TOKEN}</html>`, { 'content-type': 'text/html' }],
    ];
    mockEndpoint(VAULT, '/v1/auth/jwt/login', vaultAnswers);
    for (let i = 0; i < vaultAnswers.length; i++) {
      await run(() => fromVaultJwtLogin({ ...common, address: VAULT, role: 'reporting' })());
    }
    await withLoopbackServer(faults.reset, (origin) =>
      run(() => fromTokenExchange({ ...common, tokenEndpoint: `${origin}/t` })()),
    );
    await withLoopbackServer(faults.silent, (origin) =>
      run(() => fromTokenExchange({ ...common, tokenEndpoint: `${origin}/t`, requestTimeoutMs: 50 })()),
    );
    await run(() => fromTokenExchange({ ...common, tokenEndpoint: `${AS}/unmocked` })());

    expectNoSecrets(
      [...lines, ...errors.map((e) => errorText(e))],
      [jwt, ACCESS_TOKEN, OPAQUE_TOKEN, REFRESH_TOKEN, VAULT_TOKEN, CLIENT_SECRET, DATABRICKS_TOKEN],
    );
    // The paths above really ran: one success per provider and the errors.
    if (errors.length < answers.length + 10) throw new Error(`only ${errors.length} errors collected`);
    if (!lines.some((l) => l.startsWith('debug'))) throw new Error('no debug lines were recorded');
  });

  it('the verifier: accepted and rejected tokens, discovery and JWKS failures', async () => {
    const key = await newKey('RS256', 'RSA_0');
    const idp = await startIssuer([key]);
    try {
      const { logger, lines } = recordingLogger();
      const errors: unknown[] = [];
      const tokens: string[] = [];
      const verify = createAwsTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, subject: 'nobody', logger });
      const attempt = async (token: string, verifier = verify) => {
        tokens.push(token);
        try {
          await verifier(token);
        } catch (error) {
          errors.push(error);
        }
      };
      const lenient = createAwsTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, logger });
      await attempt(await signToken(key, idp.issuer), lenient);
      await attempt(await signToken(key, idp.issuer));
      await attempt(await signToken(key, idp.issuer, { claims: { aud: 'other' } }));
      await attempt(await signToken(key, idp.issuer, { iat: -900 }));
      await attempt(await signToken(key, 'https://elsewhere.example'));
      await attempt(await hmacWithPublicKey(key, idp.issuer));
      await attempt(await signToken(await newKey('RS256', 'RSA_9'), idp.issuer));
      const forged = (await signToken(key, idp.issuer)).split('.');
      await attempt(`${forged[0]}.${forged[1]}.${forged[2]?.slice(0, -4)}AAAA`);
      idp.jwksMode = 'unavailable';
      const fresh = createAwsTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, logger });
      await attempt(await signToken(key, idp.issuer), fresh);
      idp.discoveryMode = 'html';
      const other = createAwsTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, logger });
      await attempt(await signToken(key, idp.issuer), other);
      if (errors.length !== tokens.length - 1)
        throw new Error(`expected ${tokens.length - 1} rejections, got ${errors.length}`);
      expectNoSecrets([...lines, ...errors.map((e) => errorText(e))], tokens);
    } finally {
      await idp.close();
    }
  });
});
