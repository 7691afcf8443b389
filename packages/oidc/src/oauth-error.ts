import {
  clipClaim,
  formatPresented,
  type HttpResponse,
  httpStatusError,
  isKeylessError,
  KeylessError,
  type KeylessErrorDetails,
  type OAuthErrorBody,
  parseOAuthError,
  readJsonObject,
  redactValues,
} from '@keyless/core';
import { capitalize, withDetails } from './token-response.js';

/** What the error mapping needs to know to name the setting that must change. */
export interface TokenEndpointErrorContext {
  /** `the token endpoint https://…`, for messages. */
  service: string;
  /** The grant that was sent, for `unsupported_grant_type`. */
  grantType: string;
  presented: NonNullable<KeylessErrorDetails['presented']>;
  /** Values that must never be quoted even if the server echoes them (the JWT, a client secret). */
  secrets: readonly (string | undefined)[];
  /** Where the receiving side decides whether to trust the JWT (`invalid_grant`, `unauthorized_client`). */
  rejectedHint: string;
  /** `invalid_target`: the audience / resource asked for. */
  targetHint: string;
  /** `invalid_client`: client authentication. */
  clientHint: string;
  /** `invalid_scope`. */
  scopeHint: string;
  /** A preset's own reading of an answer, tried first; `undefined` falls through to the RFC mapping. */
  classify?: (
    response: HttpResponse,
    oauth: OAuthErrorBody | undefined,
    presented: NonNullable<KeylessErrorDetails['presented']>,
  ) => KeylessError | undefined;
}

/**
 * Maps a non-2xx answer of a token endpoint (RFC 6749 §5.2, RFC 8693 §2.2.2) to a `KeylessError`.
 * 429 and 5xx are retryable whatever the body says; other statuses are read by their `error` code.
 */
export function tokenEndpointError(answer: HttpResponse, context: TokenEndpointErrorContext): KeylessError {
  const presented = context.presented;
  const response = scrubResponse(answer, context.secrets);
  const oauth = parseOAuthError(response);
  const preset = context.classify?.(response, oauth, presented);
  if (preset) return preset;
  if (response.status === 429 || response.status >= 500) {
    const hint =
      response.status === 429
        ? 'Share one provider across the process so that its cache absorbs the load; keyless retries.'
        : 'The server had a problem; keyless retries. If it persists, check the server’s health and logs.';
    return withDetails(httpStatusError(response, 'oidc', context.service), { presented }, hint);
  }
  if (!oauth) {
    try {
      readJsonObject(response, 'oidc', context.service);
    } catch (error) {
      if (isKeylessError(error)) return withDetails(error, { presented });
      throw error;
    }
    return withDetails(
      httpStatusError(response, 'oidc', context.service),
      { presented },
      'The answer is not an OAuth 2.0 error (RFC 6749 §5.2): check that the endpoint URL is the token endpoint.',
    );
  }
  const description = typeof oauth.error_description === 'string' ? ` (${clipClaim(oauth.error_description)})` : '';
  const said = `${oauth.error}${description}`;
  const details: KeylessErrorDetails = { status: response.status, targetCode: oauth.error, presented };
  const claims = `Presented: ${formatPresented(presented)}.`;
  const error = (code: KeylessError['code'], message: string, hint: string, retryable?: boolean) =>
    new KeylessError({
      code,
      provider: 'oidc',
      message,
      hint,
      details,
      ...(retryable === undefined ? {} : { retryable }),
      ...(response.retryAfterMs === undefined ? {} : { retryAfterMs: response.retryAfterMs }),
    });
  const Service = capitalize(context.service);
  switch (oauth.error) {
    case 'invalid_grant':
      return error('TOKEN_REJECTED', `${Service} refused the AWS JWT: ${said}.`, `${context.rejectedHint} ${claims}`);
    case 'unauthorized_client':
      return error(
        'TOKEN_REJECTED',
        `${Service} does not allow this client to use the grant: ${said}.`,
        `Allow the ${context.grantType} grant for this client on the server. ${context.rejectedHint} ${claims}`,
      );
    case 'invalid_target':
      return error(
        'TOKEN_REJECTED',
        `${Service} refused the requested target: ${said}.`,
        `${context.targetHint} ${claims}`,
      );
    case 'invalid_client':
      return error(
        'INVALID_CONFIG',
        `${Service} did not accept the client authentication: ${said}.`,
        context.clientHint,
      );
    case 'invalid_scope':
      return error('INVALID_CONFIG', `${Service} refused the requested scope: ${said}.`, context.scopeHint);
    case 'unsupported_grant_type':
      return error(
        'INVALID_CONFIG',
        `${Service} does not support the grant ${context.grantType}: ${said}.`,
        'Check the endpoint URL, and that the server has this grant enabled (for this client, if it authenticates).',
      );
    case 'invalid_request':
      return error(
        'EXCHANGE_FAILED',
        `${Service} found the request malformed: ${said}.`,
        'Compare the error description with the request options; vendor-specific fields go in extraParams, and subjectTokenType switches between jwt and id_token.',
      );
    case 'access_denied':
      return error('ACCESS_DENIED', `${Service} denied access: ${said}.`, `${context.rejectedHint} ${claims}`);
    case 'slow_down':
      return error('THROTTLED', `${Service} asked to slow down: ${said}.`, 'Share one provider across the process.');
    case 'temporarily_unavailable':
      return error('EXCHANGE_FAILED', `${Service} is temporarily unavailable: ${said}.`, 'Try again later.', true);
    default:
      return error('EXCHANGE_FAILED', `${Service} answered HTTP ${response.status}: ${said}.`, `${claims}`);
  }
}

/**
 * The answer with every string of its JSON body scrubbed of the given secrets, so that quoting the
 * server's `error_description` cannot leak a secret it echoed (pattern redaction cannot know a
 * client secret). The raw text is never quoted anywhere.
 */
export function scrubResponse(response: HttpResponse, secrets: readonly (string | undefined)[]): HttpResponse {
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') return redactValues(value, secrets);
    if (Array.isArray(value)) return value.map(scrub);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrub(item)]));
    }
    return value;
  };
  return { ...response, json: scrub(response.json) };
}
