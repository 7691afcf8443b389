/**
 * Property tests (fast-check): the options of every provider and of the verifier, OAuth token
 * endpoint answers (errors and successes), Vault login answers, discovery documents, and whatever a
 * caller hands the verifier. Any input yields a result or a KeylessError, never another exception or
 * a hang.
 */
import { decodeAwsWebIdentityClaims, type KeylessError } from '@keyless/core';
import fc from 'fast-check';
import { base64url } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ASYNC_RUNS,
  answer,
  answerFetchWith,
  expectKeylessError,
  expectUsableToken,
  fieldsOf,
  fieldValue,
  jsonValue,
  RUNS,
  resultOrKeylessError,
  seconds,
  settlesWithResultOrKeylessError,
  toHttpResponse,
  tokenValue,
} from '../../../../test/reliability/support/properties.js';
import { makeAwsJwt } from '../../../../test/support/aws.js';
import { createDiscovery } from '../../src/discovery.js';
import {
  createAwsTokenVerifier,
  fromDatabricks,
  fromJwtBearer,
  fromTokenExchange,
  fromVaultJwtLogin,
} from '../../src/index.js';
import { tokenEndpointError } from '../../src/oauth-error.js';
import { readTokenResponse } from '../../src/token-response.js';
import { AUDIENCE, newKey, ROLE_ARN, signToken, type TestKey } from '../issuer.js';

beforeEach(() => {
  for (const name of ['VAULT_ADDR', 'VAULT_NAMESPACE', 'DATABRICKS_HOST', 'AWS_REGION', 'AWS_DEFAULT_REGION']) {
    vi.stubEnv(name, '');
  }
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const anything = fc.oneof(fieldValue, jsonValue, fc.constant(undefined), fc.func(fc.constant(undefined)));
const someString = (...samples: string[]) => fc.oneof(fc.constantFrom(...samples), fc.string(), anything);
const url = someString(
  'https://auth.example.com/token',
  'http://127.0.0.1:8200',
  'http://auth.example.com/token',
  'https://user:pw@auth.example.com/',
  'https://auth.example.com/#frag',
  'https://auth.example.com/?q=1',
);
const common = {
  aws: fc.oneof(
    fc.record({ audience: anything, durationSeconds: anything, signingAlgorithm: anything }, { requiredKeys: [] }),
    anything,
  ),
  webIdentityToken: anything,
  requestTimeoutMs: fc.oneof(fc.integer({ min: -1, max: 700_000 }), anything),
  retry: fc.oneof(fc.constant(false), fieldsOf(['maxAttempts', 'baseDelayMs']), anything),
  refreshBeforeExpirySeconds: fc.oneof(fc.integer({ min: -1, max: 90_000 }), anything),
  defaultExpiresInSeconds: fc.oneof(fc.integer({ min: 0, max: 90_000 }), anything),
  logger: anything,
};
const clientAuth = fc.oneof(
  fc.record(
    {
      method: someString('none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'),
      clientId: someString('client'),
      clientSecret: someString('s3cr3t'),
    },
    { requiredKeys: [] },
  ),
  anything,
);
const CONFIG: KeylessError['code'][] = ['INVALID_CONFIG', 'REGION_REQUIRED'];

describe('property: options are validated, never crash', () => {
  it('fromTokenExchange and fromJwtBearer(any options) → a provider or INVALID_CONFIG', () => {
    const options = fc.record(
      {
        tokenEndpoint: url,
        issuer: url,
        audience: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), anything),
        resource: fc.oneof(fc.array(url, { maxLength: 2 }), url),
        scope: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), anything),
        requestedTokenType: someString('access_token', 'urn:ietf:params:oauth:token-type:jwt', 'weird'),
        subjectTokenType: someString('jwt', 'id_token', 'saml2'),
        clientId: anything,
        clientAuth,
        extraParams: fc.oneof(
          fc.dictionary(fc.constantFrom('grant_type', 'subject_token', 'custom', 'scope'), anything),
          anything,
        ),
        ...common,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(options, anything), (value) => {
        resultOrKeylessError(() => fromTokenExchange(value as never), CONFIG);
        resultOrKeylessError(() => fromJwtBearer(value as never), CONFIG);
      }),
      RUNS,
    );
  });

  it('fromVaultJwtLogin and fromDatabricks(any options) → a provider or INVALID_CONFIG', () => {
    const options = fc.record(
      {
        address: url,
        role: someString('reporting'),
        mount: someString('jwt', 'aws/jwt', 'auth/jwt', '/jwt/', '../x'),
        namespace: someString('admin/team'),
        host: someString('dbc-1234.cloud.databricks.com', 'https://accounts.cloud.databricks.com', 'http://x'),
        clientId: anything,
        accountId: someString('a1b2c3d4-0000-4000-8000-000000000000'),
        scope: fc.oneof(fc.array(fc.string(), { maxLength: 2 }), anything),
        ...common,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(options, anything), (value) => {
        resultOrKeylessError(() => fromVaultJwtLogin(value as never), CONFIG);
        resultOrKeylessError(() => fromDatabricks(value as never), CONFIG);
      }),
      RUNS,
    );
  });

  it('createAwsTokenVerifier(any options) → a verifier or INVALID_CONFIG', () => {
    const list = fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.string(), anything);
    const options = fc.record(
      {
        issuer: url,
        audience: list,
        subject: fc.oneof(
          list,
          fc.constant((sub: string) => sub.length > 0),
        ),
        algorithms: fc.oneof(fc.array(fc.constantFrom('RS256', 'ES384', 'HS256', 'none'), { maxLength: 3 }), anything),
        clockToleranceSeconds: fc.oneof(fc.integer({ min: -1, max: 400 }), anything),
        requiredClaims: fc.oneof(
          fc.record(
            {
              names: list,
              awsAccount: list,
              orgId: list,
              sourceRegion: list,
              principalTags: fc.oneof(fc.dictionary(fc.string(), list), anything),
              other: anything,
            },
            { requiredKeys: [] },
          ),
          anything,
        ),
        jwksUri: url,
        jwksCacheMaxAgeSeconds: fc.oneof(fc.integer({ min: 0, max: 90_000 }), anything),
        jwksCooldownSeconds: fc.oneof(fc.integer({ min: -1, max: 4_000 }), anything),
        requestTimeoutMs: fc.oneof(fc.integer({ min: 0, max: 70_000 }), anything),
        logger: anything,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(options, anything), (value) => {
        resultOrKeylessError(() => createAwsTokenVerifier(value as never), CONFIG);
      }),
      RUNS,
    );
  });
});

const oauthBody = fieldsOf([
  'error',
  'error_description',
  'error_uri',
  'access_token',
  'token_type',
  'expires_in',
  'issued_token_type',
  'scope',
  'refresh_token',
]);
const oauthSuccess = fc.record(
  {
    access_token: tokenValue,
    token_type: fc.constantFrom('Bearer', 'N_A', '', undefined, 7),
    expires_in: seconds,
    issued_token_type: fc.constantFrom('urn:ietf:params:oauth:token-type:access_token', undefined),
    scope: fc.oneof(fc.string(), fc.constant(undefined)),
    refresh_token: fc.oneof(tokenValue, fc.constant(undefined)),
  },
  { requiredKeys: ['access_token'] },
);
const presented = fc.record(
  { iss: fc.string(), sub: fc.string(), aud: fc.oneof(fc.string(), fc.array(fc.string())), alg: fc.string() },
  { requiredKeys: [] },
);

describe('property: token endpoint and Vault answers are parsed, never crash', () => {
  it('tokenEndpointError(any answer) → a KeylessError that never quotes the JWT or the client secret', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0aGUtand0LXN1YmplY3QifQ.c2lnbmF0dXJlLW9mLXRoZS1qd3Q';
    const secret = 'client-secret-0123456789';
    // Servers do echo what they were sent: put both into every string field the answer carries.
    const echoing = answer(oauthBody).map((a) => ({ ...a, text: a.text.replaceAll('a', `a ${jwt} ${secret} `) }));
    fc.assert(
      fc.property(fc.oneof(answer(oauthBody), echoing), presented, (a, p) => {
        const error = tokenEndpointError(toHttpResponse(a), {
          service: 'the token endpoint https://auth.example.com/token',
          grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
          presented: p,
          secrets: [jwt, secret],
          rejectedHint: 'r',
          targetHint: 't',
          clientHint: 'c',
          scopeHint: 's',
        });
        expectKeylessError(error);
        expect(error.provider).toBe('oidc');
        if (a.status === 429 || a.status >= 500) expect(error.retryable).toBe(true);
        const text = `${error.message} ${error.hint ?? ''} ${JSON.stringify(error.details)}`;
        expect(text).not.toContain(secret);
        expect(text).not.toContain('c2lnbmF0dXJlLW9mLXRoZS1qd3Q');
      }),
      RUNS,
    );
  });

  it('readTokenResponse(any 2xx answer) → an access token or INVALID_RESPONSE', () => {
    fc.assert(
      fc.property(answer(oauthBody, oauthSuccess), (a) => {
        const started = Date.now();
        const token = resultOrKeylessError(
          () =>
            readTokenResponse(toHttpResponse(a), {
              service: 'the token endpoint',
              started,
              fallbackExpiresAt: started + 300_000,
              presented: {},
            }),
          ['INVALID_RESPONSE'],
        );
        if (token) {
          expect(token.accessToken.length).toBeGreaterThan(0);
          expect(typeof token.tokenType).toBe('string');
          expect(token.expiresAt).toBeInstanceOf(Date);
        }
      }),
      RUNS,
    );
  });

  it('fromTokenExchange and fromVaultJwtLogin with any answer → a usable token expiring in the future, or a KeylessError', async () => {
    const jwt = await makeAwsJwt({ audience: 'https://auth.example.com', lifetime: 3600 });
    const claims = decodeAwsWebIdentityClaims(jwt);
    const webIdentityToken = async () => ({ token: jwt, expiresAt: new Date(claims.exp * 1000), claims });
    const vaultSuccess = fc.record(
      {
        auth: fc.oneof(
          fc.record(
            {
              client_token: tokenValue,
              accessor: fc.oneof(fc.string(), anything),
              policies: fc.oneof(fc.array(fc.string(), { maxLength: 2 }), anything),
              token_policies: anything,
              metadata: fc.oneof(fc.dictionary(fc.string(), fc.string()), anything),
              lease_duration: seconds,
              renewable: anything,
              entity_id: anything,
              token_type: anything,
            },
            { requiredKeys: ['client_token'] },
          ),
          anything,
        ),
        warnings: fc.oneof(fc.array(fc.string(), { maxLength: 2 }), anything),
        errors: anything,
      },
      { requiredKeys: ['auth'] },
    );
    const vaultBody = fc.record(
      { errors: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), anything), auth: anything },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(answer(oauthBody, oauthSuccess), answer(vaultBody, vaultSuccess), async (oauth, vault) => {
        answerFetchWith(oauth);
        const exchanged = await settlesWithResultOrKeylessError(
          fromTokenExchange({ tokenEndpoint: 'https://auth.example.com/token', webIdentityToken, retry: false })(),
        );
        if (exchanged) {
          expectUsableToken(exchanged.accessToken, exchanged.expiresAt);
          expect(exchanged.expiresAt.getTime()).toBeGreaterThan(Date.now() + 10_000);
        }
        answerFetchWith(vault);
        const vaultToken = await settlesWithResultOrKeylessError(
          fromVaultJwtLogin({ address: 'https://vault.example.com', role: 'r', webIdentityToken, retry: false })(),
        );
        if (vaultToken) {
          expectUsableToken(vaultToken.accessToken, vaultToken.expiresAt);
          expect(vaultToken.expiresAt.getTime()).toBeGreaterThan(Date.now() + 10_000);
          expect(Array.isArray(vaultToken.policies)).toBe(true);
        }
      }),
      ASYNC_RUNS,
    );
  });

  it('discovery with any answer → a document for exactly this issuer, or a KeylessError', async () => {
    const issuer = 'https://idp.example.com';
    const document = fc.record(
      {
        issuer: fc.oneof(fc.constantFrom(issuer, `${issuer}/`, 'https://other.example.com'), anything),
        token_endpoint: fc.oneof(url, anything),
        jwks_uri: fc.oneof(url, anything),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(answer(document, document), async (a) => {
        answerFetchWith(a);
        const discovery = createDiscovery({
          issuer,
          oauthFallback: true,
          timeoutMs: 1_000,
          log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        });
        const found = await settlesWithResultOrKeylessError(discovery());
        if (found) expect(found.issuer).toBe(issuer);
      }),
      ASYNC_RUNS,
    );
  });
});

describe('property: the verifier takes any input', () => {
  const ISSUER = 'https://issuer.example.com';
  let key: TestKey;
  beforeAll(async () => {
    key = await newKey('RS256', 'RSA_0');
  });
  /** The issuer's discovery document and JWKS, served through a stubbed fetch. */
  function serveIssuer() {
    vi.stubGlobal('fetch', async (input: string | URL) => {
      const href = String(input);
      const body = href.endsWith('/.well-known/openid-configuration')
        ? { issuer: ISSUER, jwks_uri: `${ISSUER}/.well-known/jwks.json` }
        : href.endsWith('/.well-known/jwks.json')
          ? { keys: [key.jwk] }
          : undefined;
      return new Response(body ? JSON.stringify(body) : 'not found', { status: body ? 200 : 404 });
    });
  }
  const part = (value: unknown) => base64url.encode(JSON.stringify(value) ?? 'null');
  const header = fc.oneof(
    fc.record(
      {
        alg: fc.oneof(fc.constantFrom('RS256', 'ES384', 'HS256', 'none'), anything),
        kid: fc.oneof(fc.constant('RSA_0'), anything),
        typ: anything,
        crit: anything,
        b64: anything,
      },
      { requiredKeys: [] },
    ),
    anything,
  );
  // JSON values only: the signed tokens must be serialisable.
  const anyJson = fc.oneof(fieldValue, jsonValue);
  const payload = fc.oneof(
    fc.record(
      {
        iss: fc.oneof(fc.constant(ISSUER), anyJson),
        sub: fc.oneof(fc.constant(ROLE_ARN), anyJson),
        aud: fc.oneof(fc.constant(AUDIENCE), fc.array(fc.string()), anyJson),
        iat: fc.oneof(
          fc.integer({ min: -4_000, max: 4_000 }).map((d) => Math.floor(Date.now() / 1000) + d),
          anyJson,
        ),
        exp: fc.oneof(
          fc.integer({ min: -4_000, max: 4_000 }).map((d) => Math.floor(Date.now() / 1000) + d),
          anyJson,
        ),
        nbf: anyJson,
        'https://sts.amazonaws.com/': anyJson,
      },
      { requiredKeys: [] },
    ),
    anyJson,
  );

  it('verify(anything) → verified claims, or a KeylessError (TOKEN_REJECTED for a bad token)', async () => {
    serveIssuer();
    const verify = createAwsTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: { awsAccount: '111122223333', principalTags: { team: 'reporting' } },
    });
    const forged = fc
      .tuple(header, payload, fc.string())
      .map(([h, p, signature]) => `${part(h)}.${part(p)}.${base64url.encode(signature)}`);
    // Real signatures over arbitrary claims and header fields: they reach jose's checks and keyless's own.
    const signed = fc
      .record({
        claims: payload,
        header: fc.dictionary(fc.constantFrom('typ', 'cty', 'x5u', 'jku'), fc.oneof(fc.string(), fc.integer()), {
          maxKeys: 2,
        }),
      })
      .map((parts) => ({ signed: parts }));
    const input = fc.oneof(forged, fc.string(), anything, signed);
    await fc.assert(
      fc.asyncProperty(input, async (value) => {
        let token: unknown = value;
        if (typeof value === 'object' && value !== null && 'signed' in value) {
          const { claims, header: extra } = (value as { signed: { claims: unknown; header: Record<string, unknown> } })
            .signed;
          const plain = typeof claims === 'object' && claims !== null && !Array.isArray(claims);
          token = await signToken(key, ISSUER, {
            claims: plain ? (claims as Record<string, unknown>) : {},
            header: extra,
          });
        }
        const verified = await settlesWithResultOrKeylessError(verify(token as string));
        if (verified) {
          expect(verified.claims.iss).toBe(ISSUER);
          expect(verified.claims.sub).toEqual(expect.any(String));
        }
      }),
      { ...ASYNC_RUNS, numRuns: 150 },
    );
  });
});
