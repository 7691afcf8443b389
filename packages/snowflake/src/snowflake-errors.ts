import {
  errorCodeOf,
  formatTokenSummary,
  isKeylessError,
  KeylessError,
  type KeylessErrorCode,
  type KeylessErrorDetails,
  parseRetryAfter,
  presentedClaims,
  type TokenSummary,
} from '@keyless/core';

/** Which WORKLOAD_IDENTITY provider the login used. */
export type SnowflakeWorkloadIdentityProvider = 'OIDC' | 'AWS';

/** What keyless knows about a login attempt, for hints. Never holds a token. */
export interface SnowflakeLoginContext {
  provider: SnowflakeWorkloadIdentityProvider;
  account: string;
  host: string;
  username?: string | undefined;
  role?: string | undefined;
  warehouse?: string | undefined;
  database?: string | undefined;
  schema?: string | undefined;
  /** `iss sub aud alg` of the JWT keyless sent (OIDC only: with AWS, snowflake-sdk mints it). */
  presented?: TokenSummary | undefined;
}

/** Snowflake's default audience for `TYPE = OIDC` identities without `OIDC_AUDIENCE_LIST`. */
export const SNOWFLAKE_AUDIENCE = 'snowflakecomputing.com';

/**
 * Login codes that reject the presented credential. Source: `CREDENTIAL_REJECTION_GS_CODES` of
 * snowflake-connector-python (`network.py`), mirrored with these names by Snowflake's Rust
 * universal driver (`sf_core/src/rest/snowflake/mod.rs`), plus the OAuth token codes of
 * snowflake-sdk 3.3.0 `lib/constants/gs_errors.js`. Which of them Snowflake sends for a rejected
 * WORKLOAD_IDENTITY attestation is not documented; see `rejectionKind` for the message fallback.
 */
const REJECTION_CODES: Readonly<Record<string, RejectionKind>> = {
  '390100': 'generic', // AUTHORIZATION_FAILURE ("Incorrect username or password was specified.")
  '390144': 'generic', // JWT_TOKEN_INVALID
  '394300': 'generic', // JWT_TOKEN_INVALID
  '394301': 'expired', // JWT_TOKEN_EXPIRED
  '394302': 'not-yet-valid', // JWT_TOKEN_NOT_YET_VALID
  '394303': 'expired', // JWT_TOKEN_INVALID_EXPIRATION_TIME
  '394304': 'generic', // JWT_TOKEN_INVALID_PUBLIC_KEY_FINGERPRINT_MISMATCH
  '394305': 'algorithm', // JWT_TOKEN_INVALID_ALGORITHM
  '394306': 'generic', // JWT_TOKEN_INVALID_FORMAT
  '390303': 'generic', // OAUTH_TOKEN_INVALID
  '390318': 'expired', // OAUTH_TOKEN_EXPIRED
};
/** AUTHENTICATOR_NOT_SUPPORTED (Snowflake docs, "Federated authentication and SSO troubleshooting"). */
const AUTHENTICATOR_NOT_SUPPORTED = '390139';
/** Role in the connect string not granted to the user (seen in public snowflake-sdk error data). */
const ROLE_NOT_GRANTED = '390189';
/** "The requested warehouse/database does not exist or not authorized." (public driver output). */
const OBJECT_NOT_AUTHORIZED = '390201';

type RejectionKind = 'generic' | 'expired' | 'not-yet-valid' | 'algorithm';

const NETWORK_TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT']);
const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

interface SnowflakeErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  sqlState?: unknown;
  data?: unknown;
  response?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  Code?: unknown;
}

/**
 * Turns whatever snowflake-sdk (or, with provider AWS, the AWS SDK inside it) reported for a
 * connection attempt into a `KeylessError` whose hint names the setting to change. Reads only named
 * scalar fields: snowflake-sdk errors can carry the login response (`data`) and the HTTP exchange
 * (`response`), which hold the request with the token.
 */
export function mapSnowflakeError(error: unknown, context: SnowflakeLoginContext): KeylessError {
  if (isKeylessError(error)) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as SnowflakeErrorShape;
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : describe(error);
  const sqlState = typeof e.sqlState === 'string' ? e.sqlState : undefined;

  switch (name) {
    case 'OperationFailedError':
      return loginRefused(e, message, sqlState, context);
    case 'RequestFailedError':
      return httpFailure(e, context);
    case 'NetworkError':
      return networkFailure(e, context);
    case 'UnexpectedContentError':
      return new KeylessError({
        code: 'INVALID_RESPONSE',
        provider: 'snowflake',
        message: `Snowflake at ${context.host} answered the login with a body that is not JSON.`,
        hint: 'A proxy or captive portal may be answering instead of Snowflake; check host, accessUrl and the proxy settings.',
        retryable: true,
        cause: error,
        details: base(context),
      });
    case 'InvalidParameterError':
    case 'MissingParameterError':
      return new KeylessError({
        code: 'INVALID_CONFIG',
        provider: 'snowflake',
        message: `snowflake-sdk refused the connection options: ${message}`,
        cause: error,
        details: { ...base(context), ...targetCode(e.code) },
      });
    case 'OCSPError':
    case 'CRLError':
      return new KeylessError({
        code: 'NETWORK',
        provider: 'snowflake',
        message: `The certificate revocation check for ${context.host} failed: ${message}`,
        hint: 'A TLS-inspecting proxy can cause this; see snowflake-sdk’s OCSP/CRL settings (certRevocationCheckMode, snowflake.configure({ ocspFailOpen })).',
        retryable: false,
        cause: error,
        details: { ...base(context), ...targetCode(e.code) },
      });
    default:
      break;
  }
  if (message.startsWith('WORKLOAD_IDENTITY requires a recognized Snowflake host')) {
    return new KeylessError({
      code: 'INVALID_CONFIG',
      provider: 'snowflake',
      message: `snowflake-sdk refused to send a workload identity attestation to "${context.host}", which is not a Snowflake host.`,
      hint: 'Set host to your account’s snowflakecomputing.com host, or add a trusted suffix to SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES.',
      cause: error,
      details: base(context),
    });
  }
  if (context.provider === 'AWS') return awsAttestationFailure(e, name, message, error, context);
  return new KeylessError({
    code: 'EXCHANGE_FAILED',
    provider: 'snowflake',
    message: `snowflake-sdk could not open the connection: ${message}`,
    retryable: false,
    cause: error,
    details: { ...base(context), ...targetCode(e.code) },
  });
}

function loginRefused(
  e: SnowflakeErrorShape,
  said: string,
  sqlState: string | undefined,
  context: SnowflakeLoginContext,
): KeylessError {
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : undefined;
  const data = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Record<string, unknown>;
  // Only these scalar fields of the login answer are copied: `data` may hold anything the server sent.
  const details: KeylessErrorDetails = {
    ...base(context),
    ...(code === undefined ? {} : { targetCode: code }),
    ...(sqlState === undefined ? {} : { sqlState }),
    ...(typeof data.nextAction === 'string' ? { nextAction: data.nextAction } : {}),
    ...(typeof data.authnMethod === 'string' ? { authnMethod: data.authnMethod } : {}),
  };
  if (code === undefined && said.trim() === '') {
    // Not a Snowflake login answer at all: an HTML page or some other JSON from whatever answered.
    return new KeylessError({
      code: 'INVALID_RESPONSE',
      provider: 'snowflake',
      message: `${context.host} answered the login with something that is not a Snowflake login response.`,
      hint: 'A proxy or captive portal may be answering instead of Snowflake: check the host and accessUrl options and any HTTPS proxy.',
      retryable: true,
      details,
    });
  }
  const quoted = `Snowflake refused the login${code ? ` (${code})` : ''}: ${said}`;
  const failureId = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i.exec(said)?.[0];
  const lookup = failureId
    ? ` An administrator can read the reason with SELECT SYSTEM$GET_LOGIN_FAILURE_DETAILS('${failureId}').`
    : '';
  const build = (kind: KeylessErrorCode, hint: string, retryable = false) =>
    new KeylessError({ code: kind, provider: 'snowflake', message: quoted, hint: hint + lookup, retryable, details });

  if (
    code === AUTHENTICATOR_NOT_SUPPORTED ||
    /authentication (policy|method)|authenticator .*not (supported|allowed|accepted)/i.test(said)
  ) {
    return build(
      'INVALID_CONFIG',
      'The account (or user) does not accept WORKLOAD_IDENTITY logins: add WORKLOAD_IDENTITY to AUTHENTICATION_METHODS of the authentication policy that applies (DESCRIBE AUTHENTICATION POLICY …), and make sure the user is TYPE = SERVICE.',
    );
  }
  if (code === ROLE_NOT_GRANTED || (/\brole\b/i.test(said) && /not (granted|exist|authorized)/i.test(said))) {
    return build(
      'INVALID_CONFIG',
      `The role option (${context.role ?? 'unset'}) must name a role granted to the service user (GRANT ROLE … TO USER …), or leave role unset to use its DEFAULT_ROLE.`,
    );
  }
  if (code === OBJECT_NOT_AUTHORIZED || /(warehouse|database|schema).*(does not exist|not authorized)/i.test(said)) {
    return build(
      'INVALID_CONFIG',
      `Check the warehouse (${context.warehouse ?? 'unset'}), database (${context.database ?? 'unset'}) and schema (${context.schema ?? 'unset'}) options, and that the session's role has USAGE on them.`,
    );
  }
  if (/network policy|\bIP\b.*not (allowed|permitted)|is not allowed to access/i.test(said)) {
    return build(
      'ACCESS_DENIED',
      'A Snowflake network policy refuses this client’s address: allow the workload’s egress IPs (NAT gateway, VPC endpoint) in the user’s or account’s NETWORK_POLICY.',
    );
  }
  if (/\b(locked|disabled|suspended)\b/i.test(said)) {
    return build(
      'ACCESS_DENIED',
      'The Snowflake user (or account) is disabled or locked: ALTER USER … SET DISABLED = FALSE, or ask an administrator.',
    );
  }
  if (
    /workload.?identity/i.test(said) &&
    /not (configured|set|enabled|found)|no workload identity|missing/i.test(said)
  ) {
    return build('INVALID_CONFIG', `No workload identity matches this login. ${identityHint(context)}`);
  }
  const kind = code === undefined ? undefined : REJECTION_CODES[code];
  if (
    kind ||
    /token|jwt|issuer|subject|audience|attestation|signature|workload.?identity|username or password/i.test(said)
  ) {
    return build('TOKEN_REJECTED', rejectionHint(kind ?? 'generic', context), kind === 'not-yet-valid');
  }
  return build('EXCHANGE_FAILED', `Snowflake gave no reason keyless recognises. ${identityHint(context)}`);
}

function rejectionHint(kind: RejectionKind, context: SnowflakeLoginContext): string {
  const presented = context.presented ? ` It presented ${formatTokenSummary(context.presented)}.` : '';
  switch (kind) {
    case 'expired':
      return `Snowflake found the token expired.${presented} Check this machine's clock, and raise minTokenValiditySeconds (snowflake-sdk retries a login with the same token) or aws.durationSeconds.`;
    case 'not-yet-valid':
      return `Snowflake found the token not yet valid (its iat lies in Snowflake's future).${presented} Clocks disagree by more than Snowflake tolerates; retrying a few seconds later usually works.`;
    case 'algorithm':
      return `Snowflake does not accept the token's signing algorithm.${presented} Set aws.signingAlgorithm to 'RS256' (or 'ES384'), and the sts:SigningAlgorithm condition of the role's IAM policy to match.`;
    default:
      return `Snowflake did not accept the workload identity.${presented} ${identityHint(context)}`;
  }
}

/** What the Snowflake user must look like for this login to match, with the presented claims filled in. */
function identityHint(context: SnowflakeLoginContext): string {
  const user = context.username
    ? `The user whose LOGIN_NAME is ${context.username} (the username option)`
    : 'A TYPE = SERVICE user (set the username option to pick one when several match)';
  if (context.provider === 'AWS') {
    return `${user} needs WORKLOAD_IDENTITY = (TYPE = AWS ARN = '<the IAM role ARN>' ISSUER = '<the account's issuer, from aws iam get-outbound-web-identity-federation-info>'); snowflake-sdk asks STS for an ES384 token with audience ${SNOWFLAKE_AUDIENCE}. Check it with SHOW USER WORKLOAD IDENTITY AUTHENTICATION METHODS FOR USER <name>.`;
  }
  const p = context.presented ?? {};
  const aud = Array.isArray(p.aud) ? p.aud : p.aud === undefined ? [] : [p.aud];
  const audience =
    aud.length === 1 && aud[0] === SNOWFLAKE_AUDIENCE
      ? ` (no OIDC_AUDIENCE_LIST needed: the token's aud is ${SNOWFLAKE_AUDIENCE})`
      : aud.length > 0
        ? ` OIDC_AUDIENCE_LIST = (${aud.map((a) => `'${a}'`).join(', ')})`
        : '';
  return `${user} needs WORKLOAD_IDENTITY = (TYPE = OIDC ISSUER = '${p.iss ?? '<the token iss>'}' SUBJECT = '${p.sub ?? '<the token sub>'}'${audience}). Check it with SHOW USER WORKLOAD IDENTITY AUTHENTICATION METHODS FOR USER <name>.`;
}

function httpFailure(e: SnowflakeErrorShape, context: SnowflakeLoginContext): KeylessError {
  const response = (typeof e.response === 'object' && e.response !== null ? e.response : {}) as {
    statusCode?: unknown;
    headers?: unknown;
  };
  const status = typeof response.statusCode === 'number' ? response.statusCode : undefined;
  const headers = (typeof response.headers === 'object' && response.headers !== null ? response.headers : {}) as Record<
    string,
    unknown
  >;
  const retryAfterHeader = headers['retry-after'];
  const retryAfterMs = parseRetryAfter(typeof retryAfterHeader === 'string' ? retryAfterHeader : undefined);
  const details = { ...base(context), ...(status === undefined ? {} : { status }) };
  const what = `Snowflake at ${context.host} answered the login with HTTP ${status ?? 'error'}`;
  const common = { provider: 'snowflake' as const, cause: e, details };
  if (status === 429) {
    return new KeylessError({
      ...common,
      code: 'THROTTLED',
      message: `${what} (throttled), after snowflake-sdk's own retries.`,
      hint: 'Open fewer connections at once: share a pool (createSnowflakePool) instead of connecting per request.',
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status !== undefined && (status >= 500 || status === 408)) {
    return new KeylessError({
      ...common,
      code: 'EXCHANGE_FAILED',
      message: `${what}, after snowflake-sdk's own retries.`,
      hint: 'Snowflake or a proxy in between is failing; try again later (sfRetryMaxLoginRetries and retryTimeout set how long snowflake-sdk itself retries).',
      retryable: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status === 403 || status === 404) {
    return new KeylessError({
      ...common,
      code: 'INVALID_CONFIG',
      message: `${what}.`,
      hint: `No Snowflake account answers as "${context.account}" at ${context.host}: check account (the identifier, e.g. myorg-myaccount), host and accessUrl. A private-connectivity-only account also refuses public logins.`,
    });
  }
  if (status === 401) {
    return new KeylessError({
      ...common,
      code: 'TOKEN_REJECTED',
      message: `${what}.`,
      hint: rejectionHint('generic', context),
    });
  }
  return new KeylessError({ ...common, code: 'EXCHANGE_FAILED', message: `${what}.`, retryable: false });
}

function networkFailure(e: SnowflakeErrorShape, context: SnowflakeLoginContext): KeylessError {
  const errno = errorCodeOf(e.cause);
  const details = { ...base(context), ...(errno ? { errno } : {}) };
  const common = { provider: 'snowflake' as const, cause: e, details };
  if (errno && NETWORK_TIMEOUT_CODES.has(errno)) {
    return new KeylessError({
      ...common,
      code: 'TIMEOUT',
      message: `Snowflake at ${context.host} did not answer the login in time (${errno}), after snowflake-sdk's own retries.`,
      hint: 'Check network access to the host (proxy, firewall, private link); the timeout option sets how long snowflake-sdk waits.',
    });
  }
  if (errno && TLS_CODES.has(errno)) {
    return new KeylessError({
      ...common,
      code: 'NETWORK',
      message: `The TLS certificate of ${context.host} was not accepted (${errno}).`,
      hint: 'A TLS-inspecting proxy is the usual cause: trust its CA with NODE_EXTRA_CA_CERTS, or connect without it.',
      retryable: false,
    });
  }
  return new KeylessError({
    ...common,
    code: 'NETWORK',
    message: `Could not reach Snowflake at ${context.host}${errno ? ` (${errno})` : ''}.`,
    hint:
      errno === 'ENOTFOUND'
        ? `DNS has no such host: check account ("${context.account}") and host. Account identifiers look like myorg-myaccount.`
        : 'Check DNS, proxy and firewall access to the host, and the host / accessUrl options.',
  });
}

/** provider AWS: the AWS SDK inside snowflake-sdk minted the token; its errors surface as they are. */
function awsAttestationFailure(
  e: SnowflakeErrorShape,
  name: string,
  said: string,
  error: unknown,
  context: SnowflakeLoginContext,
): KeylessError {
  const code = typeof e.Code === 'string' ? e.Code : name;
  const status = e.$metadata?.httpStatusCode;
  const details = { ...base(context), targetCode: code, ...(status === undefined ? {} : { status }) };
  const common = { provider: 'aws' as const, cause: error, details };
  if (code === 'OutboundWebIdentityFederationDisabledException') {
    return new KeylessError({
      ...common,
      code: 'FEDERATION_DISABLED',
      message: 'Outbound web identity federation is not enabled for this AWS account.',
      hint: 'Enable it once per account: `aws iam enable-outbound-web-identity-federation`.',
    });
  }
  if (code === 'AccessDenied' || code === 'AccessDeniedException') {
    return new KeylessError({
      ...common,
      code: 'ACCESS_DENIED',
      message: `STS refused GetWebIdentityToken: ${said}`,
      hint: `Allow "sts:GetWebIdentityToken" for this role, with conditions that admit sts:IdentityTokenAudience = ${SNOWFLAKE_AUDIENCE} and sts:SigningAlgorithm = ES384 (what snowflake-sdk requests).`,
    });
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(said)) {
    return new KeylessError({
      ...common,
      code: 'AWS_CREDENTIALS_MISSING',
      message: 'snowflake-sdk found no AWS credentials to mint the token with.',
      hint: 'Run where a role is attached (Lambda, ECS, EC2, EKS) or set the AWS SDK credential environment; with provider AWS keyless cannot pass credentials (use provider OIDC with aws.credentials for that).',
    });
  }
  if (/169\.254\.169\.254|metadata|region/i.test(said)) {
    return new KeylessError({
      ...common,
      code: 'REGION_REQUIRED',
      message: `snowflake-sdk could not find the AWS region: ${said}`,
      hint: 'Set AWS_REGION: snowflake-sdk reads only AWS_REGION, else asks EC2 instance metadata (it ignores AWS_DEFAULT_REGION and ~/.aws/config).',
    });
  }
  return new KeylessError({
    ...common,
    code: 'EXCHANGE_FAILED',
    message: `snowflake-sdk could not mint the AWS token for Snowflake: ${said}`,
    hint: 'With provider AWS snowflake-sdk calls STS itself with the default credential chain and AWS_REGION; provider OIDC (the default) lets keyless do it with your aws options.',
    retryable: status !== undefined && status >= 500,
  });
}

function base(context: SnowflakeLoginContext): KeylessErrorDetails {
  return {
    account: context.account,
    host: context.host,
    workloadIdentityProvider: context.provider,
    ...(context.username === undefined ? {} : { username: context.username }),
    ...(context.presented ? { presented: presentedClaims(context.presented) } : {}),
  };
}

function targetCode(code: unknown): { targetCode?: string } {
  return typeof code === 'string' || typeof code === 'number' ? { targetCode: String(code) } : {};
}

/** `String(value)` that cannot throw (an object without a prototype has no `toString`). */
function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
