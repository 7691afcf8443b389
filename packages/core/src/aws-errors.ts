import { isKeylessError, KeylessError } from './errors.js';
import { parseRetryAfter } from './http.js';

/** What was asked of STS, for the hints of `mapStsError`. */
export interface StsRequest {
  audience: string[];
  signingAlgorithm: string;
  durationSeconds: number;
  tags: { Key: string; Value: string }[] | undefined;
}

const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
]);
const REJECTED_CREDENTIAL_CODES = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
]);
const ACCESS_DENIED_CODES = new Set(['AccessDenied', 'AccessDeniedException']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNABORTED']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { headers?: Record<string, string> };
}

/**
 * Turns whatever the AWS SDK threw for `GetWebIdentityToken` into a `KeylessError` with a fix. Exported
 * for code that calls STS through another library (snowflake-sdk's own AWS path).
 */
export function mapStsError(error: unknown, request: StsRequest): KeylessError {
  if (isKeylessError(error)) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const code = e.Code ?? e.name ?? e.code ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const details = {
    targetCode: code,
    ...(status === undefined ? {} : { status }),
    ...(e.$metadata?.requestId ? { requestId: e.$metadata.requestId } : {}),
  };
  const retryAfter = parseRetryAfter(e.$response?.headers?.['retry-after']);
  const base = {
    provider: 'aws' as const,
    cause: error,
    details,
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
  };
  const said = e.message ? ` STS said: ${e.message}` : '';

  if (code === 'OutboundWebIdentityFederationDisabledException') {
    return new KeylessError({
      ...base,
      code: 'FEDERATION_DISABLED',
      message: 'Outbound web identity federation is not enabled for this AWS account.',
      hint: 'Enable it once per account: `aws iam enable-outbound-web-identity-federation` (needs iam:EnableOutboundWebIdentityFederation), or `keyless setup aws`.',
    });
  }
  if (ACCESS_DENIED_CODES.has(code)) {
    const conditions = [
      `sts:IdentityTokenAudience = ${request.audience.join(', ')}`,
      `sts:SigningAlgorithm = ${request.signingAlgorithm}`,
      `sts:DurationSeconds = ${request.durationSeconds}`,
    ].join('; ');
    return new KeylessError({
      ...base,
      code: 'ACCESS_DENIED',
      message: `STS refused GetWebIdentityToken for this principal.${said}`,
      hint:
        `Allow "sts:GetWebIdentityToken"${request.tags ? ' and "sts:TagGetWebIdentityToken" (request tags are sent)' : ''} on Resource "*" in the principal's IAM policy, ` +
        `and make its conditions admit this request (${conditions}). SCPs, RCPs and VPC endpoint policies can also deny it.`,
    });
  }
  if (code === 'JWTPayloadSizeExceededException') {
    return new KeylessError({
      ...base,
      code: 'INVALID_CONFIG',
      message: 'The token STS would issue is too large.',
      hint: 'Send fewer or shorter request tags (the tags option), or fewer session/principal tags on the role.',
    });
  }
  if (code === 'SessionDurationEscalationException') {
    return new KeylessError({
      ...base,
      code: 'INVALID_CONFIG',
      message: `durationSeconds ${request.durationSeconds} would outlast the caller's current AWS session.`,
      hint: 'Lower durationSeconds, or use credentials whose session lasts longer than the token.',
    });
  }
  if (code === 'RegionDisabledException') {
    return new KeylessError({
      ...base,
      code: 'INVALID_CONFIG',
      message: `STS is not activated in this region.${said}`,
      hint: 'Activate the region for STS in IAM account settings, or set region to one that is.',
    });
  }
  if (code === 'ValidationError' || code === 'InvalidParameterValue' || code === 'MalformedInput') {
    return new KeylessError({ ...base, code: 'INVALID_CONFIG', message: `STS refused the request parameters.${said}` });
  }
  if (THROTTLING_CODES.has(code) || status === 429) {
    return new KeylessError({
      ...base,
      code: 'THROTTLED',
      message: 'STS throttled GetWebIdentityToken.',
      hint: 'Share one provider across the process (it caches the token) instead of creating one per request.',
    });
  }
  if (e.name === 'CredentialsProviderError' || /could not load credentials/i.test(e.message ?? '')) {
    return new KeylessError({
      ...base,
      code: 'AWS_CREDENTIALS_MISSING',
      message: 'No AWS credentials were found for calling STS.',
      hint: 'Run where a role is attached (Lambda, ECS, EC2, EKS), set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass the credentials option.',
    });
  }
  if (REJECTED_CREDENTIAL_CODES.has(code)) {
    return new KeylessError({
      ...base,
      code: 'AWS_CREDENTIALS_MISSING',
      message: `STS rejected the AWS credentials (${code}).`,
      hint: 'The credentials found are expired or invalid: refresh the session (e.g. `aws sso login`) or check the access key.',
    });
  }
  // The AWS SDK names a reset socket `TimeoutError` too: the errno code decides.
  if (NETWORK_CODES.has(e.code ?? '') || NETWORK_CODES.has(e.name ?? '')) {
    return new KeylessError({
      ...base,
      code: 'NETWORK',
      message: `Could not reach STS (${e.code ?? e.name}).`,
      hint: 'Check network access to the regional STS endpoint (sts.<region>.amazonaws.com), or the endpoint option.',
    });
  }
  if (e.name === 'TimeoutError' || TIMEOUT_CODES.has(e.code ?? '')) {
    return new KeylessError({ ...base, code: 'TIMEOUT', message: 'STS did not answer in time.' });
  }
  if ((status !== undefined && status >= 500) || e.$fault === 'server') {
    return new KeylessError({
      ...base,
      code: 'EXCHANGE_FAILED',
      retryable: true,
      message: `STS failed (${code}, HTTP ${status ?? '5xx'}).`,
    });
  }
  if (status !== undefined && status < 300) {
    // A 2xx the SDK could not parse.
    return new KeylessError({
      ...base,
      code: 'INVALID_RESPONSE',
      retryable: true,
      message: 'STS answered with a body that could not be read.',
    });
  }
  if (status === undefined && e.$fault === undefined) {
    return new KeylessError({
      ...base,
      code: 'NETWORK',
      message: `Calling STS failed before an answer arrived (${e.name ?? 'Error'}).`,
    });
  }
  return new KeylessError({
    ...base,
    code: 'EXCHANGE_FAILED',
    message: `STS refused GetWebIdentityToken (${code}).${said}`,
  });
}
