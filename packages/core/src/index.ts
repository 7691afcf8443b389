export { mapStsError, type StsRequest } from './aws-errors.js';
export {
  type AwsWebIdentityTokenOptions,
  DEFAULT_DURATION_SECONDS,
  fromAwsWebIdentityToken,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
  validateAwsWebIdentityTokenOptions,
  type WebIdentityToken,
  type WebIdentityTokenProvider,
} from './aws-web-identity-token.js';
export {
  AWS_CLAIMS_KEY,
  type AwsContextClaims,
  type AwsWebIdentityClaims,
  clipClaim,
  decodeAwsWebIdentityClaims,
  formatPresented,
  formatTokenSummary,
  type PresentedClaims,
  presentedClaims,
  summarizeToken,
  type TokenSummary,
} from './claims.js';
export { DIAGNOSTICS_CHANNELS } from './diagnostics.js';
export {
  isKeylessError,
  KeylessError,
  type KeylessErrorCode,
  type KeylessErrorDetails,
  type KeylessErrorOptions,
  type KeylessProvider,
} from './errors.js';
export {
  errorCodeOf,
  type HttpRequest,
  type HttpResponse,
  httpStatusError,
  type OAuthErrorBody,
  parseOAuthError,
  parseRetryAfter,
  readJsonObject,
  sendHttpRequest,
} from './http.js';
export { createLogger, type Logger } from './logger.js';
export { redactSecrets, redactValues } from './redact.js';
export { type RegionSource, type ResolvedRegion, resolveRegion } from './region.js';
export {
  type CachedTokenProvider,
  createKeyedTokenCache,
  createTokenCache,
  type ExpiringToken,
  type FetchContext,
  type KeyedCachedTokenProvider,
  type KeyedTokenCacheOptions,
  type KeyedTokenFetcher,
  type RetryOptions,
  refreshStartTime,
  type TokenCacheOptions,
  type TokenFetcher,
  type TokenRequestOptions,
} from './token-cache.js';
export {
  checkFunction,
  checkInteger,
  checkNumber,
  checkOneOf,
  checkOptionalString,
  checkString,
  checkUrl,
  env,
  invalidConfig,
  isLoopbackHost,
  showValue,
} from './validate.js';
export {
  resolveWebIdentityToken,
  type WebIdentityDefaults,
  type WebIdentityOptions,
} from './web-identity-source.js';
