import {
  type HttpResponse,
  KeylessError,
  type KeylessErrorCode,
  type KeylessErrorDetails,
  parseOAuthError,
  presentedClaims,
  type TokenSummary,
} from '@keyless/core';

/** What the token request was, for the hints: which setting to change, and what was presented. */
export interface EntraRequestContext {
  tenantId: string;
  clientId: string;
  /** `origin + path` of the authority host. */
  authorityHost: string;
  scope: string;
  /** The JWT that was sent as `client_assertion`, summarised (claims only). */
  presented: TokenSummary;
  /** Whether keyless minted the JWT (`aws` options) or the caller supplied it (`webIdentityToken`). */
  tokenSource: 'aws' | 'webIdentityToken';
  /** The `client-request-id` keyless sent; Entra uses it as the correlation ID. */
  clientRequestId: string;
}

const SERVICE = 'Entra ID';

// Entra appends these to every error_description; they are in `trace_id` / `correlation_id` / `timestamp` already.
const BOILERPLATE = /\s*(?:Trace ID|Correlation ID|Timestamp):.*$/s;
const AADSTS_IN_TEXT = /AADSTS(\d+)/;

/**
 * Turns an Entra ID error answer into a `KeylessError` whose hint names the setting to change.
 * Codes from Microsoft's "Microsoft Entra authentication and authorization error codes" page and
 * the workload identity federation troubleshooting notes (PROTOCOLS §3.4). `error_codes[]` is read
 * first because Microsoft says the message text may change.
 */
export function mapEntraError(response: HttpResponse, context: EntraRequestContext): KeylessError {
  const body = parseOAuthError(response);
  const code = aadstsCode(body);
  const description = cleanDescription(body?.error_description, code);
  const details: KeylessErrorDetails = {
    status: response.status,
    targetCode: code === undefined ? body?.error : `AADSTS${code}`,
    presented: presentedClaims(context.presented),
    requestId: context.clientRequestId,
    ...ids(body),
  };
  const said = description ? `: ${description}` : body ? `: ${body.error}` : '';
  const base = { provider: 'azure' as const, details };
  const { iss, sub, aud, alg } = context.presented;
  const presented = `Presented iss=${quote(iss)} sub=${quote(sub)} aud=${quote(aud)}.`;
  const fic = `the federated identity credential on application ${context.clientId} (tenant ${context.tenantId})`;

  const reject = (message: string, hint: string) =>
    new KeylessError({ ...base, code: 'TOKEN_REJECTED', message: `${message} (AADSTS${code})${said}`, hint });
  const config = (message: string, hint: string) =>
    new KeylessError({ ...base, code: 'INVALID_CONFIG', message: `${message} (AADSTS${code})${said}`, hint });

  if (response.status === 429 || response.status >= 500) return retryableError(response, code, said, base);

  switch (code) {
    case '700213':
      return reject(
        'Entra ID found no federated identity credential matching the token’s subject',
        `Set the subject of ${fic} to exactly ${quote(sub)} (case-sensitive: the role ARN as it appears in the token’s sub). ${presented}`,
      );
    case '700212':
      return reject(
        'Entra ID found no federated identity credential matching the token’s audience',
        `Set the audiences of ${fic} to [${quote(firstAudience(aud))}], or make the token’s audience match the credential (${context.tokenSource === 'aws' ? 'the aws.audience option' : 'the audience your webIdentityToken provider asks for'}; api://AzureADTokenExchange is the recommended value). ${presented}`,
      );
    case '700211':
      return reject(
        'Entra ID found no federated identity credential matching the token’s issuer',
        `Set the issuer of ${fic} to exactly ${quote(iss)}: the IssuerIdentifier of \`aws iam get-outbound-web-identity-federation-info\`, no trailing slash. ${presented}`,
      );
    case '70021':
      return reject(
        'Entra ID found no federated identity credential matching the token',
        `Make ${fic} match the token exactly (case-sensitive): issuer ${quote(iss)}, subject ${quote(sub)}, audiences [${quote(firstAudience(aud))}]. If the credential was created or changed in the last few minutes, this may be propagation delay: retry shortly. ${presented}`,
      );
    case '70025':
      return reject(
        `Application ${context.clientId} has no federated identity credentials`,
        `Add a federated identity credential to it with issuer ${quote(iss)}, subject ${quote(sub)} and audiences [${quote(firstAudience(aud))}] (\`az ad app federated-credential create\`, or \`az identity federated-credential create\` for a managed identity).`,
      );
    case '700016':
      return config(
        `Entra ID found no application ${context.clientId} in tenant ${context.tenantId}`,
        'Check clientId (AZURE_CLIENT_ID): the Application (client) ID of the app registration, or the Client ID of the user-assigned managed identity; and tenantId (AZURE_TENANT_ID): the directory that holds it. A just-created application can take a minute to appear.',
      );
    case '90002':
    case '900023':
      return config(
        `Entra ID does not know tenant ${context.tenantId}`,
        `Check tenantId (AZURE_TENANT_ID): the Directory (tenant) ID or a verified domain of the tenant, on the cloud of authorityHost (${context.authorityHost}).`,
      );
    case '700024':
      return reject(
        'Entra ID refused the token because it is outside its valid time range (expired or not yet valid)',
        `Check this machine’s clock (NTP): Entra compares the token’s iat/nbf/exp with its own${context.tokenSource === 'webIdentityToken' ? ', and that your webIdentityToken provider returns unexpired tokens' : ''}. Presented exp=${context.presented.exp ?? 'unknown'} (${expText(context.presented.exp)}).`,
      );
    case '5002738':
      return reject(
        `Entra ID does not accept the token’s signing algorithm${alg ? ` (${alg})` : ''}`,
        context.tokenSource === 'aws'
          ? "Use RS256: set aws.signingAlgorithm to 'RS256' (the default of @keyless/azure)."
          : 'Use RS256: have your webIdentityToken provider call GetWebIdentityToken with SigningAlgorithm RS256.',
      );
    case '700027':
      return reject(
        'Entra ID could not verify the token’s signature',
        `Entra checks the signature with the keys published by the issuer the federated identity credential names (${quote(iss)}/.well-known/openid-configuration → jwks_uri). Check that the credential’s issuer is this AWS account’s issuer URL and that the token comes from that account. ${presented}`,
      );
    case '50027':
      return reject(
        'Entra ID found the token malformed or invalid',
        `Check that the token is a JWT from STS GetWebIdentityToken with iss, sub, aud, iat and exp. ${presented}`,
      );
    case '700222':
      return config(
        'Entra ID does not accept a token it issued itself as a federated credential',
        context.tokenSource === 'webIdentityToken'
          ? 'webIdentityToken must return the AWS-signed JWT (STS GetWebIdentityToken), not an Entra ID token; or drop webIdentityToken and let keyless get one from AWS.'
          : 'Present the AWS-signed JWT (STS GetWebIdentityToken), not an Entra ID token.',
      );
    case '500011':
    case '1002012':
    case '70011':
      return config(
        `Entra ID refused the requested scope ${quote(context.scope)}`,
        'Ask for one resource with the /.default suffix, e.g. https://storage.azure.com/.default (client credentials only accept <resource>/.default), and check that the resource exists in the tenant.',
      );
    case '7000112':
      return config(
        `Application ${context.clientId} is disabled in tenant ${context.tenantId}`,
        'Enable the application (its enterprise application / service principal) in the tenant, or use another clientId.',
      );
  }

  const codeText = code === undefined ? (body ? body.error : `HTTP ${response.status}`) : `AADSTS${code}`;
  return new KeylessError({
    ...base,
    code: 'EXCHANGE_FAILED',
    message: body
      ? `Entra ID refused the token request (${codeText})${said}`
      : `Entra ID answered HTTP ${response.status} without an OAuth error body.`,
    ...(body
      ? {}
      : {
          hint: `Check authorityHost (${context.authorityHost}): it must serve {authorityHost}/{tenantId}/oauth2/v2.0/token.`,
        }),
  });
}

function retryableError(
  response: HttpResponse,
  code: string | undefined,
  said: string,
  base: { provider: 'azure'; details: KeylessErrorDetails },
): KeylessError {
  const throttled = response.status === 429;
  const errorCode: KeylessErrorCode = throttled ? 'THROTTLED' : 'EXCHANGE_FAILED';
  const codeText = code === undefined ? '' : `, AADSTS${code}`;
  return new KeylessError({
    ...base,
    code: errorCode,
    retryable: true,
    message: throttled
      ? `${SERVICE} throttled the token request (HTTP 429${codeText})${said || '.'}`
      : `${SERVICE} failed to answer the token request (HTTP ${response.status}${codeText})${said || '.'}`,
    ...(throttled
      ? { hint: 'Share one AwsFederatedCredential across the process so that its cache absorbs the load.' }
      : {}),
    ...(response.retryAfterMs === undefined ? {} : { retryAfterMs: response.retryAfterMs }),
  });
}

/** The first AADSTS number: `error_codes[0]`, else the one in the description. */
function aadstsCode(body: ReturnType<typeof parseOAuthError>): string | undefined {
  const codes = body?.error_codes;
  if (Array.isArray(codes)) {
    const first = codes.find(
      (c) => (typeof c === 'number' && Number.isInteger(c)) || (typeof c === 'string' && /^\d+$/.test(c)),
    );
    if (first !== undefined) return String(first);
  }
  const match = typeof body?.error_description === 'string' ? AADSTS_IN_TEXT.exec(body.error_description) : null;
  return match?.[1];
}

/** The description without its `AADSTSnnn:` prefix, its trace/correlation/timestamp tail and line breaks. */
function cleanDescription(description: unknown, code: string | undefined): string | undefined {
  if (typeof description !== 'string') return undefined;
  let text = description.replace(BOILERPLATE, '').replace(/\s+/g, ' ').trim();
  if (code !== undefined) text = text.replace(new RegExp(`^AADSTS${code}:\\s*`), '');
  if (text.length > 600) text = `${text.slice(0, 597)}...`;
  return text.length > 0 ? text : undefined;
}

function ids(body: ReturnType<typeof parseOAuthError>): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof body?.correlation_id === 'string') {
    out.requestId = body.correlation_id;
    out.correlationId = body.correlation_id;
  }
  if (typeof body?.trace_id === 'string') out.traceId = body.trace_id;
  if (typeof body?.timestamp === 'string') out.timestamp = body.timestamp;
  return out;
}

function firstAudience(aud: string | string[] | undefined): string | undefined {
  return Array.isArray(aud) ? aud[0] : aud;
}

function quote(value: string | string[] | undefined): string {
  if (value === undefined) return '(none)';
  return Array.isArray(value) ? value.map((v) => `"${v}"`).join(', ') : `"${value}"`;
}

function expText(exp: number | undefined): string {
  return exp === undefined ? 'no exp claim' : new Date(exp * 1000).toISOString();
}
