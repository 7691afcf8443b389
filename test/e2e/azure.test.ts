/**
 * @azure/storage-blob's BlobServiceClient, authenticated by AwsFederatedCredential, against the
 * emulator's Entra ID and Blob endpoints (HTTPS, the lab's CA trusted in this process).
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { AwsFederatedCredential } from '@keyless/azure';
import { type Emulator, startEmulator } from '@keyless/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { keylessRejection, labAws, mintedProvider, secret, stsCalls } from './support/lab.js';

const WRONG_ROLE = 'arn:aws:iam::123456789012:role/keyless-prod';

let lab: Emulator;

beforeAll(async () => {
  lab = await startEmulator({ trustCertificate: true });
});
afterAll(async () => {
  await lab?.close();
});
afterEach(() => {
  lab.trust.reset();
  lab.stats.reset();
});

function credential() {
  return new AwsFederatedCredential({
    tenantId: lab.entra.tenantId,
    clientId: lab.entra.clientId,
    authorityHost: lab.entra.authorityHost,
    aws: labAws(lab),
    retry: false,
  });
}

/** The app's default federated identity credential, replaced by one that differs in `change`. */
function changeFederatedCredential(change: { subject?: string; audiences?: string[]; issuer?: string }) {
  const app = lab.trust.entra.listApps().find((a) => a.clientId === lab.entra.clientId);
  const fic = app?.federatedCredentials[0];
  if (!fic) throw new Error('the lab has no default federated identity credential');
  lab.trust.entra.removeFederatedCredential(lab.entra.clientId, fic.name);
  lab.trust.entra.addFederatedCredential(lab.entra.clientId, {
    name: fic.name,
    issuer: change.issuer ?? fic.issuer,
    subject: change.subject ?? fic.subject,
    audiences: change.audiences ?? [...fic.audiences],
  });
}

describe('Azure Blob through AwsFederatedCredential', () => {
  test('lists containers and blobs and reads a blob; one JWT and one Entra token serve every request', async () => {
    const blobs = new BlobServiceClient(lab.blob.accountUrl, credential());

    const containers: string[] = [];
    for await (const container of blobs.listContainers()) containers.push(container.name);
    expect(containers).toEqual([lab.blob.container]);

    const container = blobs.getContainerClient(lab.blob.container);
    const names: string[] = [];
    for await (const blob of container.listBlobsFlat()) names.push(blob.name);
    expect(names).toContain('hello.txt');

    const content = await container.getBlobClient('hello.txt').downloadToBuffer();
    expect(content.toString('utf8')).toMatch(/^Hello from the keyless emulator/);

    expect(stsCalls(lab)).toBe(1);
    expect(lab.stats.get('entra:token')).toMatchObject({ calls: 1, ok: 1 });
    expect(lab.stats.get('blob').ok).toBeGreaterThanOrEqual(3);
  });

  test('getToken gives a Bearer token for the storage scope (the Entra token the lab issued)', async () => {
    const token = await credential().getToken(lab.entra.storageScope);
    secret(token.token);
    expect(token.tokenType).toBe('Bearer');
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  test('a FIC subject that is not the role: TOKEN_REJECTED (AADSTS700213) naming the subject field', async () => {
    changeFederatedCredential({ subject: WRONG_ROLE });
    const error = await keylessRejection(credential().getToken(lab.entra.storageScope));
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'azure',
      retryable: false,
      details: {
        status: 401,
        targetCode: 'AADSTS700213',
        presented: { iss: lab.issuer, sub: lab.roleArn, aud: 'api://AzureADTokenExchange', alg: 'RS256' },
      },
    });
    expect(error.hint).toMatch(/subject of the federated identity credential/);
    expect(error.hint).toContain(lab.roleArn);
  });

  test('the same rejection reaches a BlobServiceClient call as the KeylessError', async () => {
    changeFederatedCredential({ subject: WRONG_ROLE });
    const blobs = new BlobServiceClient(lab.blob.accountUrl, credential());
    const error = await keylessRejection(blobs.listContainers().next());
    expect(error).toMatchObject({ code: 'TOKEN_REJECTED', provider: 'azure', details: { targetCode: 'AADSTS700213' } });
    expect(lab.stats.get('blob:list-containers').ok).toBe(0);
  });

  test('a FIC audience the JWT does not carry: TOKEN_REJECTED (AADSTS700212) naming the audiences field', async () => {
    changeFederatedCredential({ audiences: ['api://AzureADTokenExchangeUSGov'] });
    const error = await keylessRejection(credential().getToken(lab.entra.storageScope));
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'azure',
      details: { targetCode: 'AADSTS700212', presented: { aud: 'api://AzureADTokenExchange' } },
    });
    expect(error.hint).toMatch(/audiences/);
  });

  test('a JWT for another role (the wrong workload provider): TOKEN_REJECTED quoting that subject', async () => {
    const webIdentityToken = await mintedProvider(lab, { audience: lab.entra.audience, subject: WRONG_ROLE });
    const error = await keylessRejection(
      new AwsFederatedCredential({
        tenantId: lab.entra.tenantId,
        clientId: lab.entra.clientId,
        authorityHost: lab.entra.authorityHost,
        webIdentityToken,
        retry: false,
      }).getToken(lab.entra.storageScope),
    );
    expect(error).toMatchObject({
      code: 'TOKEN_REJECTED',
      provider: 'azure',
      details: { targetCode: 'AADSTS700213', presented: { sub: WRONG_ROLE } },
    });
    expect(error.hint).toContain(WRONG_ROLE);
  });
});
