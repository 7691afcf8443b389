export {
  AWS_TOKEN_ALGORITHMS,
  type AwsClaimRequirements,
  type AwsTokenAlgorithm,
  type AwsTokenRejectionReason,
  type AwsTokenVerifier,
  type AwsTokenVerifierOptions,
  createAwsTokenVerifier,
  type VerifiedAwsToken,
  verifyAwsWebIdentityToken,
} from './aws-token-verifier.js';
export { CLIENT_AUTH_METHODS, type ClientAuth } from './client-auth.js';
export { type DatabricksOptions, fromDatabricks } from './databricks.js';
export { fromJwtBearer, JWT_BEARER_GRANT_TYPE, type JwtBearerOptions } from './jwt-bearer.js';
export {
  type AccessTokenProvider,
  DEFAULT_EXPIRES_IN_SECONDS,
  type TokenProviderOptions,
} from './token-endpoint.js';
export {
  fromTokenExchange,
  TOKEN_EXCHANGE_GRANT_TYPE,
  TOKEN_TYPE_NAMES,
  type TokenExchangeOptions,
  type TokenTypeName,
} from './token-exchange.js';
export type { AccessToken } from './token-response.js';
export { fromVaultJwtLogin, type VaultJwtLoginOptions, type VaultToken } from './vault-jwt-login.js';
