import { Storage } from '@google-cloud/storage';
import { IdentityPoolClient, OAuth2Client } from 'google-auth-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULTS, type Emulator, startEmulator } from '../src/index.js';
import { type JsonAnswer, postForm, requestJson, stsToken } from './helpers.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
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

const defaultAudience = () => `https:${lab.google.audience}`;

function exchange(subjectToken: string, overrides: Record<string, string | undefined> = {}): Promise<JsonAnswer> {
  return postForm(lab.google.stsTokenUrl, {
    grant_type: TOKEN_EXCHANGE,
    audience: lab.google.audience,
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    requested_token_type: ACCESS_TOKEN_TYPE,
    subject_token: subjectToken,
    subject_token_type: JWT_TYPE,
    ...overrides,
  });
}

function expectOAuthError(answer: JsonAnswer, error: string, description: string) {
  expect(answer.status).toBe(400);
  expect(answer.body).toEqual({ error, error_description: description });
}

async function federatedToken(): Promise<string> {
  const answer = await exchange(await stsToken(lab, defaultAudience()));
  expect(answer.status).toBe(200);
  return String(answer.body.access_token);
}

describe('Google STS token exchange', () => {
  it('trades the STS token (audience = provider name, with or without https:) for a federated token', async () => {
    for (const audience of [defaultAudience(), lab.google.audience]) {
      const answer = await exchange(await stsToken(lab, audience, { durationSeconds: 900 }));
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        access_token: expect.stringMatching(/^ya29\.d\./),
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: expect.any(Number),
      });
      // exp - now: 900, or 899 when a second boundary passed in between.
      expect([899, 900]).toContain(answer.body.expires_in);
    }
  });

  it('caps the federated token at one hour', async () => {
    const answer = await exchange(
      await lab.mintWebIdentityToken({ audience: defaultAudience(), lifetimeSeconds: 7200 }),
    );
    expect(answer.body.expires_in).toBe(3600);
  });

  it('rejects a token whose aud is not the provider or an allowed audience', async () => {
    const token = await stsToken(lab, 'sts.amazonaws.com');
    expectOAuthError(
      await exchange(token),
      'invalid_grant',
      'The audience in ID Token [sts.amazonaws.com] does not match the expected audience.',
    );
    lab.trust.google.addProvider({
      poolId: EMULATOR_DEFAULTS.google.poolId,
      providerId: EMULATOR_DEFAULTS.google.providerId,
      issuer: lab.issuer,
      allowedAudiences: ['sts.amazonaws.com'],
    });
    expect((await exchange(token)).status).toBe(200);
    // With allowed audiences set, the provider's own name no longer counts.
    expectOAuthError(
      await exchange(await stsToken(lab, defaultAudience())),
      'invalid_grant',
      `The audience in ID Token [${defaultAudience()}] does not match the expected audience.`,
    );
  });

  it('rejects a token from another issuer', async () => {
    const token = await lab.mintWebIdentityToken({ audience: defaultAudience(), issuer: 'https://other.example' });
    expectOAuthError(
      await exchange(token),
      'invalid_grant',
      `The issuer in ID Token https://other.example does not match the expected one in config: ${lab.issuer}`,
    );
  });

  it('rejects a bad signature, an ES384 token and an expired token', async () => {
    expectOAuthError(
      await exchange(await lab.mintWebIdentityToken({ audience: defaultAudience(), untrustedKey: true })),
      'invalid_grant',
      'Unable to verify the ID Token signature.',
    );
    expectOAuthError(
      await exchange(await stsToken(lab, defaultAudience(), { algorithm: 'ES384' })),
      'invalid_grant',
      "Error connecting to the given credential's issuer.",
    );
    const token = await stsToken(lab, defaultAudience(), { durationSeconds: 60 });
    lab.clock.advance(60 + 61);
    const answer = await exchange(token);
    expect(answer.body.error).toBe('invalid_grant');
    expect(answer.body.error_description).toMatch(/^ID Token issued at \d+ is stale to sign-in\.$/);
  });

  it('rejects a token the attribute condition refuses with unauthorized_client', async () => {
    const token = await lab.mintWebIdentityToken({
      audience: defaultAudience(),
      subject: 'arn:aws:iam::999999999999:role/stranger',
    });
    expectOAuthError(
      await exchange(token),
      'unauthorized_client',
      'The given credential is rejected by the attribute condition.',
    );
  });

  it('answers invalid_target for an unknown or disabled provider and invalid_request for a malformed audience', async () => {
    const token = await stsToken(lab, defaultAudience());
    const unknown = lab.google.audience.replace('/providers/aws', '/providers/nope');
    expect((await exchange(token, { audience: unknown })).body.error).toBe('invalid_target');
    lab.trust.google.addProvider({
      poolId: EMULATOR_DEFAULTS.google.poolId,
      providerId: EMULATOR_DEFAULTS.google.providerId,
      issuer: lab.issuer,
      disabled: true,
    });
    expect((await exchange(token)).body.error).toBe('invalid_target');
    const malformed = await exchange(token, { audience: 'my-pool' });
    expect(malformed.body).toEqual({
      error: 'invalid_request',
      error_description: expect.stringContaining(
        'Invalid value for "audience". This value should be the full resource name of the Identity Provider.',
      ),
    });
    expect((await exchange(token, { subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' })).body.error).toBe(
      'invalid_request',
    );
  });
});

describe('IAM Credentials generateAccessToken', () => {
  const generate = (
    token: string | undefined,
    body: unknown = { scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '600s' },
  ) => requestJson(lab.google.serviceAccountImpersonationUrl, body, token ? { authorization: `Bearer ${token}` } : {});

  it('impersonates the bound service account', async () => {
    const answer = await generate(await federatedToken());
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      accessToken: expect.stringMatching(/^ya29\.c\./),
      expireTime: expect.stringMatching(/Z$/),
    });
    expect(Date.parse(String(answer.body.expireTime)) - lab.clock.now().getTime()).toBeGreaterThan(590_000);
  });

  it('403 PERMISSION_DENIED when the federated principal has no workloadIdentityUser binding', async () => {
    lab.trust.google.removeServiceAccountMember(
      EMULATOR_DEFAULTS.google.serviceAccountEmail,
      lab.trust.google.listServiceAccounts()[0]!.members[0]!,
    );
    const answer = await generate(await federatedToken());
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({
      error: {
        code: 403,
        message: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        status: 'PERMISSION_DENIED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'IAM_PERMISSION_DENIED',
            domain: 'iam.googleapis.com',
            metadata: { permission: 'iam.serviceAccounts.getAccessToken' },
          },
        ],
      },
    });
  });

  it('accepts principalSet bindings on the pool or on the AWS account attribute', async () => {
    const email = EMULATOR_DEFAULTS.google.serviceAccountEmail;
    const pool = `principalSet://iam.googleapis.com/projects/${lab.google.projectNumber}/locations/global/workloadIdentityPools/${lab.google.poolId}`;
    lab.trust.google.addServiceAccount({ email, members: [`${pool}/attribute.aws_account/123456789012`] });
    expect((await generate(await federatedToken())).status).toBe(200);
    lab.trust.google.addServiceAccount({ email, members: [`${pool}/attribute.aws_account/000000000000`] });
    expect((await generate(await federatedToken())).status).toBe(403);
    lab.trust.google.addServiceAccount({ email, members: [`${pool}/*`] });
    expect((await generate(await federatedToken())).status).toBe(200);
  });

  it('401 UNAUTHENTICATED without a token or with one it did not issue', async () => {
    for (const token of [undefined, 'ya29.not-issued-here']) {
      const answer = await generate(token);
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    }
  });

  it('400 INVALID_ARGUMENT for a lifetime of 0 or over an hour', async () => {
    const token = await federatedToken();
    const zero = await generate(token, { scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '0s' });
    expect(zero.body).toMatchObject({
      error: { code: 400, status: 'INVALID_ARGUMENT', message: 'Lifetime of access token must be larger then zero.' },
    });
    const long = await generate(token, {
      scope: ['https://www.googleapis.com/auth/cloud-platform'],
      lifetime: '3601s',
    });
    expect(long.body).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
  });
});

describe('Cloud Storage bucket listing', () => {
  const list = (token?: string, project: string | null = lab.google.projectId) =>
    requestJson(
      `${lab.google.storageApiEndpoint}/storage/v1/b${project === null ? '' : `?project=${project}`}`,
      undefined,
      token ? { authorization: `Bearer ${token}` } : {},
    );

  it('lists buckets for a token it issued, and only then', async () => {
    const ok = await list(await federatedToken());
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      kind: 'storage#buckets',
      items: [{ kind: 'storage#bucket', name: EMULATOR_DEFAULTS.google.bucket }],
    });
    const anonymous = await list();
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: 401, errors: [{ reason: 'required', domain: 'global' }] } });
    const foreign = await list(await stsToken(lab, defaultAudience()));
    expect(foreign.status).toBe(401);
    expect(foreign.body).toEqual({
      error: {
        code: 401,
        message: 'Invalid Credentials',
        errors: [
          {
            message: 'Invalid Credentials',
            domain: 'global',
            reason: 'authError',
            locationType: 'header',
            location: 'Authorization',
          },
        ],
      },
    });
  });

  it('refuses an expired token, another project and a missing project', async () => {
    const token = await federatedToken();
    expect((await list(token, 'someone-else')).status).toBe(403);
    expect((await list(token, null)).status).toBe(400);
    lab.clock.advance(301);
    expect((await list(token)).status).toBe(401);
  });
});

describe('the real google-auth-library and @google-cloud/storage', () => {
  it.each([false, true])(
    'an IdentityPoolClient with an STS-token supplier lists buckets (impersonation: %s)',
    async (impersonate) => {
      const authClient = new IdentityPoolClient({
        audience: lab.google.audience,
        subject_token_type: JWT_TYPE,
        subject_token_supplier: { getSubjectToken: () => stsToken(lab, defaultAudience()) },
        token_url: lab.google.stsTokenUrl,
        ...(impersonate ? { service_account_impersonation_url: lab.google.serviceAccountImpersonationUrl } : {}),
      });
      const storage = new Storage({
        apiEndpoint: lab.google.storageApiEndpoint,
        useAuthWithCustomEndpoint: true,
        authClient,
        projectId: lab.google.projectId,
      });
      const [buckets] = await storage.getBuckets();
      expect(buckets.map((b) => b.name)).toEqual([EMULATOR_DEFAULTS.google.bucket]);
      expect(lab.stats.get('google:generate-access-token').calls > 0).toBe(true);
    },
  );

  it('an OAuth2Client holding an issued access token lists buckets', async () => {
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: await federatedToken(), expiry_date: Date.now() + 3_600_000 });
    const storage = new Storage({
      apiEndpoint: lab.google.storageApiEndpoint,
      useAuthWithCustomEndpoint: true,
      authClient,
      projectId: lab.google.projectId,
    });
    const [buckets] = await storage.getBuckets();
    expect(buckets).toHaveLength(1);
  });
});
