export {
  type ExternalAccountAwsOptions,
  type ExternalAccountConfig,
  type ExternalAccountConfigOptions,
  externalAccountConfig,
  writeExternalAccountConfig,
} from './external-account-config.js';
export { createGoogleAuthClient, type GoogleAuthClientOptions } from './google-auth-client.js';
export {
  type CheckGoogleAuthLibraryOptions,
  checkGoogleAuthLibrary,
  type GoogleAuthLibraryCheck,
  type GoogleAuthLibraryCopy,
} from './google-auth-library.js';
export type { GoogleTargetOptions } from './google-target.js';
export {
  principalIdentifier,
  type WorkloadIdentityProvider,
  type WorkloadIdentityProviderOptions,
  workloadIdentityProvider,
} from './workload-identity-provider.js';
