import {
  type AwsContextClaims,
  type HttpResponse,
  httpStatusError,
  KeylessError,
  type KeylessErrorDetails,
  parseOAuthError,
  presentedClaims,
  type TokenSummary,
} from '@keyless/core';
import type { Impersonation } from './google-target.js';
import { principalIdentifier, type WorkloadIdentityProvider } from './workload-identity-provider.js';

const STS_SERVICE = 'Google STS';
const IAM_SERVICE = 'IAM Service Account Credentials';
// google.subject is limited to 127 bytes (IAM "Troubleshoot workload identity federation").
const GOOGLE_SUBJECT_LIMIT = 127;

/** What was sent and to whom, for hints that name the setting to change and quote what was presented. */
export interface ExchangeContext {
  provider: WorkloadIdentityProvider;
  /** Claims of the JWT that was presented (never the JWT). */
  presented: TokenSummary;
  /** The nested `https://sts.amazonaws.com/` claims, when the JWT has them. */
  awsClaims: AwsContextClaims | undefined;
  /** Whether keyless minted the JWT (`aws`) or the caller's `webIdentityToken` provider did. */
  tokenSource: 'aws' | 'webIdentityToken';
  /** The audience keyless asks AWS for by default (the provider name with `https:`). */
  defaultAwsAudience: string;
  tokenUrl: string;
  scopes: readonly string[];
  impersonation: Impersonation | undefined;
}

/**
 * Turns a Google STS error answer (`{ error, error_description }`, RFC 6749 §5.2) into a `KeylessError`
 * whose hint names the trust-rule field to change. Texts seen from STS (PROTOCOLS §4.2, public reports):
 * `invalid_grant` "The audience in ID Token [...] does not match the expected audience.", "Error
 * connecting to the given credential's issuer.", "ID Token issued at ... is stale to sign-in.";
 * `unauthorized_client` "The given credential is rejected by the attribute condition.";
 * `invalid_target` (pool/provider missing or disabled); `invalid_request` (malformed audience,
 * google.subject over 127 bytes).
 */
export function mapStsError(response: HttpResponse, context: ExchangeContext): KeylessError {
  const body = parseOAuthError(response);
  const description = clean(body?.error_description);
  const details: KeylessErrorDetails = {
    status: response.status,
    ...(body ? { targetCode: body.error } : {}),
    presented: presentedClaims(context.presented),
    expected: { audience: context.provider.name },
  };
  const said = body ? ` (${body.error}${description ? `: ${description}` : ''})` : '';
  const base = { provider: 'gcp' as const, details };
  if (response.status === 429 || response.status >= 500 || !body) {
    return generic(
      response,
      STS_SERVICE,
      details,
      `Check tokenUrl (${context.tokenUrl}): it must be Google STS's token endpoint, https://sts.googleapis.com/v1/token in the default universe.`,
    );
  }

  const { provider, presented } = context;
  const quoted = `Presented iss=${quote(presented.iss)} sub=${quote(presented.sub)} aud=${quote(presented.aud)} alg=${presented.alg ?? '(none)'}; expected provider ${provider.name}.`;
  const reject = (message: string, hint: string) =>
    new KeylessError({ ...base, code: 'TOKEN_REJECTED', message: `${message}${said}.`, hint: `${hint} ${quoted}` });
  const config = (message: string, hint: string) =>
    new KeylessError({ ...base, code: 'INVALID_CONFIG', message: `${message}${said}.`, hint });
  const text = description ?? '';
  const gcloudProvider = `gcloud iam workload-identity-pools providers update-oidc ${provider.providerId} --workload-identity-pool=${provider.poolId} --location=${provider.location} --project=${provider.projectNumber}`;

  switch (body.error) {
    case 'invalid_grant':
      if (/audience/i.test(text)) {
        const aud = firstAudience(presented.aud);
        return reject(
          `Google STS refused the token: provider ${provider.providerId} does not accept its audience`,
          `With no allowed audiences the provider accepts exactly ${quote(context.defaultAwsAudience)} or ${quote(provider.name)}. ${
            context.tokenSource === 'aws'
              ? 'Leave aws.audience unset (keyless then asks AWS for the first one)'
              : 'Make your webIdentityToken provider ask AWS for that audience'
          }, or add ${quote(aud)} to the provider's allowed audiences: \`${gcloudProvider} --allowed-audiences=${aud ?? '<aud>'}\`.`,
        );
      }
      if (/issuer/i.test(text)) {
        return reject(
          `Google STS refused the token: provider ${provider.providerId} could not verify its issuer`,
          `Set the provider's issuer URI to exactly ${quote(presented.iss)}, this AWS account's IssuerIdentifier (\`aws iam get-outbound-web-identity-federation-info\`), with no trailing slash: \`${gcloudProvider} --issuer-uri=${presented.iss ?? '<issuer>'}\`. Google must be able to fetch ${presented.iss ?? '<issuer>'}/.well-known/openid-configuration and its jwks_uri; do not upload a JWKS file (--jwk-json-path) for an AWS issuer: it goes stale when AWS rotates keys.`,
        );
      }
      if (/stale|expire|\bexp\b|\biat\b|not yet valid|future/i.test(text)) {
        return reject(
          'Google STS refused the token as expired or outside its valid time range',
          `Check this machine's clock (NTP)${context.tokenSource === 'webIdentityToken' ? ' and that your webIdentityToken provider returns fresh tokens' : ''}; Google wants iat in the past and exp less than 48 h (6 h recommended) after it. Presented exp=${presented.exp ?? '(none)'}.`,
        );
      }
      if (/signature|\bkid\b|jwks?\b|\bkey\b|algorithm|\balg\b/i.test(text)) {
        return reject(
          'Google STS could not verify the token signature',
          `Google checks RS256 (or ES256) signatures with the keys at the issuer's jwks_uri: keep the token RS256 (aws.signingAlgorithm) and let the provider fetch the JWKS from ${quote(presented.iss)} rather than an uploaded --jwk-json-path.`,
        );
      }
      return reject(
        `Google STS refused the token for provider ${provider.providerId}`,
        `Make the provider match the token: issuer URI = its iss, allowed audiences containing its aud (or none, with aud = ${quote(context.defaultAwsAudience)}), RS256. \`gcloud iam workload-identity-pools providers describe ${provider.providerId} --workload-identity-pool=${provider.poolId} --location=${provider.location} --project=${provider.projectNumber}\` shows its settings.`,
      );
    case 'unauthorized_client':
      return reject(
        `Google STS refused the token: provider ${provider.providerId}'s attribute condition rejected it`,
        `Compare the condition (\`gcloud iam workload-identity-pools providers describe ${provider.providerId} --workload-identity-pool=${provider.poolId} --location=${provider.location} --project=${provider.projectNumber} --format="value(attributeCondition)"\`) with the token's claims: assertion.sub = ${quote(presented.sub)}${awsClaimText(context.awsClaims)}. AWS-specific claims are nested: assertion['https://sts.amazonaws.com/'].aws_account.`,
      );
    case 'invalid_target':
      return config(
        `Google STS does not know the workload identity provider ${provider.name}`,
        `Check audience (or projectNumber, poolId, providerId, location): the pool or provider is missing, deleted or disabled, or the project number is wrong. \`gcloud iam workload-identity-pools providers describe ${provider.providerId} --workload-identity-pool=${provider.poolId} --location=${provider.location} --project=${provider.projectNumber}\` must show state: ACTIVE for both.`,
      );
    case 'invalid_request':
      if (/google\.subject|127/i.test(text)) {
        const length = presented.sub === undefined ? undefined : Buffer.byteLength(presented.sub);
        return reject(
          'Google STS refused the token: the mapped google.subject is too long',
          `google.subject may hold at most ${GOOGLE_SUBJECT_LIMIT} bytes; the token's sub is ${length ?? 'an unknown number of'} bytes. Map google.subject to something shorter in the provider's attribute mapping (e.g. google.subject=assertion.sub with a shorter role path, or an extract() of the role name), or use a role with a shorter ARN.`,
        );
      }
      if (/audience/i.test(text)) {
        return config(
          `Google STS refused the audience ${provider.name}`,
          'Check audience (or projectNumber, poolId, providerId, location): it must be //iam.googleapis.com/projects/<project number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>, with the project number rather than the project id, and must match universeDomain.',
        );
      }
      break;
    case 'invalid_scope':
      return config(
        'Google STS refused the requested scopes',
        `Check scopes (${context.scopes.join(' ')}): use Google OAuth scopes such as https://www.googleapis.com/auth/cloud-platform.`,
      );
  }
  return new KeylessError({
    ...base,
    code: 'EXCHANGE_FAILED',
    message: `${STS_SERVICE} refused the token exchange (HTTP ${response.status})${said}.`,
    retryable: false,
  });
}

interface GoogleApiError {
  code?: number;
  message?: string;
  status?: string;
  reason?: string;
}

/**
 * Turns an IAM Credentials `generateAccessToken` error (`{ error: { code, message, status, details } }`,
 * Google AIP-193) into a `KeylessError`. 403 `PERMISSION_DENIED` on `iam.serviceAccounts.getAccessToken`
 * means the federated principal lacks `roles/iam.workloadIdentityUser` on the account (Google gives the
 * same answer when the account does not exist).
 */
export function mapIamCredentialsError(response: HttpResponse, context: ExchangeContext): KeylessError {
  const apiError = parseGoogleApiError(response.json);
  const impersonation = context.impersonation!;
  const email = impersonation.serviceAccountEmail;
  const details: KeylessErrorDetails = {
    status: response.status,
    ...(apiError?.status ? { targetCode: apiError.status } : {}),
    ...(apiError?.reason ? { reason: apiError.reason } : {}),
    presented: presentedClaims(context.presented),
    expected: { serviceAccountEmail: email },
  };
  const said = apiError
    ? ` (${apiError.status ?? apiError.code}${apiError.message ? `: ${clean(apiError.message)}` : ''})`
    : '';
  const base = { provider: 'gcp' as const, details };
  if (response.status === 429 || response.status >= 500 || !apiError) {
    return generic(
      response,
      IAM_SERVICE,
      details,
      `Check serviceAccountImpersonationUrl (${impersonation.url}): it must be IAM Credentials' …/v1/projects/-/serviceAccounts/<email>:generateAccessToken.`,
    );
  }
  const message = apiError.message ?? '';

  if (
    response.status === 403 &&
    (apiError.reason === 'SERVICE_DISABLED' || /has not been used|is disabled/i.test(message))
  ) {
    return new KeylessError({
      ...base,
      code: 'INVALID_CONFIG',
      message: `The IAM Service Account Credentials API is not enabled${said}.`,
      hint: `Enable it in the project the message names (usually the pool's project, ${context.provider.projectNumber}): \`gcloud services enable iamcredentials.googleapis.com --project=${context.provider.projectNumber}\`, then retry after a few minutes.`,
    });
  }
  if (response.status === 403 || apiError.status === 'PERMISSION_DENIED') {
    const sub = context.presented.sub ?? '<sub>';
    const member = principalIdentifier(context.provider, sub);
    return new KeylessError({
      ...base,
      code: 'ACCESS_DENIED',
      message: `${IAM_SERVICE} denied impersonating ${email}${said}.`,
      hint: `Grant roles/iam.workloadIdentityUser on ${email} to ${member} (the token's sub, with the attribute mapping google.subject=assertion.sub) or to a principalSet:// that contains it: \`gcloud iam service-accounts add-iam-policy-binding ${email} --role=roles/iam.workloadIdentityUser --member="${member}"\`. Google gives the same answer when the service account does not exist: check serviceAccountEmail. New bindings can take a few minutes to apply.`,
    });
  }
  if (response.status === 404 || apiError.status === 'NOT_FOUND') {
    return new KeylessError({
      ...base,
      code: 'INVALID_CONFIG',
      message: `Service account ${email} was not found${said}.`,
      hint: `Check serviceAccountEmail: \`gcloud iam service-accounts describe ${email}\` must find it (name and project are part of the address).`,
    });
  }
  if (response.status === 400 && /lifetime/i.test(message)) {
    return new KeylessError({
      ...base,
      code: 'INVALID_CONFIG',
      message: `${IAM_SERVICE} refused the token lifetime of ${impersonation.lifetimeSeconds} s${said}.`,
      hint: 'Set tokenLifetimeSeconds to at most 3600, or allow longer lifetimes for this account with the org policy constraints/iam.allowServiceAccountCredentialLifetimeExtension.',
    });
  }
  if (response.status === 400 && /scope/i.test(message)) {
    return new KeylessError({
      ...base,
      code: 'INVALID_CONFIG',
      message: `${IAM_SERVICE} refused the requested scopes${said}.`,
      hint: `Check scopes (${context.scopes.join(' ')}): use Google OAuth scopes such as https://www.googleapis.com/auth/cloud-platform.`,
    });
  }
  return new KeylessError({
    ...base,
    code: 'EXCHANGE_FAILED',
    message: `${IAM_SERVICE} refused generateAccessToken for ${email} (HTTP ${response.status})${said}.`,
    retryable: false,
  });
}

/**
 * 429 → `THROTTLED`, 5xx → retryable `EXCHANGE_FAILED`, anything else unrecognised → `EXCHANGE_FAILED`;
 * a 4xx that is not the service's own error shape suggests a wrong URL (`endpointHint`).
 */
function generic(
  response: HttpResponse,
  service: string,
  details: KeylessErrorDetails,
  endpointHint: string,
): KeylessError {
  const error = httpStatusError(response, 'gcp', service);
  const foreign = response.status !== 429 && response.status < 500;
  const apiError = parseGoogleApiError(response.json);
  return new KeylessError({
    code: error.code,
    provider: 'gcp',
    message:
      apiError && !parseOAuthError(response)
        ? `${error.message.replace(/\.$/, '')} (${apiError.status ?? apiError.code}${apiError.message ? `: ${clean(apiError.message)}` : ''}).`
        : error.message,
    retryable: error.retryable,
    ...(foreign ? { hint: endpointHint } : error.hint ? { hint: error.hint } : {}),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    details: { ...details, ...error.details, ...(details.targetCode ? { targetCode: details.targetCode } : {}) },
  });
}

function parseGoogleApiError(json: unknown): GoogleApiError | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const error = (json as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null || Array.isArray(error)) return undefined;
  const { code, message, status, details } = error as Record<string, unknown>;
  const out: GoogleApiError = {};
  if (typeof code === 'number') out.code = code;
  if (typeof message === 'string') out.message = message;
  if (typeof status === 'string') out.status = status;
  if (Array.isArray(details)) {
    for (const detail of details) {
      const reason = (detail as { reason?: unknown } | null)?.reason;
      if (typeof reason === 'string') {
        out.reason = reason;
        break;
      }
    }
  }
  return out;
}

function awsClaimText(claims: AwsContextClaims | undefined): string {
  if (!claims) return '';
  const parts: string[] = [];
  for (const key of ['aws_account', 'source_region', 'org_id'] as const) {
    const value = claims[key];
    if (typeof value === 'string') parts.push(`, assertion['https://sts.amazonaws.com/'].${key} = ${quote(value)}`);
  }
  return parts.join('');
}

function clean(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const out = text.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  if (out.length === 0) return undefined;
  return out.length > 600 ? `${out.slice(0, 597)}...` : out;
}

function firstAudience(aud: string | string[] | undefined): string | undefined {
  return Array.isArray(aud) ? aud[0] : aud;
}

function quote(value: string | string[] | undefined): string {
  if (value === undefined) return '(none)';
  return Array.isArray(value) ? value.map((v) => `"${v}"`).join(', ') : `"${value}"`;
}
