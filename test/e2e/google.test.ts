/**
 * @google-cloud/storage and google-auth-library's GoogleAuth, authenticated by the AuthClient of
 * createGoogleAuthClient, against the emulator's Google STS, IAM Credentials and Cloud Storage.
 */
import { Storage } from '@google-cloud/storage';
import { type Emulator, startEmulator } from '@keyless/emulator';
import { checkGoogleAuthLibrary, createGoogleAuthClient, type GoogleAuthClientOptions } from '@keyless/gcp';
import { GoogleAuth } from 'google-auth-library';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { keylessRejection, labAws, mintedProvider, secret, stsCalls } from './support/lab.js';

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

/** The lab's provider, and (unless `impersonate: false`) its service account. */
function authClient({
  impersonate = true,
  ...options
}: Partial<GoogleAuthClientOptions> & { impersonate?: boolean } = {}) {
  return createGoogleAuthClient({
    audience: lab.google.audience,
    tokenUrl: lab.google.stsTokenUrl,
    projectId: lab.google.projectId,
    retry: false,
    ...(impersonate
      ? {
          serviceAccountEmail: lab.google.serviceAccountEmail,
          serviceAccountImpersonationUrl: lab.google.serviceAccountImpersonationUrl,
        }
      : {}),
    ...(options.webIdentityToken ? {} : { aws: labAws(lab) }),
    ...options,
  });
}

function storage(client: ReturnType<typeof createGoogleAuthClient>) {
  const storage = new Storage({
    projectId: lab.google.projectId,
    authClient: client,
    apiEndpoint: lab.google.storageApiEndpoint,
    useAuthWithCustomEndpoint: true,
  });
  checkGoogleAuthLibrary(storage);
  return storage;
}

describe('Cloud Storage through createGoogleAuthClient', () => {
  test('with service account impersonation: lists the buckets; one JWT, one exchange, one impersonation', async () => {
    const gcs = storage(authClient());
    const [buckets] = await gcs.getBuckets();
    expect(buckets.map((b) => b.name)).toEqual([lab.google.bucket]);
    await gcs.getBuckets();

    expect(stsCalls(lab)).toBe(1);
    expect(lab.stats.get('google:sts-token')).toMatchObject({ calls: 1, ok: 1 });
    expect(lab.stats.get('google:generate-access-token')).toMatchObject({ calls: 1, ok: 1 });
    expect(lab.stats.get('google:list-buckets')).toMatchObject({ calls: 2, ok: 2 });
  });

  test('without impersonation: the federated token itself lists the buckets', async () => {
    const [buckets] = await storage(authClient({ impersonate: false })).getBuckets();
    expect(buckets.map((b) => b.name)).toEqual([lab.google.bucket]);
    expect(lab.stats.get('google:sts-token').ok).toBe(1);
    expect(lab.stats.get('google:generate-access-token').calls).toBe(0);
  });

  test('GoogleAuth({ authClient }): access token, the service account in getCredentials, authorised requests', async () => {
    const auth = new GoogleAuth({ authClient: authClient() });
    secret((await auth.getAccessToken()) ?? '');
    expect((await auth.getCredentials()).client_email).toBe(lab.google.serviceAccountEmail);
    const response = await auth.request<{ items?: { name: string }[] }>({
      url: `${lab.google.storageApiEndpoint}/storage/v1/b?project=${lab.google.projectId}`,
    });
    expect(response.data.items?.map((b) => b.name)).toEqual([lab.google.bucket]);
    expect(lab.stats.get('google:sts-token').calls).toBe(1);
  });

  test('GoogleAuth({ authClient }) without impersonation: a federated token', async () => {
    const auth = new GoogleAuth({ authClient: authClient({ impersonate: false }) });
    secret((await auth.getAccessToken()) ?? '');
    expect(lab.stats.get('google:generate-access-token').calls).toBe(0);
  });

  test('a provider with other allowed audiences: TOKEN_REJECTED quoting the aud that was presented', async () => {
    const provider = lab.trust.google.listProviders().find((p) => p.resourceName === lab.google.audience);
    if (!provider) throw new Error('the lab has no default provider');
    lab.trust.google.addProvider({ ...provider, allowedAudiences: ['https://example.com/another-audience'] });

    const error = await keylessRejection(storage(authClient()).getBuckets());
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'gcp',
      retryable: false,
      details: {
        status: 400,
        targetCode: 'invalid_grant',
        presented: { iss: lab.issuer, sub: lab.roleArn, aud: `https:${lab.google.audience}`, alg: 'RS256' },
      },
    });
    expect(error.hint).toMatch(/allowed-audiences/);
    expect(error.hint).toContain(`https:${lab.google.audience}`);
  });

  test('a JWT from another account (attribute condition): TOKEN_REJECTED quoting the subject', async () => {
    const other = 'arn:aws:iam::999999999999:role/keyless-demo';
    const webIdentityToken = await mintedProvider(lab, {
      audience: `https:${lab.google.audience}`,
      subject: other,
      claims: { 'https://sts.amazonaws.com/': { aws_account: '999999999999' } },
    });
    const error = await keylessRejection(authClient({ webIdentityToken }).getAccessToken());
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'gcp',
      details: { targetCode: 'unauthorized_client', presented: { sub: other } },
    });
    expect(error.hint).toContain('attributeCondition');
    expect(error.hint).toContain(other);
  });

  test('no workloadIdentityUser binding on the service account: ACCESS_DENIED with the gcloud command', async () => {
    const account = lab.trust.google.listServiceAccounts().find((a) => a.email === lab.google.serviceAccountEmail);
    for (const member of account?.members ?? []) {
      lab.trust.google.removeServiceAccountMember(lab.google.serviceAccountEmail, member);
    }
    const error = await keylessRejection(storage(authClient()).getBuckets());
    expect(error).toMatchObject({
      code: 'ACCESS_DENIED',
      provider: 'gcp',
      details: { status: 403, targetCode: 'PERMISSION_DENIED', presented: { sub: lab.roleArn } },
    });
    expect(error.hint).toContain('gcloud iam service-accounts add-iam-policy-binding');
    expect(error.hint).toContain('roles/iam.workloadIdentityUser');
    expect(error.hint).toContain(`subject/${lab.roleArn}`);
  });
});
