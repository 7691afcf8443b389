/**
 * One `webIdentityToken` provider for every adapter. When every target's trust rule accepts the same
 * audience, a single STS call serves Entra ID, Google, Snowflake, the OAuth server, Vault and a verifier:
 * core caches the JWT and each adapter asks the provider it was given.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import { AwsFederatedCredential } from '@keyless/azure';
import { fromAwsWebIdentityToken } from '@keyless/core';
import { type Emulator, startEmulator } from '@keyless/emulator';
import { createGoogleAuthClient } from '@keyless/gcp';
import { fromJwtBearer, fromTokenExchange, fromVaultJwtLogin, verifyAwsWebIdentityToken } from '@keyless/oidc';
import { connectSnowflake } from '@keyless/snowflake';
import snowflake, { type Connection } from 'snowflake-sdk';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { labAws, secret, stsCalls } from './support/lab.js';

const SHARED_AUDIENCE = 'https://workloads.example.com';

let lab: Emulator;

beforeAll(async () => {
  snowflake.configure({ logLevel: 'OFF' });
  lab = await startEmulator({ trustCertificate: true });
  trustSharedAudience(lab);
});
afterAll(async () => {
  await lab?.close();
});

/** Every target trusts the lab's role for SHARED_AUDIENCE: what a user sets up to share one JWT. */
function trustSharedAudience(lab: Emulator): void {
  const { trust } = lab;
  trust.entra.addFederatedCredential(lab.entra.clientId, {
    name: 'shared',
    issuer: lab.issuer,
    subject: lab.roleArn,
    audiences: [SHARED_AUDIENCE],
  });
  const provider = trust.google.listProviders().find((p) => p.resourceName === lab.google.audience);
  if (!provider) throw new Error('the lab has no default Google provider');
  trust.google.addProvider({ ...provider, allowedAudiences: [SHARED_AUDIENCE] });
  for (const user of trust.snowflake.listUsers()) trust.snowflake.removeUser(user.name);
  trust.snowflake.addUser({
    name: lab.snowflake.user,
    workloadIdentity: { type: 'OIDC', issuer: lab.issuer, subject: lab.roleArn, audiences: [SHARED_AUDIENCE] },
  });
  trust.oidc.addRule({ name: 'shared', issuer: lab.issuer, subject: lab.roleArn, audience: SHARED_AUDIENCE });
  trust.vault.addRole({
    name: 'shared',
    boundAudiences: [SHARED_AUDIENCE],
    boundSubject: lab.roleArn,
    tokenPolicies: ['default'],
  });
}

function query(connection: Connection, sqlText: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    connection.execute({
      sqlText,
      complete: (error, _statement, rows) =>
        error ? reject(error) : resolve((rows ?? []) as Record<string, unknown>[]),
    });
  });
}

test('one provider, one STS call: Entra + Blob, Google + GCS, Snowflake, token exchange, JWT bearer, Vault, verifier', async () => {
  // RS256: the one algorithm every one of these targets accepts.
  const webIdentityToken = fromAwsWebIdentityToken({ ...labAws(lab), audience: SHARED_AUDIENCE });

  const blobs = new BlobServiceClient(
    lab.blob.accountUrl,
    new AwsFederatedCredential({
      tenantId: lab.entra.tenantId,
      clientId: lab.entra.clientId,
      authorityHost: lab.entra.authorityHost,
      webIdentityToken,
    }),
  );
  const containers: string[] = [];
  for await (const container of blobs.listContainers()) containers.push(container.name);
  expect(containers).toEqual([lab.blob.container]);

  const storage = new Storage({
    projectId: lab.google.projectId,
    apiEndpoint: lab.google.storageApiEndpoint,
    useAuthWithCustomEndpoint: true,
    authClient: createGoogleAuthClient({
      audience: lab.google.audience,
      tokenUrl: lab.google.stsTokenUrl,
      serviceAccountEmail: lab.google.serviceAccountEmail,
      serviceAccountImpersonationUrl: lab.google.serviceAccountImpersonationUrl,
      webIdentityToken,
    }),
  });
  const [buckets] = await storage.getBuckets();
  expect(buckets.map((b) => b.name)).toEqual([lab.google.bucket]);

  const connection = await connectSnowflake({
    account: lab.snowflake.account,
    host: lab.snowflake.host,
    accessUrl: lab.snowflake.accessUrl,
    snowflake,
    sfRetryMaxLoginRetries: 0,
    webIdentityToken,
  });
  try {
    expect(await query(connection, 'SELECT CURRENT_USER()')).toEqual([{ 'CURRENT_USER()': lab.snowflake.user }]);
  } finally {
    await new Promise<void>((resolve) => connection.destroy(() => resolve()));
  }

  const exchanged = await fromTokenExchange({ tokenEndpoint: lab.oidc.tokenEndpoint, webIdentityToken })();
  const bearer = await fromJwtBearer({ tokenEndpoint: lab.oidc.tokenEndpoint, webIdentityToken })();
  const vault = await fromVaultJwtLogin({ address: lab.vault.address, role: 'shared', webIdentityToken })();
  for (const token of [exchanged, bearer, vault]) secret(token.accessToken);

  const { token } = await webIdentityToken();
  const { claims } = await verifyAwsWebIdentityToken(secret(token), { issuer: lab.issuer, audience: SHARED_AUDIENCE });
  expect(claims.sub).toBe(lab.roleArn);

  expect(stsCalls(lab)).toBe(1);
  const ok = (endpoint: Parameters<typeof lab.stats.get>[0]) => lab.stats.get(endpoint).ok;
  expect({
    entra: ok('entra:token'),
    google: ok('google:sts-token'),
    snowflake: ok('snowflake:login'),
    oauth: ok('oidc:token'),
    vault: ok('vault:login'),
  }).toEqual({ entra: 1, google: 1, snowflake: 1, oauth: 2, vault: 1 });
});
