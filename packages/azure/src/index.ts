export {
  AzureAuthorityHosts,
  defaultTokenExchangeAudience,
  TOKEN_EXCHANGE_AUDIENCE,
  TOKEN_EXCHANGE_AUDIENCE_CHINA,
  TOKEN_EXCHANGE_AUDIENCE_US_GOV,
} from './authority.js';
export { AwsFederatedCredential, type AwsFederatedCredentialOptions } from './aws-federated-credential.js';
