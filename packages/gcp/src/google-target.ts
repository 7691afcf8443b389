import { checkInteger, checkUrl, invalidConfig, showValue } from '@keyless/core';
import {
  type WorkloadIdentityProvider,
  type WorkloadIdentityProviderOptions,
  workloadIdentityProvider,
} from './workload-identity-provider.js';

// Endpoints per universe (google-auth-library BaseExternalAccountClient: `https://sts.{universeDomain}/v1/token`;
// IAM Credentials API reference: `projects/-/serviceAccounts/{email}:generateAccessToken`).
export const DEFAULT_UNIVERSE_DOMAIN = 'googleapis.com';
const STS_TOKEN_URL = (universe: string) => `https://sts.${universe}/v1/token`;
const IMPERSONATION_URL = (universe: string, email: string) =>
  `https://iamcredentials.${universe}/v1/projects/-/serviceAccounts/${email}:generateAccessToken`;
const IMPERSONATION_URL_EMAIL = /\/serviceAccounts\/([^/:]+):generateAccessToken$/;
// google-auth-library refuses longer impersonation URLs (getServiceAccountEmail, a ReDoS guard).
const MAX_IMPERSONATION_URL_LENGTH = 256;
// generateAccessToken: 3600 s unless the org policy iam.allowServiceAccountCredentialLifetimeExtension
// allows up to 12 h; gcloud's create-cred-config accepts 600..43200.
const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;
const MIN_TOKEN_LIFETIME_SECONDS = 600;
const MAX_TOKEN_LIFETIME_SECONDS = 43_200;
const EMAIL = /^[^\s@/:]+@[^\s@/:]+\.[^\s@/:]+$/;
const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Where and how the AWS JWT is traded: options shared by `createGoogleAuthClient` and `externalAccountConfig`. */
/**
 * The AWS JWT lifetime keyless asks for by default (the longest STS allows): a federated token never
 * outlives the JWT it was exchanged for (observed expires_in = min(the JWT's remaining life, 3600 s)).
 */
export const DEFAULT_AWS_DURATION_SECONDS = 3600;

export interface GoogleTargetOptions extends WorkloadIdentityProviderOptions {
  /** Impersonate this service account (IAM Credentials `generateAccessToken`); else the federated token is used directly. */
  serviceAccountEmail?: string;
  /** Default `https://iamcredentials.{universeDomain}/v1/projects/-/serviceAccounts/<serviceAccountEmail>:generateAccessToken`. */
  serviceAccountImpersonationUrl?: string;
  /** Google STS token endpoint. Default `https://sts.{universeDomain}/v1/token`. */
  tokenUrl?: string;
  /** Default `googleapis.com`. */
  universeDomain?: string;
  /** Lifetime of the impersonated token, 600..43200 s (above 3600 needs an org policy). Default 3600. */
  tokenLifetimeSeconds?: number;
}

export interface Impersonation {
  serviceAccountEmail: string;
  url: string;
  lifetimeSeconds: number;
  /** Whether `tokenLifetimeSeconds` was given (only then does the config file carry it). */
  lifetimeConfigured: boolean;
}

export interface GoogleTarget {
  provider: WorkloadIdentityProvider;
  universeDomain: string;
  tokenUrl: string;
  impersonation: Impersonation | undefined;
}

/** Validates the Google-side options; throws `INVALID_CONFIG` naming the option. */
export function resolveGoogleTarget(options: GoogleTargetOptions): GoogleTarget {
  const provider = workloadIdentityProvider(options);
  const universeDomain = options.universeDomain ?? DEFAULT_UNIVERSE_DOMAIN;
  if (typeof universeDomain !== 'string' || !DOMAIN.test(universeDomain)) {
    throw invalidConfig(
      'gcp',
      `universeDomain must be a domain name such as googleapis.com, got ${showValue(options.universeDomain)}`,
    );
  }
  const tokenUrl =
    options.tokenUrl === undefined ? STS_TOKEN_URL(universeDomain) : checkUrl('gcp', 'tokenUrl', options.tokenUrl).href;
  return { provider, universeDomain, tokenUrl, impersonation: resolveImpersonation(options, universeDomain) };
}

function resolveImpersonation(options: GoogleTargetOptions, universeDomain: string): Impersonation | undefined {
  const { serviceAccountEmail, serviceAccountImpersonationUrl, tokenLifetimeSeconds } = options;
  if (
    serviceAccountEmail !== undefined &&
    (typeof serviceAccountEmail !== 'string' || !EMAIL.test(serviceAccountEmail))
  ) {
    throw invalidConfig(
      'gcp',
      `serviceAccountEmail must be a service account email such as app@my-project.iam.gserviceaccount.com, got ${showValue(serviceAccountEmail)}`,
    );
  }
  let url: string | undefined;
  let email = serviceAccountEmail;
  if (serviceAccountImpersonationUrl !== undefined) {
    url = checkUrl('gcp', 'serviceAccountImpersonationUrl', serviceAccountImpersonationUrl).href;
    const fromUrl = IMPERSONATION_URL_EMAIL.exec(new URL(url).pathname)?.[1];
    if (url.length > MAX_IMPERSONATION_URL_LENGTH || fromUrl === undefined) {
      throw invalidConfig(
        'gcp',
        `serviceAccountImpersonationUrl must end in /serviceAccounts/<email>:generateAccessToken and be at most ${MAX_IMPERSONATION_URL_LENGTH} characters, got ${showValue(serviceAccountImpersonationUrl)}`,
      );
    }
    const decoded = decodeURIComponent(fromUrl);
    if (email !== undefined && email !== decoded) {
      throw invalidConfig(
        'gcp',
        `serviceAccountImpersonationUrl names ${decoded} but serviceAccountEmail is ${email}: give one of them, or the same account in both`,
      );
    }
    email = decoded;
  }
  if (email === undefined) {
    if (tokenLifetimeSeconds !== undefined) {
      throw invalidConfig(
        'gcp',
        'tokenLifetimeSeconds only applies to service account impersonation: set serviceAccountEmail too, or drop it (federated tokens live 1 hour)',
      );
    }
    return undefined;
  }
  const lifetimeSeconds =
    tokenLifetimeSeconds === undefined
      ? DEFAULT_TOKEN_LIFETIME_SECONDS
      : checkInteger(
          'gcp',
          'tokenLifetimeSeconds',
          tokenLifetimeSeconds,
          MIN_TOKEN_LIFETIME_SECONDS,
          MAX_TOKEN_LIFETIME_SECONDS,
        );
  return {
    serviceAccountEmail: email,
    url: url ?? IMPERSONATION_URL(universeDomain, email),
    lifetimeSeconds,
    lifetimeConfigured: tokenLifetimeSeconds !== undefined,
  };
}
