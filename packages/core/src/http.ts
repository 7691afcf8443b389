import { KeylessError, type KeylessProvider } from './errors.js';

/** One HTTP exchange with a token endpoint; every adapter that speaks HTTP itself goes through here. */
export interface HttpRequest {
  url: string | URL;
  method?: 'GET' | 'POST';
  /** Sent as `application/x-www-form-urlencoded`; arrays repeat the field, `undefined` is left out. */
  form?: Record<string, string | readonly string[] | undefined>;
  /** Sent as `application/json`. */
  json?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Default 10,000 ms. */
  timeoutMs?: number;
  provider: KeylessProvider;
  /** Names the endpoint in messages, e.g. `the Entra ID token endpoint`. */
  service: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** The raw body. Never put it in an error or a log: token endpoints answer with tokens. */
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: unknown;
  /** From `Retry-After` (seconds or HTTP date), when present. */
  retryAfterMs: number | undefined;
}

export interface OAuthErrorBody {
  error: string;
  error_description?: string;
  error_uri?: string;
  [field: string]: unknown;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Sends the request with `fetch`. Resolves with any HTTP answer; rejects only with `NETWORK`
 * (no answer) or `TIMEOUT`, and with the caller's abort reason when its signal fires.
 */
export async function sendHttpRequest(request: HttpRequest): Promise<HttpResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  let body: string | undefined;
  if (request.form) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(request.form)) {
      if (value === undefined) continue;
      for (const item of typeof value === 'string' ? [value] : value) params.append(key, item);
    }
    body = params.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers['content-type'] = 'application/json';
  }
  const timeout = AbortSignal.timeout(request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  let response: Response;
  let text: string;
  try {
    response = await fetch(request.url, {
      method: request.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body === undefined ? {} : { body }),
      signal,
      redirect: 'error',
    });
    text = await response.text();
  } catch (error) {
    if (request.signal?.aborted) throw request.signal.reason;
    if (timeout.aborted) {
      throw new KeylessError({
        code: 'TIMEOUT',
        provider: request.provider,
        message: `${capitalize(request.service)} did not answer within ${request.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms.`,
        cause: error,
      });
    }
    const errno = errorCodeOf(error);
    throw new KeylessError({
      code: 'NETWORK',
      provider: request.provider,
      message: `Could not reach ${request.service} at ${new URL(request.url).origin}${errno ? ` (${errno})` : ''}.`,
      hint: 'Check DNS, proxy and firewall access to that host, and the endpoint options.',
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return {
    status: response.status,
    headers: response.headers,
    text,
    json,
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
  };
}

/** The RFC 6749 §5.2 error object of an answer, if it has one. */
export function parseOAuthError(response: Pick<HttpResponse, 'json'>): OAuthErrorBody | undefined {
  const body = response.json;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { error } = body as Record<string, unknown>;
  return typeof error === 'string' && error.length > 0 ? (body as OAuthErrorBody) : undefined;
}

/** The body as a JSON object, or `INVALID_RESPONSE` (HTML error pages, truncated bodies, arrays…). */
export function readJsonObject(
  response: HttpResponse,
  provider: KeylessProvider,
  service: string,
): Record<string, unknown> {
  const body = response.json;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const type = response.headers.get('content-type') ?? 'no content type';
    throw new KeylessError({
      code: 'INVALID_RESPONSE',
      provider,
      message: `${capitalize(service)} answered HTTP ${response.status} with a body that is not a JSON object (${type}, ${response.text.length} bytes).`,
      hint: 'A proxy or captive portal may be answering instead of the service; check the endpoint URL.',
      retryable: response.status >= 500,
      details: { status: response.status },
    });
  }
  return body as Record<string, unknown>;
}

/**
 * The error for an answer that the adapter did not recognise more precisely: 429 → `THROTTLED`,
 * 5xx → retryable `EXCHANGE_FAILED`, anything else → `EXCHANGE_FAILED`. OAuth `error` and
 * `error_description` are quoted (they describe the failure, not the credential).
 */
export function httpStatusError(response: HttpResponse, provider: KeylessProvider, service: string): KeylessError {
  const oauth = parseOAuthError(response);
  const said = oauth ? `: ${oauth.error}${oauth.error_description ? ` (${oauth.error_description})` : ''}` : '';
  const details = { status: response.status, ...(oauth ? { targetCode: oauth.error } : {}) };
  if (response.status === 429) {
    return new KeylessError({
      code: 'THROTTLED',
      provider,
      message: `${capitalize(service)} throttled the request (HTTP 429)${said}.`,
      hint: 'Share one credential object across the process so that its cache absorbs the load.',
      ...(response.retryAfterMs === undefined ? {} : { retryAfterMs: response.retryAfterMs }),
      details,
    });
  }
  return new KeylessError({
    code: 'EXCHANGE_FAILED',
    provider,
    message: `${capitalize(service)} answered HTTP ${response.status}${said}.`,
    retryable: response.status >= 500 || response.status === 408,
    ...(response.retryAfterMs === undefined ? {} : { retryAfterMs: response.retryAfterMs }),
    details,
  });
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * The first string `code` (an errno such as `ECONNRESET`, `UND_ERR_SOCKET`) along an error's `cause`
 * chain, four levels deep: fetch and vendor clients wrap the socket error once or twice.
 */
export function errorCodeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
