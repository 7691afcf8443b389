import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Storage } from '@google-cloud/storage';
import { isKeylessError } from '@keyless/core';
import { GoogleAuth, IdentityPoolClient } from 'google-auth-library';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { createGoogleAuthClientFrom } from '../../src/google-auth-client.js';
import type { GoogleAuthLibraryModule } from '../../src/google-auth-library.js';
import { checkGoogleAuthLibrary, createGoogleAuthClient } from '../../src/index.js';
import {
  googleAccessToken,
  iamSuccess,
  jwtProvider,
  mockIam,
  mockSts,
  PERMISSION_DENIED,
  PROVIDER_NAME,
  SERVICE_ACCOUNT,
  stsSuccess,
} from '../google.js';

const STORAGE_ENDPOINT = 'https://storage.example.test';

async function impersonatingClient(options: { forceRefreshOnFailure?: boolean } = {}) {
  const jwt = await jwtProvider();
  const authClient = createGoogleAuthClient({
    audience: PROVIDER_NAME,
    serviceAccountEmail: SERVICE_ACCOUNT,
    projectId: 'my-project',
    webIdentityToken: jwt.provider,
    retry: false,
  });
  if (options.forceRefreshOnFailure) authClient.forceRefreshOnFailure = true;
  return authClient;
}

function mockGoogle() {
  const saToken = googleAccessToken('service-account');
  const sts = mockSts([stsSuccess(googleAccessToken('federated'))]);
  const iam = mockIam([iamSuccess(saToken)]);
  return {
    saToken,
    done: () => {
      sts.scope.done();
      iam.scope.done();
    },
  };
}

describe('@google-cloud/storage with the keyless AuthClient', () => {
  it('lists buckets with the service account token as Bearer', async () => {
    const google = mockGoogle();
    const seen: { authorization: string | null; url: string }[] = [];
    const storageApi = nock(STORAGE_ENDPOINT)
      .get('/storage/v1/b')
      .query(true)
      .reply(async (req: Request) => {
        seen.push({ authorization: req.headers.get('authorization'), url: req.url });
        return [
          200,
          {
            kind: 'storage#buckets',
            items: [
              {
                kind: 'storage#bucket',
                id: 'keyless-data',
                name: 'keyless-data',
                projectNumber: '123456789012',
                location: 'US',
                storageClass: 'STANDARD',
                timeCreated: '2026-01-01T00:00:00.000Z',
                updated: '2026-01-01T00:00:00.000Z',
              },
            ],
          },
          { 'content-type': 'application/json; charset=UTF-8' },
        ];
      });
    const authClient = await impersonatingClient();
    const storage = new Storage({
      projectId: 'my-project',
      authClient,
      apiEndpoint: STORAGE_ENDPOINT,
      // A custom apiEndpoint means "emulator" to the library, which then skips auth unless told otherwise.
      useAuthWithCustomEndpoint: true,
    });

    const [buckets] = await storage.getBuckets();

    google.done();
    storageApi.done();
    expect(buckets.map((b) => b.name)).toEqual(['keyless-data']);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.authorization).toBe(`Bearer ${google.saToken}`);
    expect(new URL(seen[0]!.url).searchParams.get('project')).toBe('my-project');
    expect(checkGoogleAuthLibrary(storage).keyless.version).toMatch(/^1[01]\./);
  });

  it('takes the project from the client when Storage is given none', async () => {
    const google = mockGoogle();
    const storageApi = nock(STORAGE_ENDPOINT)
      .get('/storage/v1/b')
      .query({ project: 'my-project' })
      .reply(200, { kind: 'storage#buckets', items: [] });
    const storage = new Storage({
      authClient: await impersonatingClient(),
      apiEndpoint: STORAGE_ENDPOINT,
      useAuthWithCustomEndpoint: true,
    });
    const [buckets] = await storage.getBuckets();
    google.done();
    storageApi.done();
    expect(buckets).toEqual([]);
  });

  it('surfaces the KeylessError from the exchange as the rejection of the Storage call', async () => {
    const sts = mockSts([stsSuccess(googleAccessToken('federated'))]);
    const iam = mockIam([PERMISSION_DENIED]);
    const storage = new Storage({
      projectId: 'my-project',
      authClient: await impersonatingClient(),
      apiEndpoint: STORAGE_ENDPOINT,
      useAuthWithCustomEndpoint: true,
      retryOptions: { autoRetry: false },
    });
    const error = await storage.getBuckets().then(
      () => undefined,
      (e: unknown) => e,
    );
    sts.scope.done();
    iam.scope.done();
    expect(isKeylessError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', provider: 'gcp' });
  });
});

describe('GoogleAuth({ authClient })', () => {
  it('uses the client for getClient(), getRequestHeaders(), getAccessToken(), getProjectId() and getCredentials()', async () => {
    const google = mockGoogle();
    const authClient = await impersonatingClient();
    const auth = new GoogleAuth({ authClient });

    expect(await auth.getClient()).toBe(authClient);
    const headers = await auth.getRequestHeaders();
    expect(headers.get('authorization')).toBe(`Bearer ${google.saToken}`);
    expect(await auth.getAccessToken()).toBe(google.saToken);
    expect(await auth.getProjectId()).toBe('my-project');
    // An external-account client, so GoogleAuth can name the service account (what signed URLs need).
    expect(authClient).toBeInstanceOf(IdentityPoolClient);
    expect(await auth.getCredentials()).toMatchObject({ client_email: SERVICE_ACCOUNT });
    google.done();
  });

  it('authorises client.request() and refreshes once on a 401 when forceRefreshOnFailure is set', async () => {
    const first = googleAccessToken('service-account');
    const second = googleAccessToken('service-account');
    const sts = mockSts([stsSuccess(googleAccessToken('federated'))]);
    const iam = mockIam([iamSuccess(first), iamSuccess(second)]);
    const seen: (string | null)[] = [];
    const api = nock('https://api.example.test')
      .get('/v1/things')
      .times(2)
      .reply(async (req: Request) => {
        seen.push(req.headers.get('authorization'));
        return seen.length === 1
          ? [401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Invalid Credentials' } }]
          : [200, { things: [] }];
      });
    const authClient = await impersonatingClient({ forceRefreshOnFailure: true });

    const response = await authClient.request<{ things: unknown[] }>({ url: 'https://api.example.test/v1/things' });

    expect(response.data).toEqual({ things: [] });
    expect(seen).toEqual([`Bearer ${first}`, `Bearer ${second}`]);
    api.done();
    // The federated token was still good: the refresh only called IAM Credentials again.
    sts.scope.done();
    iam.scope.done();
  });
});

/** google-auth-library 10, reached the way its real dependants (snowflake-sdk) resolve it, if installed. */
function loadVersion10(): GoogleAuthLibraryModule | undefined {
  try {
    const fromTests = createRequire(fileURLToPath(new URL('../../../../test/package.json', import.meta.url)));
    const snowflake = fromTests.resolve('snowflake-sdk');
    const library = createRequire(snowflake)('google-auth-library') as GoogleAuthLibraryModule;
    const manifest = createRequire(snowflake)('google-auth-library/package.json') as { version: string };
    return manifest.version.startsWith('10.') ? library : undefined;
  } catch {
    return undefined;
  }
}
const version10 = loadVersion10();

describe.skipIf(!version10)('google-auth-library 10 (the other supported major)', () => {
  it('builds a client on that copy that its GoogleAuth accepts', async () => {
    const library = version10!;
    const google = mockGoogle();
    const jwt = await jwtProvider();
    const authClient = createGoogleAuthClientFrom(library, {
      audience: PROVIDER_NAME,
      serviceAccountEmail: SERVICE_ACCOUNT,
      webIdentityToken: jwt.provider,
      retry: false,
    });
    expect(authClient).toBeInstanceOf(library.IdentityPoolClient);
    expect(authClient).not.toBeInstanceOf(IdentityPoolClient);
    const auth = new library.GoogleAuth({ authClient });
    expect((await auth.getRequestHeaders()).get('authorization')).toBe(`Bearer ${google.saToken}`);
    expect(await auth.getCredentials()).toMatchObject({ client_email: SERVICE_ACCOUNT });
    google.done();
  });
});
