/**
 * Lists the Cloud Storage buckets of a Google Cloud project through workload identity federation with
 * the workload's AWS identity: no service account key anywhere.
 *
 *   pnpm start    # against the keyless emulator, started in this process
 *   GCP_WORKLOAD_PROVIDER=//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider> \
 *   GCP_PROJECT_ID=my-project GCP_SERVICE_ACCOUNT=reader@my-project.iam.gserviceaccount.com \
 *   AWS_REGION=us-east-1 pnpm start    # against Google Cloud
 */
import { ApiError, Storage } from '@google-cloud/storage';
import { isKeylessError } from '@keyless/core';
import { checkGoogleAuthLibrary, createGoogleAuthClient } from '@keyless/gcp';
import type { AuthClient } from 'google-auth-library';

export interface RunOptions {
  /** The project whose buckets are listed. */
  projectId: string;
  /** Any google-auth-library AuthClient; here the one createGoogleAuthClient builds. */
  authClient: AuthClient;
  /** Another Cloud Storage endpoint (an emulator); requests to it are still authenticated. */
  apiEndpoint?: string;
}

/** The names of the project's buckets. */
export async function run({ projectId, authClient, apiEndpoint }: RunOptions): Promise<string[]> {
  const storage = new Storage({
    projectId,
    authClient,
    // With a custom endpoint @google-cloud/storage skips authentication unless told otherwise.
    ...(apiEndpoint ? { apiEndpoint, useAuthWithCustomEndpoint: true } : {}),
  });
  // Storage must build on the same google-auth-library as the AuthClient, or it may send no token.
  checkGoogleAuthLibrary(storage);
  const [buckets] = await storage.getBuckets();
  return buckets.map((bucket) => bucket.name);
}

const REQUIRED = ['GCP_WORKLOAD_PROVIDER', 'GCP_PROJECT_ID'] as const;
/** Any of these set means "use Google Cloud"; none of them, the keyless emulator. */
const SETTINGS = [...REQUIRED, 'GCP_SERVICE_ACCOUNT', 'GCP_STORAGE_ENDPOINT'] as const;

/**
 * Builds the configuration from the environment and runs; returns the process exit code. With none of
 * the `GCP_*` variables set it runs against the keyless emulator, started in this process.
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (SETTINGS.every((name) => !env[name]?.trim())) return runAgainstEmulator(env);
  const missing = REQUIRED.filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    console.error(`Missing ${missing.join(', ')}.

This example lists the Cloud Storage buckets of a Google Cloud project through workload identity
federation, using the AWS identity this process runs with (STS GetWebIdentityToken) instead of a
service account key. Set:

  GCP_WORKLOAD_PROVIDER  the provider's resource name,
                         //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>
  GCP_PROJECT_ID         the project whose buckets to list
  GCP_SERVICE_ACCOUNT    (optional) a service account to impersonate; without it the federated
                         principal itself needs storage.buckets.list on the project
  AWS_REGION             the region to call STS in (or a region in ~/.aws/config)

Unset every GCP_* variable to run against the keyless emulator instead. See README.md for the set-up
on both sides. Set KEYLESS_DEBUG=1 for debug lines.`);
    return 1;
  }
  const serviceAccountEmail = env.GCP_SERVICE_ACCOUNT?.trim() || undefined;
  const apiEndpoint = env.GCP_STORAGE_ENDPOINT?.trim() || undefined;
  return listAndPrint(
    { projectId: env.GCP_PROJECT_ID!.trim(), ...(apiEndpoint ? { apiEndpoint } : {}) },
    serviceAccountEmail,
    () =>
      createGoogleAuthClient({
        audience: env.GCP_WORKLOAD_PROVIDER!.trim(),
        ...(serviceAccountEmail ? { serviceAccountEmail } : {}),
        ...(env.KEYLESS_DEBUG ? { logger: console } : {}),
      }),
  );
}

/** The same listing against the emulator's Google STS, IAM Credentials and Cloud Storage endpoints. */
async function runAgainstEmulator(env: NodeJS.ProcessEnv): Promise<number> {
  const { startEmulator } = await import('@keyless/emulator');
  const lab = await startEmulator();
  try {
    console.log(`No GCP_* variables set: using the keyless emulator on 127.0.0.1 (Google APIs ${lab.google.origin}).`);
    const { google } = lab;
    return await listAndPrint(
      { projectId: google.projectId, apiEndpoint: google.storageApiEndpoint },
      google.serviceAccountEmail,
      () =>
        createGoogleAuthClient({
          audience: google.audience,
          serviceAccountEmail: google.serviceAccountEmail,
          tokenUrl: google.stsTokenUrl,
          serviceAccountImpersonationUrl: google.serviceAccountImpersonationUrl,
          projectId: google.projectId,
          aws: { endpoint: lab.stsEndpoint, region: lab.region, credentials: lab.credentials },
          ...(env.KEYLESS_DEBUG ? { logger: console } : {}),
        }),
    );
  } finally {
    await lab.close();
  }
}

async function listAndPrint(
  target: Omit<RunOptions, 'authClient'>,
  serviceAccountEmail: string | undefined,
  createAuthClient: () => AuthClient,
): Promise<number> {
  const { projectId } = target;
  try {
    const names = await run({ ...target, authClient: createAuthClient() });
    console.log(`${names.length} bucket(s) in project ${projectId}`);
    for (const name of names) console.log(`  ${name}`);
    return 0;
  } catch (error) {
    if (isKeylessError(error)) {
      console.error(String(error));
    } else if (error instanceof ApiError && error.code === 403) {
      console.error(`Cloud Storage refused the request (HTTP 403): the token was issued, but ${serviceAccountEmail ?? 'the federated principal'} may not list buckets in ${projectId}.
Hint: grant it a role with storage.buckets.list on the project (roles/storage.admin has it) (IAM changes can take a few minutes to apply).`);
    } else {
      console.error(error instanceof Error ? error.message : error);
    }
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
