/**
 * Lists the containers of an Azure storage account, authenticated as an Entra ID application through
 * the workload's AWS identity: no client secret, certificate or storage key anywhere.
 *
 *   pnpm start    # against the keyless emulator, started in this process
 *   AZURE_TENANT_ID=… AZURE_CLIENT_ID=… AZURE_STORAGE_ACCOUNT_URL=https://<account>.blob.core.windows.net \
 *   AWS_REGION=us-east-1 pnpm start    # against Azure
 */
import type { TokenCredential } from '@azure/core-auth';
import { BlobServiceClient, isRestError } from '@azure/storage-blob';
import { AwsFederatedCredential } from '@keyless/azure';
import { isKeylessError } from '@keyless/core';

export interface RunOptions {
  /** `https://<account>.blob.core.windows.net` (or an emulator's blob endpoint). */
  accountUrl: string;
  /** Any TokenCredential; here an AwsFederatedCredential. */
  credential: TokenCredential;
}

/** The names of the account's containers. */
export async function run({ accountUrl, credential }: RunOptions): Promise<string[]> {
  const client = new BlobServiceClient(accountUrl, credential);
  const names: string[] = [];
  for await (const container of client.listContainers()) names.push(container.name);
  return names;
}

const REQUIRED = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_STORAGE_ACCOUNT_URL'] as const;

/**
 * Builds the configuration from the environment and runs; returns the process exit code. With none of
 * the `AZURE_*` variables set it runs against the keyless emulator, started in this process.
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (REQUIRED.every((name) => !env[name]?.trim())) return runAgainstEmulator(env);
  const missing = REQUIRED.filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    console.error(`Missing ${missing.join(', ')}.

This example lists the containers of an Azure storage account as an Entra ID application, using the
AWS identity this process runs with (STS GetWebIdentityToken) instead of a secret. Set:

  AZURE_TENANT_ID            the Directory (tenant) ID
  AZURE_CLIENT_ID            the Application (client) ID of the app registration (or managed identity)
                             that has a federated identity credential for this AWS role
  AZURE_STORAGE_ACCOUNT_URL  https://<account>.blob.core.windows.net
  AWS_REGION                 the region to call STS in (or a region in ~/.aws/config)

Unset all three AZURE_* variables to run against the keyless emulator instead. See README.md for the
set-up on both sides. Set KEYLESS_DEBUG=1 for debug lines.`);
    return 1;
  }
  // tenantId, clientId and authorityHost come from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_AUTHORITY_HOST.
  return listAndPrint(
    env.AZURE_STORAGE_ACCOUNT_URL!.trim(),
    () => new AwsFederatedCredential(env.KEYLESS_DEBUG ? { logger: console } : {}),
  );
}

/** The same listing against the emulator's Entra ID and Blob endpoints (HTTPS, its CA trusted in this process). */
async function runAgainstEmulator(env: NodeJS.ProcessEnv): Promise<number> {
  const { startEmulator } = await import('@keyless/emulator');
  const lab = await startEmulator({ trustCertificate: true });
  try {
    console.log(
      `No AZURE_* variables set: using the keyless emulator on 127.0.0.1 (Entra ID ${lab.entra.authorityHost}).`,
    );
    return await listAndPrint(
      lab.blob.accountUrl,
      () =>
        new AwsFederatedCredential({
          tenantId: lab.entra.tenantId,
          clientId: lab.entra.clientId,
          authorityHost: lab.entra.authorityHost,
          aws: { endpoint: lab.stsEndpoint, region: lab.region, credentials: lab.credentials },
          ...(env.KEYLESS_DEBUG ? { logger: console } : {}),
        }),
    );
  } finally {
    await lab.close();
  }
}

async function listAndPrint(accountUrl: string, createCredential: () => TokenCredential): Promise<number> {
  try {
    const names = await run({ accountUrl, credential: createCredential() });
    console.log(`${names.length} container(s) in ${accountUrl}`);
    for (const name of names) console.log(`  ${name}`);
    return 0;
  } catch (error) {
    if (isKeylessError(error)) {
      console.error(String(error));
    } else if (isRestError(error) && error.statusCode === 403) {
      console.error(`Storage refused the request (${error.code ?? 'HTTP 403'}): the token was issued, but the application lacks a data role on the account.
Hint: grant it "Storage Blob Data Reader" on the storage account (role assignments can take a few minutes to apply).`);
    } else {
      console.error(error instanceof Error ? error.message : error);
    }
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
