import type { WebIdentityTokenProvider } from '@keyless/core';
import { type CommandContext, type OptionSpec, stringOption } from './command.js';
import { UsageError } from './usage-error.js';

/** What a target needs of the AWS JWT, and a dry exchange that proves the trust set-up on its side. */
export interface DoctorTarget {
  name: 'azure' | 'gcp' | 'snowflake' | 'oidc';
  /** The audience the target expects when the user gives none (`undefined`: the user must give it). */
  defaultAudience(context: CommandContext): Promise<string | undefined>;
  /** Signing algorithms the target accepts. */
  algorithms: readonly string[];
  algorithmWhy: string;
  /** Exchanges the token; resolves with a one-line description of what was obtained. */
  exchange(context: CommandContext, webIdentityToken: WebIdentityTokenProvider): Promise<string>;
}

export const TARGET_OPTIONS: OptionSpec = {
  'tenant-id': { type: 'string' },
  'client-id': { type: 'string' },
  'authority-host': { type: 'string' },
  scope: { type: 'string', multiple: true },
  'gcp-provider': { type: 'string' },
  'service-account': { type: 'string' },
  'gcp-token-url': { type: 'string' },
  'gcp-iam-url': { type: 'string' },
  account: { type: 'string' },
  user: { type: 'string' },
  'snowflake-host': { type: 'string' },
  'access-url': { type: 'string' },
  'token-endpoint': { type: 'string' },
  'oidc-issuer': { type: 'string' },
  grant: { type: 'string' },
  resource: { type: 'string', multiple: true },
};

export const TARGET_OPTIONS_HELP = `Target options:
  --target azure          --tenant-id, --client-id (else AZURE_TENANT_ID, AZURE_CLIENT_ID),
                          --authority-host, --scope (default https://management.azure.com/.default)
  --target gcp            --gcp-provider <//iam.googleapis.com/projects/…/providers/…>,
                          --service-account <email>, --scope, --gcp-token-url, --gcp-iam-url
  --target snowflake      --account <org-account>, --user, --snowflake-host, --access-url
  --target oidc           --token-endpoint <url> | --oidc-issuer <url>, --grant token-exchange|jwt-bearer,
                          --scope, --resource (the JWT audience is --audience, required)`;

function scopes(context: CommandContext): string[] {
  const value = context.values.scope;
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function left(expiresAt: Date | number): string {
  const ms = (typeof expiresAt === 'number' ? expiresAt : expiresAt.getTime()) - Date.now();
  return `expires in ${Math.round(ms / 1000)} s`;
}

const azure: DoctorTarget = {
  name: 'azure',
  async defaultAudience(context) {
    const { AzureAuthorityHosts, defaultTokenExchangeAudience } = await import('@keyless/azure');
    const host = stringOption(context.values, 'authority-host') ?? process.env.AZURE_AUTHORITY_HOST;
    return defaultTokenExchangeAudience(host ?? AzureAuthorityHosts.AzurePublicCloud);
  },
  algorithms: ['RS256'],
  algorithmWhy: 'Entra ID documents RS256 only (ES tokens fail with AADSTS5002738)',
  async exchange(context, webIdentityToken) {
    const { AwsFederatedCredential } = await import('@keyless/azure');
    const authorityHost = stringOption(context.values, 'authority-host');
    const tenantId = stringOption(context.values, 'tenant-id');
    const clientId = stringOption(context.values, 'client-id');
    const credential = new AwsFederatedCredential({
      ...(tenantId ? { tenantId } : {}),
      ...(clientId ? { clientId } : {}),
      ...(authorityHost ? { authorityHost } : {}),
      webIdentityToken,
      retry: false,
    });
    const scope = scopes(context);
    const token = await credential.getToken(scope.length > 0 ? scope : 'https://management.azure.com/.default');
    return `Entra ID issued an access token (tenant ${credential.tenantId}, client ${credential.clientId}), ${left(token.expiresOnTimestamp)}`;
  },
};

const gcp: DoctorTarget = {
  name: 'gcp',
  async defaultAudience(context) {
    const provider = stringOption(context.values, 'gcp-provider');
    if (!provider) {
      throw new UsageError('--target gcp needs --gcp-provider (the workload identity provider resource name)');
    }
    // What @keyless/gcp asks AWS for: https: + the provider's canonical name.
    const { workloadIdentityProvider } = await import('@keyless/gcp');
    return `https:${workloadIdentityProvider({ audience: provider }).name}`;
  },
  algorithms: ['RS256'],
  algorithmWhy: 'Google STS documents RS256 and ES256; AWS signs RS256 or ES384',
  async exchange(context, webIdentityToken) {
    const { createGoogleAuthClient } = await import('@keyless/gcp');
    const serviceAccountEmail = stringOption(context.values, 'service-account');
    const tokenUrl = stringOption(context.values, 'gcp-token-url');
    const iamUrl = stringOption(context.values, 'gcp-iam-url');
    const scope = scopes(context);
    const client = await createGoogleAuthClient({
      audience: stringOption(context.values, 'gcp-provider')!,
      webIdentityToken,
      retry: false,
      ...(serviceAccountEmail ? { serviceAccountEmail } : {}),
      ...(tokenUrl ? { tokenUrl } : {}),
      ...(iamUrl && serviceAccountEmail
        ? {
            serviceAccountImpersonationUrl: `${iamUrl.replace(/\/$/, '')}/v1/projects/-/serviceAccounts/${serviceAccountEmail}:generateAccessToken`,
          }
        : {}),
      ...(scope.length > 0 ? { scopes: scope } : {}),
    });
    const { token, res } = await client.getAccessToken();
    const expiry = client.credentials.expiry_date;
    if (!token) throw new Error('google-auth-library returned no access token');
    return `Google issued an access token${serviceAccountEmail ? ` for ${serviceAccountEmail}` : ' (federated, no impersonation)'}${typeof expiry === 'number' ? `, ${left(expiry)}` : ''}${res ? '' : ''}`;
  },
};

const snowflake: DoctorTarget = {
  name: 'snowflake',
  async defaultAudience() {
    const { SNOWFLAKE_AUDIENCE } = await import('@keyless/snowflake');
    return SNOWFLAKE_AUDIENCE;
  },
  algorithms: ['RS256', 'ES384'],
  algorithmWhy: 'Snowflake accepts both',
  async exchange(context, webIdentityToken) {
    const { connectSnowflake } = await import('@keyless/snowflake');
    const account = stringOption(context.values, 'account') ?? process.env.SNOWFLAKE_ACCOUNT;
    if (!account) throw new UsageError('--target snowflake needs --account (or SNOWFLAKE_ACCOUNT)');
    const username = stringOption(context.values, 'user');
    const host = stringOption(context.values, 'snowflake-host');
    const accessUrl = stringOption(context.values, 'access-url');
    const connection = await connectSnowflake({
      account,
      webIdentityToken,
      sfRetryMaxLoginRetries: 0,
      ...(username ? { username } : {}),
      ...(host ? { host } : {}),
      ...(accessUrl ? { accessUrl } : {}),
    } as Parameters<typeof connectSnowflake>[0]);
    await new Promise<void>((resolve) => connection.destroy(() => resolve()));
    return `Snowflake opened a session for account ${account}${username ? ` as ${username}` : ''} (closed again)`;
  },
};

const oidc: DoctorTarget = {
  name: 'oidc',
  defaultAudience: async () => undefined,
  algorithms: ['RS256', 'ES384'],
  algorithmWhy: 'depends on the server (Vault and Databricks want RS256)',
  async exchange(context, webIdentityToken) {
    const { fromJwtBearer, fromTokenExchange } = await import('@keyless/oidc');
    const tokenEndpoint = stringOption(context.values, 'token-endpoint');
    const issuer = stringOption(context.values, 'oidc-issuer');
    if (!tokenEndpoint === !issuer)
      throw new UsageError('--target oidc needs exactly one of --token-endpoint and --oidc-issuer');
    const where = tokenEndpoint ? { tokenEndpoint } : { issuer: issuer! };
    const scope = scopes(context).join(' ') || undefined;
    const grant = stringOption(context.values, 'grant') ?? 'token-exchange';
    const resource = context.values.resource as string[] | undefined;
    let provider: () => Promise<{ expiresAt: Date; tokenType: string }>;
    if (grant === 'token-exchange') {
      provider = fromTokenExchange({
        ...where,
        webIdentityToken,
        ...(scope ? { scope } : {}),
        ...(resource?.length ? { resource } : {}),
      });
    } else if (grant === 'jwt-bearer') {
      provider = fromJwtBearer({ ...where, webIdentityToken, ...(scope ? { scope } : {}) });
    } else {
      throw new UsageError(`--grant must be token-exchange or jwt-bearer, got ${JSON.stringify(grant)}`);
    }
    const token = await provider();
    return `the token endpoint issued a ${token.tokenType} token (${grant}), ${left(token.expiresAt)}`;
  },
};

export const DOCTOR_TARGETS: Readonly<Record<string, DoctorTarget>> = { azure, gcp, snowflake, oidc };
