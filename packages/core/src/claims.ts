import { decodeJwt, decodeProtectedHeader } from 'jose';
import { KeylessError, type KeylessErrorDetails, type KeylessProvider } from './errors.js';

/** The key of the object claim that holds every AWS-specific claim (IAM outbound token claims page). */
export const AWS_CLAIMS_KEY = 'https://sts.amazonaws.com/';

/** AWS-specific claims; not every claim appears in every token. */
export interface AwsContextClaims {
  aws_account?: string;
  source_region?: string;
  org_id?: string;
  ou_path?: string[] | string;
  principal_tags?: Record<string, string>;
  request_tags?: Record<string, string>;
  original_session_exp?: string;
  federated_provider?: string;
  identity_store_user_id?: string;
  identity_store_arn?: string;
  ec2_source_instance_arn?: string;
  ec2_instance_source_vpc?: string;
  ec2_instance_source_private_ipv4?: string;
  ec2_role_delivery?: string;
  source_identity?: string;
  lambda_source_function_arn?: string;
  glue_credential_issuing_service?: string;
  [claim: string]: unknown;
}

/** Claims of a JWT minted by STS `GetWebIdentityToken`. */
export interface AwsWebIdentityClaims {
  /** The account's issuer, `https://<uuid>.tokens.sts.global.api.aws`. */
  iss: string;
  /** ARN of the principal that asked for the token, e.g. `arn:aws:iam::123456789012:role/app`. */
  sub: string;
  aud: string | string[];
  iat: number;
  exp: number;
  jti?: string;
  nbf?: number;
  [AWS_CLAIMS_KEY]?: AwsContextClaims;
  [claim: string]: unknown;
}

/** The identifying, non-secret parts of a token: safe to print, log and quote in a hint. */
export interface TokenSummary {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  jti?: string;
  alg?: string;
  kid?: string;
}

/**
 * Decodes (does not verify) the payload of an AWS web identity token. Use `verifyAwsWebIdentityToken`
 * from `@keyless/oidc` on the receiving side.
 */
export function decodeAwsWebIdentityClaims(token: string, provider: KeylessProvider = 'aws'): AwsWebIdentityClaims {
  let payload: Record<string, unknown>;
  try {
    payload = decodeJwt(token);
  } catch (cause) {
    throw new KeylessError({
      code: 'INVALID_RESPONSE',
      provider,
      message: 'The web identity token is not a well-formed JWT.',
      cause,
    });
  }
  const { iss, sub, aud, iat, exp } = payload;
  const audOk = typeof aud === 'string' || (Array.isArray(aud) && aud.every((a) => typeof a === 'string'));
  if (
    typeof iss !== 'string' ||
    typeof sub !== 'string' ||
    !audOk ||
    typeof iat !== 'number' ||
    typeof exp !== 'number'
  ) {
    throw new KeylessError({
      code: 'INVALID_RESPONSE',
      provider,
      message: 'The web identity token lacks one of the claims iss, sub, aud, iat, exp.',
    });
  }
  return payload as AwsWebIdentityClaims;
}

/** Safe summary of any JWT (no verification); an unreadable token gives `{}`. */
export function summarizeToken(token: string): TokenSummary {
  const summary: TokenSummary = {};
  try {
    const header = decodeProtectedHeader(token);
    if (typeof header.alg === 'string') summary.alg = header.alg;
    if (typeof header.kid === 'string') summary.kid = header.kid;
    const payload = decodeJwt(token);
    if (typeof payload.iss === 'string') summary.iss = payload.iss;
    if (typeof payload.sub === 'string') summary.sub = payload.sub;
    if (payload.aud !== undefined) summary.aud = payload.aud;
    if (typeof payload.exp === 'number') summary.exp = payload.exp;
    if (typeof payload.jti === 'string') summary.jti = payload.jti;
  } catch {
    // not a JWT: nothing safe to say about it
  }
  return summary;
}

/** The claims of a presented JWT as `KeylessErrorDetails.presented`. */
export type PresentedClaims = NonNullable<KeylessErrorDetails['presented']>;

const MAX_CLAIM_LENGTH = 200;
const MAX_AUDIENCES = 5;

/**
 * The `iss`, `sub`, `aud` and `alg` of a JWT (or of its summary) for `details.presented` and hints. Claims are not
 * secrets, but a token a verifier received is attacker-controlled, so every value is bounded.
 */
export function presentedClaims(jwt: string | TokenSummary): PresentedClaims {
  const summary = typeof jwt === 'string' ? summarizeToken(jwt) : jwt;
  const presented: PresentedClaims = {};
  if (summary.iss !== undefined) presented.iss = clipClaim(summary.iss);
  if (summary.sub !== undefined) presented.sub = clipClaim(summary.sub);
  if (typeof summary.aud === 'string') presented.aud = clipClaim(summary.aud);
  else if (Array.isArray(summary.aud))
    presented.aud = summary.aud.slice(0, MAX_AUDIENCES).map((a) => clipClaim(String(a)));
  if (summary.alg !== undefined) presented.alg = clipClaim(summary.alg);
  return presented;
}

/** `iss=… sub=… aud=… alg=…` of presented claims, for a hint. */
export function formatPresented(presented: PresentedClaims): string {
  const parts: string[] = [];
  for (const key of ['iss', 'sub', 'aud', 'alg'] as const) {
    const value = presented[key];
    if (value !== undefined) parts.push(`${key}=${Array.isArray(value) ? value.join(',') : value}`);
  }
  return parts.length > 0 ? parts.join(' ') : 'an unreadable token';
}

/**
 * Bounds an untrusted claim value before it is quoted, and replaces control characters so that a
 * claim of a token an attacker wrote cannot forge a log line.
 */
export function clipClaim(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > MAX_CLAIM_LENGTH ? `${clean.slice(0, MAX_CLAIM_LENGTH - 3)}...` : clean;
}

/** `iss=… sub=… aud=… exp=… jti=…`, for debug lines and hints. */
export function formatTokenSummary(summary: TokenSummary): string {
  const parts: string[] = [];
  for (const key of ['iss', 'sub', 'aud', 'alg', 'exp', 'jti'] as const) {
    const value = summary[key];
    if (value === undefined) continue;
    parts.push(`${key}=${Array.isArray(value) ? value.join(',') : String(value)}`);
  }
  return parts.join(' ');
}
