import { checkString, env, formatPresented, invalidConfig, KeylessError, showValue } from '@keyless/core';
import { checkScope } from './form-options.js';
import { checkSecureUrl } from './secure-url.js';
import type { AccessTokenProvider, TokenProviderOptions } from './token-endpoint.js';
import { tokenExchangeProvider } from './token-exchange.js';

// Databricks docs, "Authenticate with an identity provider token": RFC 8693 at the workspace's
// /oidc/v1/token, or the account's /oidc/accounts/<account-id>/v1/token, with scope all-apis.
const WORKSPACE_TOKEN_PATH = '/oidc/v1/token';
const ACCOUNT_TOKEN_PATH = (accountId: string) => `/oidc/accounts/${encodeURIComponent(accountId)}/v1/token`;
const DEFAULT_SCOPE = 'all-apis';
// Databricks derives the OAuth token's lifetime from the federated token's, so a 300 s AWS JWT
// would mean a new exchange every few minutes: ask AWS for an hour (the STS maximum).
const DEFAULT_DURATION_SECONDS = 3600;
// Account console hosts (accounts.cloud.databricks.com, accounts.azuredatabricks.net, accounts.gcp…, accounts-dod…).
const ACCOUNT_HOST = /^accounts(?:-dod)?\./;

export interface DatabricksOptions extends TokenProviderOptions {
  /** Workspace host (`dbc-….cloud.databricks.com`, with or without `https://`) or account console host. Else `DATABRICKS_HOST`. */
  host?: string;
  /** Application ID of the service principal whose federation policy trusts the JWT. Leave out for an account-wide policy. */
  clientId?: string;
  /** Databricks account ID: needed with an account console host; also the default JWT audience. */
  accountId?: string;
  /** Default `all-apis`. */
  scope?: string | readonly string[];
}

/**
 * A cached provider of a Databricks OAuth token (OAuth token federation) for the AWS-signed JWT.
 * Options are checked now; nothing is fetched until the first call.
 */
export function fromDatabricks(options: DatabricksOptions = {}): AccessTokenProvider {
  if (typeof options !== 'object' || options === null) throw invalidConfig('oidc', 'options must be an object');
  const origin = databricksOrigin(options.host ?? env('DATABRICKS_HOST'));
  const accountId =
    options.accountId === undefined ? undefined : checkString('oidc', 'accountId', options.accountId, { max: 100 });
  const isAccount = ACCOUNT_HOST.test(origin.hostname);
  if (isAccount && accountId === undefined) {
    throw invalidConfig(
      'oidc',
      `accountId is required with the account console host ${origin.hostname}`,
      'Pass the Databricks account ID, or a workspace host for a workspace-level token.',
    );
  }
  const clientId = options.clientId === undefined ? undefined : checkString('oidc', 'clientId', options.clientId);
  const unsupported = options as { clientAuth?: unknown; extraParams?: unknown };
  if (unsupported.clientAuth !== undefined || unsupported.extraParams !== undefined) {
    throw invalidConfig('oidc', 'clientAuth and extraParams are not options of fromDatabricks; use fromTokenExchange');
  }
  const scope = checkScope('scope', options.scope ?? DEFAULT_SCOPE);
  const tokenEndpoint = new URL(isAccount ? ACCOUNT_TOKEN_PATH(accountId as string) : WORKSPACE_TOKEN_PATH, origin)
    .href;
  const rejectedHint =
    'Databricks found no federation policy that accepts this AWS JWT. The policy’s issuer must be the AWS account’s issuer (iss); its audiences must include aws.audience (aud; a policy without audiences accepts the account ID); a service principal policy’s subject must be the role ARN (sub). Tokens must be RS256.';
  return tokenExchangeProvider(
    {
      ...options,
      tokenEndpoint,
      scope,
      subjectTokenType: 'jwt',
      ...(clientId === undefined ? {} : { clientAuth: { method: 'none', clientId } }),
    },
    {
      name: 'databricks',
      service: 'the Databricks token endpoint',
      audienceHelp:
        'use one of the Databricks federation policy’s audiences (a policy without audiences accepts your Databricks account ID: pass accountId to use it)',
      ...(accountId === undefined ? {} : { defaultAudience: accountId }),
      defaultDurationSeconds: DEFAULT_DURATION_SECONDS,
      allowedAlgorithms: ['RS256'],
      algorithmHelp: 'Databricks accepts RS256 and ES256 tokens; AWS signs RS256 or ES384',
      hints: {
        rejectedHint,
        clientHint:
          'clientId must be the application ID of the service principal whose federation policy trusts this JWT; leave it out for an account-wide policy.',
        // Databricks is reported to answer a refused token with a bare 401 (no OAuth error body).
        classify: (response, oauth, presented) => {
          if (response.status !== 401 || oauth) return undefined;
          return new KeylessError({
            code: 'TOKEN_REJECTED',
            provider: 'oidc',
            message: `The Databricks token endpoint ${tokenEndpoint} refused the AWS JWT (HTTP 401).`,
            hint: `${rejectedHint} Presented: ${formatPresented(presented)}.`,
            details: { status: 401, presented },
          });
        },
      },
    },
  );
}

function databricksOrigin(value: unknown): URL {
  if (value === undefined) {
    throw invalidConfig('oidc', 'host is required', 'Pass host (the workspace URL) or set DATABRICKS_HOST.');
  }
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidConfig('oidc', `host must be a Databricks host name or URL, got ${showValue(value)}`);
  }
  const text = value.trim();
  const url = checkSecureUrl('host', /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  if (url.pathname.replace(/\/+$/, '') !== '' || url.search !== '') {
    throw invalidConfig('oidc', `host must be a bare host or origin (no path or query), got ${showValue(value)}`);
  }
  return new URL(url.origin);
}
