import { checkString, checkUrl, env, invalidConfig, showValue } from '@keyless/core';

/**
 * Entra ID authority hosts, the values of `AzureAuthorityHosts` in `@azure/identity`
 * (msal-node `AzureCloudInstance`; Microsoft "National clouds" page).
 */
export const AzureAuthorityHosts = {
  AzurePublicCloud: 'https://login.microsoftonline.com',
  AzureGovernment: 'https://login.microsoftonline.us',
  AzureChina: 'https://login.chinacloudapi.cn',
} as const;

/**
 * The audience a federated identity credential recommends per cloud (Microsoft "Workload identity
 * federation: considerations", PROTOCOLS §3.1). The external token's `aud` must equal the FIC's `audiences[0]`.
 */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
export const TOKEN_EXCHANGE_AUDIENCE_US_GOV = 'api://AzureADTokenExchangeUSGov';
export const TOKEN_EXCHANGE_AUDIENCE_CHINA = 'api://AzureADTokenExchangeChina';

// MSAL rewrites login.chinacloudapi.cn to login.partner.microsoftonline.cn from its built-in metadata.
const AUDIENCE_BY_HOST: ReadonlyMap<string, string> = new Map([
  ['login.microsoftonline.us', TOKEN_EXCHANGE_AUDIENCE_US_GOV],
  ['login.chinacloudapi.cn', TOKEN_EXCHANGE_AUDIENCE_CHINA],
  ['login.partner.microsoftonline.cn', TOKEN_EXCHANGE_AUDIENCE_CHINA],
]);

// Entra's tenant rule, as @azure/identity checks it (`checkTenantId`): a GUID or a domain name.
const TENANT_PATTERN = /^[0-9a-zA-Z-.]+$/;

/**
 * The default `aud` to ask AWS for, given the authority host: US Government and China clouds
 * have their own; every other host (public cloud, emulators, proxies) gets `api://AzureADTokenExchange`.
 */
export function defaultTokenExchangeAudience(
  authorityHost: string | URL = AzureAuthorityHosts.AzurePublicCloud,
): string {
  const hostname = new URL(authorityHost).hostname.toLowerCase();
  return AUDIENCE_BY_HOST.get(hostname) ?? TOKEN_EXCHANGE_AUDIENCE;
}

/**
 * The authority host from the option, `AZURE_AUTHORITY_HOST`, else the public cloud. It must be
 * `https:`, except on loopback (the keyless emulator): the AWS-signed JWT is a bearer credential.
 * A path is kept (a proxy may serve Entra under a prefix); query and fragment are refused.
 */
export function resolveAuthorityHost(option: unknown): URL {
  const fromOption = option !== undefined;
  const name = fromOption ? 'authorityHost' : 'AZURE_AUTHORITY_HOST';
  const value = fromOption ? option : (env('AZURE_AUTHORITY_HOST') ?? AzureAuthorityHosts.AzurePublicCloud);
  // The client assertion is a bearer credential: https, or plain http on loopback only (the emulator).
  const url = checkUrl('azure', name, value, { allowHttp: 'loopback' });
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw invalidConfig('azure', `${name} must be a bare origin (optionally with a path), got ${showValue(value)}`);
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** `{authorityHost}/{tenantId}/oauth2/v2.0/token`, the v2 endpoint MSAL posts client credentials to. */
export function tokenEndpoint(authorityHost: URL, tenantId: string): URL {
  const base = authorityHost.href.replace(/\/+$/, '');
  return new URL(`${base}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`);
}

/** Throws `INVALID_CONFIG` unless `value` is a tenant ID or domain as Entra accepts it. */
export function checkTenantId(name: string, value: unknown): string {
  const tenantId = checkString('azure', name, value, { max: 256 });
  if (!TENANT_PATTERN.test(tenantId)) {
    throw invalidConfig(
      'azure',
      `${name} must be a directory (tenant) ID or a domain name (letters, digits, "-" and "."), got ${showValue(value)}`,
      'Find it as "Directory (tenant) ID" on the app registration’s or managed identity’s overview page, or `az account show --query tenantId`.',
    );
  }
  return tenantId;
}
