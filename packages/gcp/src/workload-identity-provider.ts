import { invalidConfig, showValue } from '@keyless/core';

// Resource names of workload identity pool providers (IAM docs, "Manage workload identity pools and
// providers"; STS API reference, `token.audience`).
const DEFAULT_IAM_HOST = 'iam.googleapis.com';
const DEFAULT_LOCATION = 'global';
const PROVIDER_NAME =
  /^\/\/(iam\.[a-z0-9.-]+)\/projects\/([^/]+)\/locations\/([^/]+)\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/;
const WORKFORCE_NAME = /^(?:https:)?\/\/iam\.[a-z0-9.-]+\/locations\/[^/]+\/workforcePools\//;
// Pool and provider IDs: 4–32 characters of [a-z0-9-]; the `gcp-` prefix is reserved for Google.
const RESOURCE_ID = /^[a-z0-9-]{4,32}$/;
const PROJECT_NUMBER = /^[1-9]\d{0,19}$/;
const LOCATION = /^[a-z][a-z0-9-]{0,62}$/;

export interface WorkloadIdentityProviderOptions {
  /**
   * The provider's full resource name,
   * `//iam.googleapis.com/projects/<number>/locations/<location>/workloadIdentityPools/<pool>/providers/<provider>`
   * (the `https:`-prefixed and the `projects/…` short forms are accepted too). Or give the parts below.
   */
  audience?: string;
  /** The number (not the id) of the project that holds the pool. */
  projectNumber?: string | number;
  poolId?: string;
  providerId?: string;
  /** Default `global`, the only location workload identity pools have today. */
  location?: string;
}

/** A workload identity pool provider, with its canonical name. */
export interface WorkloadIdentityProvider {
  /** `//iam.googleapis.com/projects/<number>/locations/<location>/workloadIdentityPools/<pool>/providers/<provider>`: Google STS's `audience`. */
  name: string;
  /** The IAM host in the name, `iam.googleapis.com`. */
  iamHost: string;
  projectNumber: string;
  location: string;
  poolId: string;
  providerId: string;
}

/**
 * Validates and canonicalises the provider given as `audience` or as `projectNumber` + `poolId` +
 * `providerId` (+ `location`). Throws `INVALID_CONFIG` naming the option.
 */
export function workloadIdentityProvider(options: WorkloadIdentityProviderOptions): WorkloadIdentityProvider {
  const parts = (['projectNumber', 'poolId', 'providerId', 'location'] as const).filter(
    (k) => options[k] !== undefined,
  );
  if (options.audience !== undefined) {
    if (parts.length > 0) {
      throw invalidConfig(
        'gcp',
        `audience cannot be combined with ${parts.join(', ')}: give the provider either as its resource name (audience) or as projectNumber, poolId and providerId`,
      );
    }
    return parseProviderName(options.audience);
  }
  const missing = (['projectNumber', 'poolId', 'providerId'] as const).filter((k) => options[k] === undefined);
  if (missing.length > 0) {
    throw invalidConfig(
      'gcp',
      missing.length === 3
        ? 'the workload identity provider is missing: pass audience (its resource name //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>) or projectNumber, poolId and providerId'
        : `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} required with ${parts.filter((p) => p !== 'location').join(', ')}`,
    );
  }
  const projectNumber = checkProjectNumber(options.projectNumber, 'projectNumber');
  const location = checkLocation(options.location ?? DEFAULT_LOCATION, 'location');
  const poolId = checkResourceId(options.poolId, 'poolId', 'workload identity pool');
  const providerId = checkResourceId(options.providerId, 'providerId', 'provider');
  return {
    name: `//${DEFAULT_IAM_HOST}/projects/${projectNumber}/locations/${location}/workloadIdentityPools/${poolId}/providers/${providerId}`,
    iamHost: DEFAULT_IAM_HOST,
    projectNumber,
    location,
    poolId,
    providerId,
  };
}

/**
 * The IAM principal identifier of one subject of the pool, the member to bind roles to:
 * `principal://iam.googleapis.com/projects/<number>/locations/<location>/workloadIdentityPools/<pool>/subject/<subject>`.
 */
export function principalIdentifier(provider: WorkloadIdentityProvider, subject: string): string {
  return `principal://${provider.iamHost}/projects/${provider.projectNumber}/locations/${provider.location}/workloadIdentityPools/${provider.poolId}/subject/${subject}`;
}

function parseProviderName(value: unknown): WorkloadIdentityProvider {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidConfig('gcp', `audience must be a non-empty string, got ${showValue(value)}`);
  }
  if (WORKFORCE_NAME.test(value)) {
    throw invalidConfig(
      'gcp',
      'audience names a workforce pool provider; AWS workloads federate through a workload identity pool (//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)',
    );
  }
  let name = value.trim();
  if (name.startsWith('https://')) name = name.slice('https:'.length);
  else if (name.startsWith('projects/')) name = `//${DEFAULT_IAM_HOST}/${name}`;
  const match = PROVIDER_NAME.exec(name);
  if (!match) {
    throw invalidConfig(
      'gcp',
      `audience must be the provider's resource name //iam.googleapis.com/projects/<number>/locations/<location>/workloadIdentityPools/<pool>/providers/<provider>, got ${showValue(value)}`,
      '`gcloud iam workload-identity-pools providers describe <provider> --workload-identity-pool=<pool> --location=global --format="value(name)"` prints it as projects/…, which is accepted too.',
    );
  }
  const [, iamHost, projectNumber, location, poolId, providerId] = match as unknown as [string, ...string[]];
  return {
    name,
    iamHost: iamHost!,
    projectNumber: checkProjectNumber(projectNumber, 'the project in audience'),
    location: checkLocation(location, 'the location in audience'),
    poolId: checkResourceId(poolId, 'the pool in audience', 'workload identity pool'),
    providerId: checkResourceId(providerId, 'the provider in audience', 'provider'),
  };
}

function checkProjectNumber(value: unknown, name: string): string {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !PROJECT_NUMBER.test(text)) {
    throw invalidConfig(
      'gcp',
      `${name} must be a project number (digits), got ${showValue(value)}`,
      'Workload identity resource names use the project number, not the project id: `gcloud projects describe <project-id> --format="value(projectNumber)"`.',
    );
  }
  return text;
}

function checkLocation(value: unknown, name: string): string {
  if (typeof value !== 'string' || !LOCATION.test(value)) {
    throw invalidConfig('gcp', `${name} must be a location such as global, got ${showValue(value)}`);
  }
  return value;
}

function checkResourceId(value: unknown, name: string, what: string): string {
  if (typeof value !== 'string' || !RESOURCE_ID.test(value) || value.startsWith('gcp-')) {
    throw invalidConfig(
      'gcp',
      `${name} must be a ${what} id of 4..32 characters of a-z, 0-9 and - (not starting with gcp-), got ${showValue(value)}`,
      'Use the id, not the display name: `gcloud iam workload-identity-pools list --location=global`.',
    );
  }
  return value;
}
