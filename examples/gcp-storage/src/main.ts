/**
 * Lists the Cloud Storage buckets of a Google Cloud project through workload identity federation with
 * the workload's AWS identity: no service account key anywhere.
 *
 *   GCP_WORKLOAD_PROVIDER=//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider> \
 *   GCP_PROJECT_ID=my-project GCP_SERVICE_ACCOUNT=reader@my-project.iam.gserviceaccount.com \
 *   AWS_REGION=us-east-1 pnpm start
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

/** Builds the configuration from the environment and runs; returns the process exit code. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
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

See README.md for the set-up on both sides. Set KEYLESS_DEBUG=1 for debug lines.`);
    return 1;
  }
  const projectId = env.GCP_PROJECT_ID!.trim();
  const serviceAccountEmail = env.GCP_SERVICE_ACCOUNT?.trim() || undefined;
  const apiEndpoint = env.GCP_STORAGE_ENDPOINT?.trim() || undefined;
  try {
    const authClient = createGoogleAuthClient({
      audience: env.GCP_WORKLOAD_PROVIDER!.trim(),
      ...(serviceAccountEmail ? { serviceAccountEmail } : {}),
      ...(env.KEYLESS_DEBUG ? { logger: console } : {}),
    });
    const names = await run({ projectId, authClient, ...(apiEndpoint ? { apiEndpoint } : {}) });
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
