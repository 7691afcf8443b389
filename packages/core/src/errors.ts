import { errorChannel } from './diagnostics.js';
import { redactSecrets } from './redact.js';

/** Every failure keyless reports carries one of these codes. */
export type KeylessErrorCode =
  | 'INVALID_CONFIG'
  | 'REGION_REQUIRED'
  | 'AWS_CREDENTIALS_MISSING'
  | 'FEDERATION_DISABLED'
  | 'ACCESS_DENIED'
  | 'THROTTLED'
  | 'TOKEN_REJECTED'
  | 'EXCHANGE_FAILED'
  | 'INVALID_RESPONSE'
  | 'NETWORK'
  | 'TIMEOUT';

/** The system whose answer (or whose configuration) the error is about. */
export type KeylessProvider = 'aws' | 'azure' | 'gcp' | 'snowflake' | 'oidc';

/**
 * Structured, secret-free facts about a failure: what the target said and what was presented.
 * Claims (`iss`, `sub`, `aud`) are identifiers, not secrets, so they may appear here.
 */
export interface KeylessErrorDetails {
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** The target's own error code (`AADSTS700213`, `invalid_grant`, `AccessDenied`, `390432`…). */
  targetCode?: string;
  /** Request id / trace id the target gave, for a support ticket. */
  requestId?: string;
  /** Claims of the AWS JWT that was presented. */
  presented?: { iss?: string; sub?: string; aud?: string | string[]; alg?: string };
  /** What the target expected, where keyless knows it. */
  expected?: Record<string, string | string[]>;
  [key: string]: unknown;
}

export interface KeylessErrorOptions {
  code: KeylessErrorCode;
  provider: KeylessProvider;
  message: string;
  hint?: string;
  retryable?: boolean;
  /** Milliseconds the target asked us to wait before trying again (`Retry-After`). */
  retryAfterMs?: number;
  details?: KeylessErrorDetails;
  cause?: unknown;
}

const BRAND = Symbol.for('keyless.error');

const RETRYABLE_BY_DEFAULT: ReadonlySet<KeylessErrorCode> = new Set(['THROTTLED', 'NETWORK', 'TIMEOUT']);

/**
 * The one error class of keyless. Message, hint, details and cause are scrubbed of anything that
 * looks like a token or secret when the error is built, so an error can be logged as a whole.
 */
export class KeylessError extends Error {
  override readonly name = 'KeylessError';
  readonly code: KeylessErrorCode;
  readonly provider: KeylessProvider;
  readonly retryable: boolean;
  readonly hint: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly details: KeylessErrorDetails;
  declare readonly [BRAND]: true;

  constructor(options: KeylessErrorOptions) {
    super(
      redactSecrets(options.message),
      options.cause === undefined ? undefined : { cause: sanitizeCause(options.cause) },
    );
    Object.defineProperty(this, BRAND, { value: true });
    this.code = options.code;
    this.provider = options.provider;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(options.code);
    this.hint = options.hint === undefined ? undefined : redactSecrets(options.hint);
    this.retryAfterMs = options.retryAfterMs;
    this.details = sanitizeDetails(options.details ?? {});
    if (errorChannel.hasSubscribers) errorChannel.publish({ error: this });
  }

  override toString(): string {
    return this.hint
      ? `${this.name} [${this.code}]: ${this.message}\nHint: ${this.hint}`
      : `${this.name} [${this.code}]: ${this.message}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      provider: this.provider,
      message: this.message,
      hint: this.hint,
      retryable: this.retryable,
      details: this.details,
    };
  }
}

/** True for a `KeylessError` from any copy of `@keyless/core` (checks a global brand, not `instanceof`). */
export function isKeylessError(value: unknown): value is KeylessError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * Vendor errors often carry the request that failed (a gaxios error holds the form body with the
 * subject token; an AWS error holds the raw response). Keep only what helps a reader: name, message,
 * code and status, each scrubbed.
 */
function sanitizeCause(cause: unknown): unknown {
  if (isKeylessError(cause)) return cause;
  if (cause instanceof Error) {
    // Vendor errors do not always keep to the type: a null message or stack must not break the error.
    const safe = new Error(redactSecrets(String(cause.message ?? '')));
    safe.name = cause.name;
    const source = cause as unknown as Record<string, unknown>;
    const target = safe as unknown as Record<string, unknown>;
    for (const key of ['code', 'status', 'statusCode', 'errno', 'syscall']) {
      const value = source[key];
      if (typeof value === 'string' || typeof value === 'number')
        target[key] = typeof value === 'string' ? redactSecrets(value) : value;
    }
    const metadata = source.$metadata as { httpStatusCode?: unknown } | undefined;
    if (typeof metadata?.httpStatusCode === 'number') target.statusCode = metadata.httpStatusCode;
    safe.stack = typeof cause.stack === 'string' ? redactSecrets(cause.stack) : undefined;
    if (cause.cause !== undefined)
      Object.defineProperty(safe, 'cause', { value: sanitizeCause(cause.cause), enumerable: false });
    return safe;
  }
  if (typeof cause === 'string') return redactSecrets(cause);
  return undefined;
}

function sanitizeDetails(details: KeylessErrorDetails): KeylessErrorDetails {
  return JSON.parse(JSON.stringify(details), (_key, value: unknown) =>
    typeof value === 'string' ? redactSecrets(value) : value,
  ) as KeylessErrorDetails;
}
