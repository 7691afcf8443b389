import { isKeylessError, KeylessError, type KeylessProvider } from './errors.js';
import { createLogger, type Logger } from './logger.js';

/** Anything the cache can hold: it only needs to know when the value stops being valid. */
export interface ExpiringToken {
  expiresAt: Date;
  /**
   * When the issuer asks for the token to be renewed (Entra's `refresh_in`): the background refresh
   * starts then, or at the refresh window if that comes first.
   */
  refreshAt?: Date | undefined;
}

export interface RetryOptions {
  /** Attempts per refresh, the first included. Default 3. */
  maxAttempts?: number;
  /** First back-off ceiling; each retry doubles it (full jitter). Default 200 ms. */
  baseDelayMs?: number;
  /** Cap of one back-off (also caps a server's `Retry-After`). Default 5,000 ms. */
  maxDelayMs?: number;
  /** No retry starts once this much time has gone by since the first attempt. Default 20,000 ms. */
  maxElapsedMs?: number;
}

export interface TokenCacheOptions<T extends ExpiringToken> {
  /**
   * Refresh in the background once less than this is left. Default: min(300 s, half the token's
   * lifetime), so a 300 s token is refreshed after 150 s rather than being stale on arrival. A larger
   * value is capped at half the lifetime, so a short token is not refreshed on every call.
   */
  refreshBeforeExpirySeconds?: number;
  /** A token with less than this left is never returned (clock-skew margin). Default 10 s. */
  minValiditySeconds?: number;
  /** Retries of retryable failures (`KeylessError.retryable`). `false` disables them. */
  retry?: RetryOptions | false;
  /** After a background refresh failed, wait this long before the next one. Default 5,000 ms. */
  backgroundRetryCooldownMs?: number;
  /** Provider named in the cache's own errors. Default `aws`. */
  provider?: KeylessProvider;
  logger?: Partial<Logger>;
  /** Names the cache in log lines, e.g. `aws` or `azure`. */
  name?: string;
  /** Safe, secret-free description of a token for debug lines (never the token itself). */
  describe?: (token: T) => string;
}

export interface FetchContext {
  /** 1 for the first attempt of a refresh. */
  attempt: number;
  /** True when no caller waits on this refresh (stale-while-revalidate). */
  background: boolean;
}

export interface TokenRequestOptions {
  /** Skip the cache and fetch a new token (joins a refresh that is already running). */
  forceRefresh?: boolean;
  /** Stops this caller's wait; the shared refresh goes on for the others. */
  signal?: AbortSignal;
}

export type TokenFetcher<T> = (context: FetchContext) => Promise<T>;
export type CachedTokenProvider<T> = (options?: TokenRequestOptions) => Promise<T>;

const DEFAULT_REFRESH_WINDOW_S = 300;
const DEFAULT_MIN_VALIDITY_S = 10;
const DEFAULT_RETRY: Required<RetryOptions> = {
  maxAttempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxElapsedMs: 20_000,
};
const DEFAULT_BACKGROUND_COOLDOWN_MS = 5_000;

interface Entry<T> {
  value: T;
  fetchedAt: number;
  expiresAt: number;
  /** Start of the refreshing state (background refresh), on the local clock. */
  refreshFrom: number;
}

/**
 * The one token cache of keyless. Every provider (the AWS JWT, each adapter's target token) is a
 * fetch function wrapped by this, so the refresh rules are written and tested once:
 *
 * - fresh (more than the refresh window left): returned from memory, no I/O;
 * - refreshing (inside the window, above `minValiditySeconds`): returned at once, one background refresh;
 * - stale (below `minValiditySeconds`, or nothing cached): callers wait for one shared refresh;
 * - a failed refresh never evicts a usable token; waiters of a failed refresh all get its error;
 * - retryable failures are retried with full-jitter exponential back-off, bounded in count and time;
 * - no timer keeps the process alive on behalf of a background refresh.
 */
export function createTokenCache<T extends ExpiringToken>(
  fetch: TokenFetcher<T>,
  options: TokenCacheOptions<T> = {},
): CachedTokenProvider<T> {
  const minValidityMs = (options.minValiditySeconds ?? DEFAULT_MIN_VALIDITY_S) * 1000;
  const retry = options.retry === false ? { ...DEFAULT_RETRY, maxAttempts: 1 } : { ...DEFAULT_RETRY, ...options.retry };
  const cooldownMs = options.backgroundRetryCooldownMs ?? DEFAULT_BACKGROUND_COOLDOWN_MS;
  const provider = options.provider ?? 'aws';
  const log = createLogger(options.logger, options.name ?? provider);
  const describe = options.describe ?? (() => '');

  let current: Entry<T> | undefined;
  let inflight: Promise<Entry<T>> | undefined;
  let backgroundFailedAt: number | undefined;

  async function fetchWithRetry(background: boolean): Promise<Entry<T>> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const value = await fetch({ attempt, background });
        return toEntry(value);
      } catch (error) {
        const delay = retryDelay(error, attempt, started);
        if (delay === undefined) throw error;
        log.debug(`attempt ${attempt} failed (${describeError(error)}); retrying in ${Math.round(delay)} ms`);
        await sleep(delay, background);
      }
    }
  }

  function retryDelay(error: unknown, attempt: number, started: number): number | undefined {
    if (!isKeylessError(error) || !error.retryable || attempt >= retry.maxAttempts) return undefined;
    const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
    const delay =
      error.retryAfterMs === undefined ? Math.random() * ceiling : Math.min(error.retryAfterMs, retry.maxDelayMs);
    if (Date.now() + delay - started > retry.maxElapsedMs) return undefined;
    return delay;
  }

  function toEntry(value: T): Entry<T> {
    const fetchedAt = Date.now();
    const expiresAt = value?.expiresAt instanceof Date ? value.expiresAt.getTime() : Number.NaN;
    if (Number.isNaN(expiresAt)) {
      throw new KeylessError({
        code: 'INVALID_RESPONSE',
        provider,
        message: 'The token source returned a token without a valid expiry.',
      });
    }
    if (expiresAt - fetchedAt <= minValidityMs) {
      throw new KeylessError({
        code: 'INVALID_RESPONSE',
        provider,
        message: `The token source returned a token that expires in ${Math.round((expiresAt - fetchedAt) / 1000)} s, under the ${minValidityMs / 1000} s minimum validity.`,
        hint: 'Ask for a longer token lifetime, or check that this machine’s clock is right.',
        retryable: true,
      });
    }
    const refreshFrom = refreshStartTime(value, fetchedAt, options);
    log.debug(`new token, expires in ${Math.round((expiresAt - fetchedAt) / 1000)} s ${describe(value)}`.trimEnd());
    return { value, fetchedAt, expiresAt, refreshFrom };
  }

  function startRefresh(background: boolean): Promise<Entry<T>> {
    const run: Promise<Entry<T>> = fetchWithRetry(background).then(
      (entry) => {
        current = entry;
        backgroundFailedAt = undefined;
        if (inflight === run) inflight = undefined;
        return entry;
      },
      (error: unknown) => {
        if (inflight === run) inflight = undefined;
        throw error;
      },
    );
    inflight = run;
    // Waiters attach their own handlers; this one makes sure nobody waiting is never an unhandled rejection.
    run.catch((error: unknown) => {
      if (!background) return;
      backgroundFailedAt = Date.now();
      log.warn(`background refresh failed, still serving the cached token (${describeError(error)})`);
    });
    return run;
  }

  return async function getToken(request: TokenRequestOptions = {}): Promise<T> {
    const { signal } = request;
    signal?.throwIfAborted();
    const now = Date.now();
    if (current && !request.forceRefresh) {
      if (now < current.refreshFrom) return current.value;
      if (current.expiresAt - now > minValidityMs) {
        const coolingDown = backgroundFailedAt !== undefined && now - backgroundFailedAt < cooldownMs;
        if (!inflight && !coolingDown) startRefresh(true);
        return current.value;
      }
    }
    const run = inflight ?? startRefresh(false);
    const entry = await abortable(run, signal);
    return entry.value;
  };
}

/**
 * When a token fetched at `fetchedAt` (ms) leaves the fresh state under the cache's rules: the refresh
 * window before expiry (`refreshBeforeExpirySeconds`, default 300 s, capped at half the lifetime), or the
 * token's own `refreshAt` if that comes first, and never later than `minValiditySeconds` before expiry.
 * Exported so a credential can tell its caller when to ask again (`refreshAfterTimestamp`).
 */
export function refreshStartTime(
  token: ExpiringToken,
  fetchedAt: number,
  options: Pick<TokenCacheOptions<ExpiringToken>, 'refreshBeforeExpirySeconds' | 'minValiditySeconds'> = {},
): number {
  const expiresAt = token.expiresAt.getTime();
  const windowMs = (options.refreshBeforeExpirySeconds ?? DEFAULT_REFRESH_WINDOW_S) * 1000;
  let refreshFrom = expiresAt - Math.min(windowMs, (expiresAt - fetchedAt) / 2);
  const refreshAt = token.refreshAt instanceof Date ? token.refreshAt.getTime() : Number.NaN;
  if (refreshAt > fetchedAt && refreshAt < refreshFrom) refreshFrom = refreshAt;
  // Fresh never reaches into the last minValiditySeconds, whatever the window says.
  return Math.min(refreshFrom, expiresAt - (options.minValiditySeconds ?? DEFAULT_MIN_VALIDITY_S) * 1000);
}

export interface KeyedTokenCacheOptions<T extends ExpiringToken> extends TokenCacheOptions<T> {
  /** Most keys kept; the least recently added is dropped first. Default 64. */
  maxKeys?: number;
}

export type KeyedTokenFetcher<T> = (key: string, context: FetchContext) => Promise<T>;
export type KeyedCachedTokenProvider<T> = (key: string, options?: TokenRequestOptions) => Promise<T>;

/**
 * One `createTokenCache` per key (e.g. scopes + tenant for an Azure credential), so that every key
 * gets the same fresh / refreshing / stale rules and its own single flight.
 */
export function createKeyedTokenCache<T extends ExpiringToken>(
  fetch: KeyedTokenFetcher<T>,
  options: KeyedTokenCacheOptions<T> = {},
): KeyedCachedTokenProvider<T> {
  const maxKeys = options.maxKeys ?? 64;
  const caches = new Map<string, CachedTokenProvider<T>>();
  return (key, request) => {
    let cache = caches.get(key);
    if (!cache) {
      if (caches.size >= maxKeys) {
        const oldest = caches.keys().next().value;
        if (oldest !== undefined) caches.delete(oldest);
      }
      cache = createTokenCache((context) => fetch(key, context), options);
      caches.set(key, cache);
    }
    return cache(request);
  };
}

function describeError(error: unknown): string {
  if (isKeylessError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number, background: boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    // A background refresh must not keep a finished program alive; a caller that waits does.
    if (background) timer.unref?.();
  });
}

function abortable<V>(promise: Promise<V>, signal: AbortSignal | undefined): Promise<V> {
  if (!signal) return promise;
  return new Promise<V>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
