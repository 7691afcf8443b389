import type { AccessToken, TokenCredential } from '@azure/identity';
import { ClientAssertionCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULTS, type Emulator, startEmulator } from '../src/index.js';
import { type JsonAnswer, postForm, stsToken } from './helpers.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let lab: Emulator;
beforeAll(async () => {
  lab = await startEmulator({ trustCertificate: true });
});
afterAll(() => lab.close());
afterEach(() => {
  lab.trust.reset();
  lab.faults.clear();
  lab.clock.reset();
});

function tokenRequest(
  assertion: string | undefined,
  overrides: Record<string, string | undefined> = {},
): Promise<JsonAnswer> {
  return postForm(
    lab.entra.tokenEndpoint,
    {
      client_id: lab.entra.clientId,
      scope: lab.entra.storageScope,
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
      ...overrides,
    },
    { 'client-request-id': '0f0e0d0c-0000-4000-8000-000000000001' },
  );
}

/** The shape of every Entra error body (PROTOCOLS §3.4). */
function expectEntraError(answer: JsonAnswer, status: number, error: string, code: number, text: string) {
  expect(answer.status).toBe(status);
  expect(answer.body).toEqual({
    error,
    error_description: expect.stringMatching(
      new RegExp(
        `^AADSTS${code}: .*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.* Trace ID: [0-9a-f-]{36} Correlation ID: 0f0e0d0c-0000-4000-8000-000000000001 Timestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
      ),
    ),
    error_codes: [code],
    timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/),
    trace_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    correlation_id: '0f0e0d0c-0000-4000-8000-000000000001',
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}

describe('Entra ID token endpoint with federated identity credentials', () => {
  it('trades the emulator STS token for an access token the Entra keys verify', async () => {
    const answer = await tokenRequest(await stsToken(lab, 'api://AzureADTokenExchange'));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      token_type: 'Bearer',
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: expect.any(String),
    });
    const metadata = (await (
      await fetch(`${lab.entra.authorityHost}/${lab.entra.tenantId}/v2.0/.well-known/openid-configuration`)
    ).json()) as {
      jwks_uri: string;
      issuer: string;
      token_endpoint: string;
    };
    expect(metadata.token_endpoint).toBe(lab.entra.tokenEndpoint);
    const { payload } = await jwtVerify(
      String(answer.body.access_token),
      createRemoteJWKSet(new URL(metadata.jwks_uri)),
      {
        issuer: metadata.issuer,
        audience: 'https://storage.azure.com',
      },
    );
    expect(payload).toMatchObject({ tid: lab.entra.tenantId, azp: lab.entra.clientId, idtyp: 'app', ver: '2.0' });
  });

  it('AADSTS700211 when no credential has the token issuer (exact, case-sensitive)', async () => {
    const token = await lab.mintWebIdentityToken({
      audience: 'api://AzureADTokenExchange',
      issuer: lab.issuer.toUpperCase(),
    });
    expectEntraError(
      await tokenRequest(token),
      401,
      'invalid_client',
      700211,
      `presented assertion issuer '${lab.issuer.toUpperCase()}'`,
    );
  });

  it('AADSTS700213 when no credential has the subject', async () => {
    const token = await lab.mintWebIdentityToken({
      audience: 'api://AzureADTokenExchange',
      subject: 'arn:aws:iam::123456789012:role/other',
    });
    expectEntraError(
      await tokenRequest(token),
      401,
      'invalid_client',
      700213,
      "presented assertion subject 'arn:aws:iam::123456789012:role/other'",
    );
  });

  it('AADSTS700212 when no credential has the audience', async () => {
    expectEntraError(
      await tokenRequest(await stsToken(lab, 'api://AzureADTokenExchangeUSGov')),
      401,
      'invalid_client',
      700212,
      "presented assertion audience 'api://AzureADTokenExchangeUSGov'",
    );
  });

  it('AADSTS70021 for an app without credentials and while a new credential propagates', async () => {
    lab.trust.entra.addApp({ clientId: '22222222-0000-4000-8000-000000000002' });
    const token = await stsToken(lab, 'api://AzureADTokenExchange');
    expectEntraError(
      await tokenRequest(token, { client_id: '22222222-0000-4000-8000-000000000002' }),
      400,
      'invalid_request',
      70021,
      'No matching federated identity record found for presented assertion. Assertion Issuer',
    );
    lab.trust.entra.addFederatedCredential('22222222-0000-4000-8000-000000000002', {
      issuer: lab.issuer,
      subject: lab.roleArn,
      propagationSeconds: 120,
    });
    expectEntraError(
      await tokenRequest(token, { client_id: '22222222-0000-4000-8000-000000000002' }),
      400,
      'invalid_request',
      70021,
      'No matching',
    );
    lab.clock.advance(121);
    const later = await tokenRequest(await stsToken(lab, 'api://AzureADTokenExchange'), {
      client_id: '22222222-0000-4000-8000-000000000002',
    });
    expect(later.status).toBe(200);
  });

  it('AADSTS700016 for an unknown client id, AADSTS90002 for an unknown tenant', async () => {
    const token = await stsToken(lab, 'api://AzureADTokenExchange');
    expectEntraError(
      await tokenRequest(token, { client_id: '33333333-0000-4000-8000-000000000003' }),
      400,
      'unauthorized_client',
      700016,
      "Application with identifier '33333333-0000-4000-8000-000000000003' was not found in the directory",
    );
    const answer = await postForm(
      `${lab.entra.authorityHost}/44444444-0000-4000-8000-000000000004/oauth2/v2.0/token`,
      { grant_type: 'client_credentials' },
      { 'client-request-id': '0f0e0d0c-0000-4000-8000-000000000001' },
    );
    expectEntraError(answer, 400, 'invalid_tenant', 90002, "Tenant '44444444-0000-4000-8000-000000000004' not found.");
  });

  it('AADSTS5002738 for an ES384 assertion (only RS256 is supported)', async () => {
    expectEntraError(
      await tokenRequest(await stsToken(lab, 'api://AzureADTokenExchange', { algorithm: 'ES384' })),
      400,
      'invalid_request',
      5002738,
      "Invalid JWT token. 'ES384' is not a supported signature algorithm.",
    );
  });

  it('AADSTS700027 for a bad signature or a key not in the JWKS', async () => {
    const forged = await lab.mintWebIdentityToken({ audience: 'api://AzureADTokenExchange', untrustedKey: true });
    expectEntraError(
      await tokenRequest(forged),
      401,
      'invalid_client',
      700027,
      'did not match the expected signature value',
    );
    const token = await stsToken(lab, 'api://AzureADTokenExchange');
    await lab.rotateKeys({ keepPrevious: false });
    expectEntraError(await tokenRequest(token), 401, 'invalid_client', 700027, 'The key was not found');
  });

  it('AADSTS700024 for an expired assertion (after Entra’s five-minute skew)', async () => {
    const token = await stsToken(lab, 'api://AzureADTokenExchange', { durationSeconds: 60 });
    lab.clock.advance(60 + 290);
    expect((await tokenRequest(token)).status).toBe(200);
    lab.clock.advance(20);
    expectEntraError(
      await tokenRequest(token),
      401,
      'invalid_client',
      700024,
      'Client assertion is not within its valid time range. Current time:',
    );
  });

  it('rejects a malformed request with the matching AADSTS codes', async () => {
    const token = await stsToken(lab, 'api://AzureADTokenExchange');
    expectEntraError(
      await tokenRequest(token, { grant_type: 'password' }),
      400,
      'unsupported_grant_type',
      70003,
      "unsupported grant type 'password'",
    );
    expectEntraError(
      await tokenRequest(token, { scope: undefined }),
      400,
      'invalid_request',
      900144,
      "parameter: 'scope'",
    );
    expectEntraError(
      await tokenRequest(token, { scope: 'https://storage.azure.com/user_impersonation' }),
      400,
      'invalid_scope',
      1002012,
      'must have a scope value with /.default',
    );
    expectEntraError(
      await tokenRequest(undefined),
      401,
      'invalid_client',
      7000218,
      "'client_assertion' or 'client_secret'",
    );
    expectEntraError(
      await tokenRequest('not-a-jwt'),
      400,
      'invalid_request',
      50027,
      'JWT token is invalid or malformed.',
    );
  });
});

describe('Entra ID discovery', () => {
  it('serves authority metadata and instance discovery as MSAL expects', async () => {
    const metadata = (await (
      await fetch(`${lab.entra.authorityHost}/${lab.entra.tenantId}/v2.0/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      token_endpoint: lab.entra.tokenEndpoint,
      issuer: `${lab.entra.authorityHost}/${lab.entra.tenantId}/v2.0`,
      authorization_endpoint: `${lab.entra.authorityHost}/${lab.entra.tenantId}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${lab.entra.authorityHost}/${lab.entra.tenantId}/oauth2/v2.0/logout`,
      jwks_uri: `${lab.entra.authorityHost}/${lab.entra.tenantId}/discovery/v2.0/keys`,
    });
    const authorize = encodeURIComponent(`${lab.entra.authorityHost}/${lab.entra.tenantId}/oauth2/v2.0/authorize`);
    const instance = (await (
      await fetch(
        `${lab.entra.authorityHost}/common/discovery/instance?api-version=1.1&authorization_endpoint=${authorize}`,
      )
    ).json()) as Record<string, unknown>;
    const host = new URL(lab.entra.authorityHost).host;
    expect(instance).toEqual({
      tenant_discovery_endpoint: `${lab.entra.authorityHost}/${lab.entra.tenantId}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
    const unknown = await fetch(`${lab.entra.authorityHost}/not-a-tenant/v2.0/.well-known/openid-configuration`);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: 'invalid_tenant', error_codes: [90002] });
  });
});

/** A minimal TokenCredential: one plain fetch to the emulator's Entra, the way the azure adapter will. */
function fetchCredential(getAssertion: () => Promise<string>, clientId = lab.entra.clientId): TokenCredential {
  return {
    async getToken(scopes): Promise<AccessToken> {
      const answer = await tokenRequest(await getAssertion(), {
        client_id: clientId,
        scope: Array.isArray(scopes) ? scopes.join(' ') : scopes,
      });
      if (answer.status !== 200) throw new Error(String(answer.body.error_description));
      return {
        token: String(answer.body.access_token),
        expiresOnTimestamp: Date.now() + Number(answer.body.expires_in) * 1000,
        tokenType: 'Bearer',
      };
    },
  };
}

describe('Blob service with the real @azure/storage-blob over HTTPS', () => {
  it('lists containers and blobs and reads a blob with an Entra token minted from the STS token', async () => {
    const client = new BlobServiceClient(
      lab.blob.accountUrl,
      fetchCredential(() => stsToken(lab, lab.entra.audience)),
    );
    const containers: string[] = [];
    for await (const container of client.listContainers()) containers.push(container.name);
    expect(containers).toEqual([EMULATOR_DEFAULTS.azure.container]);
    const container = client.getContainerClient(lab.blob.container);
    const blobs: string[] = [];
    for await (const blob of container.listBlobsFlat()) blobs.push(blob.name);
    expect(blobs).toEqual(['hello.txt']);
    const content = await container.getBlobClient('hello.txt').downloadToBuffer();
    expect(content.toString()).toContain('keyless emulator');
    expect(lab.stats.get('blob:list-containers').ok).toBeGreaterThanOrEqual(1);
  });

  it('works with the real @azure/identity ClientAssertionCredential (custom authority, instance discovery off)', async () => {
    const credential = new ClientAssertionCredential(
      lab.entra.tenantId,
      lab.entra.clientId,
      () => stsToken(lab, lab.entra.audience),
      {
        authorityHost: lab.entra.authorityHost,
        disableInstanceDiscovery: true,
      },
    );
    const client = new BlobServiceClient(lab.blob.accountUrl, credential);
    const names: string[] = [];
    for await (const container of client.listContainers()) names.push(container.name);
    expect(names).toEqual([EMULATOR_DEFAULTS.azure.container]);
  });

  it('answers AuthorizationPermissionMismatch (403) to an app without a blob data role', async () => {
    lab.trust.entra.addApp({
      clientId: '55555555-0000-4000-8000-000000000005',
      federatedCredentials: [{ issuer: lab.issuer, subject: lab.roleArn }],
    });
    const client = new BlobServiceClient(
      lab.blob.accountUrl,
      fetchCredential(() => stsToken(lab, lab.entra.audience), '55555555-0000-4000-8000-000000000005'),
      { retryOptions: { maxTries: 1 } },
    );
    const error = (await client
      .listContainers()
      .next()
      .catch((e: unknown) => e)) as { statusCode?: number; code?: string };
    expect(error).toMatchObject({ statusCode: 403, code: 'AuthorizationPermissionMismatch' });
  });

  describe('rejections over plain HTTP requests', () => {
    const list = (authorization?: string) =>
      fetch(`${lab.blob.accountUrl}?comp=list`, {
        headers: { 'x-ms-version': '2025-11-05', ...(authorization ? { authorization } : {}) },
      });
    const entraToken = async (scope = lab.entra.storageScope) =>
      String((await tokenRequest(await stsToken(lab, lab.entra.audience), { scope })).body.access_token);

    it('401 NoAuthenticationInformation with a bearer challenge when there is no Authorization', async () => {
      const response = await list();
      expect(response.status).toBe(401);
      expect(response.headers.get('x-ms-error-code')).toBe('NoAuthenticationInformation');
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer authorization_uri=${lab.entra.authorityHost}/${lab.entra.tenantId}/oauth2/authorize resource_id=https://storage.azure.com`,
      );
      expect(await response.text()).toMatch(
        /^<\?xml version="1\.0" encoding="utf-8"\?><Error><Code>NoAuthenticationInformation<\/Code><Message>Server failed to authenticate the request\. Please refer to the information in the www-authenticate header\.\nRequestId:[0-9a-f-]{36}\nTime:.+<\/Message><\/Error>$/,
      );
    });

    it('403 AuthenticationFailed for an Authorization that is not a bearer token', async () => {
      const response = await list('SharedKey keylessdemo:c2lnbmF0dXJl');
      expect(response.status).toBe(403);
      expect(response.headers.get('x-ms-error-code')).toBe('AuthenticationFailed');
    });

    it.each([
      [
        'the AWS token itself (not issued by Entra)',
        async () => stsToken(lab, 'https://storage.azure.com'),
        'Signature validation failed',
      ],
      [
        'an Entra token for another resource',
        () => entraToken('https://vault.azure.net/.default'),
        'Audience validation failed',
      ],
      [
        'an expired Entra token',
        async () => {
          const token = await entraToken();
          lab.clock.advance(3600);
          return token;
        },
        'Lifetime validation failed. The token is expired.',
      ],
    ])('401 InvalidAuthenticationInfo for %s', async (_name, token, detail) => {
      const response = await list(`Bearer ${await token()}`);
      expect(response.status).toBe(401);
      expect(response.headers.get('x-ms-error-code')).toBe('InvalidAuthenticationInfo');
      expect(await response.text()).toContain(`<AuthenticationErrorDetail>${detail}`);
    });
  });
});

describe('HTTPS trust', () => {
  it('is refused until the CA is trusted, and again after untrust()', async () => {
    const own = await startEmulator();
    try {
      const url = `${own.entra.authorityHost}/common/discovery/instance`;
      await expect(fetch(url)).rejects.toThrow();
      own.tls.trust();
      expect((await fetch(url)).status).toBe(200);
      own.tls.untrust();
      // A new connection (the pooled one was made while trusted).
      await expect(
        fetch(url, { headers: { connection: 'close' } }).then(() => fetch(`${own.blob.accountUrl}?comp=list`)),
      ).rejects.toThrow();
      expect(own.tls.ca).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    } finally {
      await own.close();
    }
  });
});
