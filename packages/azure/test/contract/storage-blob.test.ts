import { BlobServiceClient } from '@azure/storage-blob';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TEST_CREDENTIALS } from '../../../../test/support/aws.js';
import { AwsFederatedCredential } from '../../src/index.js';
import {
  accessToken,
  CLIENT_ID,
  countingProvider,
  entraSuccess,
  mockEntra,
  mockSts,
  STORAGE_SCOPE,
  TENANT_ID,
} from './entra-mock.js';

const ACCOUNT_URL = 'https://keylesstest.blob.core.windows.net';
const CP1 = { access_token: { xms_cc: { values: ['cp1'] } } };

/** The List Containers answer as Blob Storage sends it (REST API reference, "List Containers"). */
function enumerationResults(names: string[]): string {
  const containers = names
    .map(
      (name) =>
        `<Container><Name>${name}</Name><Properties><Last-Modified>Sat, 21 Nov 2026 12:00:00 GMT</Last-Modified><Etag>"0x8DD0A1B2C3D4E5F"</Etag><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope><DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride><HasImmutabilityPolicy>false</HasImmutabilityPolicy><HasLegalHold>false</HasLegalHold><ImmutableStorageWithVersioningEnabled>false</ImmutableStorageWithVersioningEnabled></Properties></Container>`,
    )
    .join('');
  return `\uFEFF<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="${ACCOUNT_URL}/"><Containers>${containers}</Containers><NextMarker /></EnumerationResults>`;
}

interface Seen {
  authorization: string | null;
  query: Record<string, string>;
}

/** Answers List Containers; `answers` decides per request (a 401 CAE challenge, or the list). */
function mockListContainers(answers: Array<(seen: Seen) => [number, string, Record<string, string>]>) {
  const seen: Seen[] = [];
  const scope = nock(ACCOUNT_URL);
  for (const answer of answers) {
    scope
      .get('/')
      .query(true)
      .reply((req: Request) => {
        const url = new URL(req.url);
        const entry = { authorization: req.headers.get('authorization'), query: Object.fromEntries(url.searchParams) };
        seen.push(entry);
        return answer(entry);
      });
  }
  return { scope, seen };
}

const ok = (names: string[]) => (): [number, string, Record<string, string>] => [
  200,
  enumerationResults(names),
  {
    'content-type': 'application/xml',
    'x-ms-request-id': 'c6b5a1e2-001e-0000-0000-000000000000',
    'x-ms-version': '2025-11-05',
  },
];

async function listNames(client: BlobServiceClient): Promise<string[]> {
  const names: string[] = [];
  for await (const container of client.listContainers()) names.push(container.name);
  return names;
}

beforeEach(() => {
  for (const name of [
    'AZURE_TENANT_ID',
    'AZURE_CLIENT_ID',
    'AZURE_AUTHORITY_HOST',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
  ]) {
    vi.stubEnv(name, '');
  }
});
afterEach(() => {
  nock.cleanAll();
});

describe('@azure/storage-blob BlobServiceClient with AwsFederatedCredential', () => {
  it('lists containers with the Entra token as Bearer, fetched once for two listings', async () => {
    const sts = mockSts(1);
    const token = accessToken();
    const entra = mockEntra([entraSuccess(token)]);
    const blob = mockListContainers([ok(['logs', 'reports']), ok(['logs', 'reports'])]);
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS },
    });
    const client = new BlobServiceClient(ACCOUNT_URL, credential);

    expect(await listNames(client)).toEqual(['logs', 'reports']);
    expect(await listNames(client)).toEqual(['logs', 'reports']);

    sts.scope.done();
    entra.scope.done();
    blob.scope.done();
    expect(blob.seen.map((s) => s.authorization)).toEqual([`Bearer ${token}`, `Bearer ${token}`]);
    expect(blob.seen[0]!.query.comp).toBe('list');
    expect(entra.requests).toHaveLength(1);
    expect(entra.requests[0]!.form).toMatchObject({ scope: STORAGE_SCOPE, client_assertion: sts.tokens[0] });
    // Azure SDK clients ask for CAE; keyless then sends the cp1 client capability, as MSAL does.
    expect(JSON.parse(entra.requests[0]!.form.claims!)).toEqual(CP1);
  });

  it('answers a CAE claims challenge from the storage service with a new token that carries the claims', async () => {
    const challenge = { access_token: { nbf: { essential: true, value: '1700000000' } } };
    const encoded = Buffer.from(JSON.stringify(challenge)).toString('base64');
    const [first, second] = [accessToken(), accessToken()];
    const entra = mockEntra([entraSuccess(first), entraSuccess(second)]);
    const blob = mockListContainers([
      () => [
        401,
        '',
        {
          'www-authenticate': `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="${encoded}"`,
        },
      ],
      ok(['after-challenge']),
    ]);
    const provider = await countingProvider();
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      webIdentityToken: provider,
    });
    const client = new BlobServiceClient(ACCOUNT_URL, credential);

    expect(await listNames(client)).toEqual(['after-challenge']);

    entra.scope.done();
    blob.scope.done();
    expect(blob.seen.map((s) => s.authorization)).toEqual([`Bearer ${first}`, `Bearer ${second}`]);
    expect(entra.requests[0]!.form.claims).toBe(JSON.stringify(CP1));
    expect(JSON.parse(entra.requests[1]!.form.claims!)).toEqual({
      access_token: { ...challenge.access_token, ...CP1.access_token },
    });
  });
});
