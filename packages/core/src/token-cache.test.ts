import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeylessError } from './errors.js';
import { createKeyedTokenCache, createTokenCache } from './token-cache.js';

interface Token {
  value: string;
  expiresAt: Date;
}

/** A fetcher whose calls the test resolves or rejects by hand. */
function controlledFetcher() {
  const calls: { resolve: (t: Token) => void; reject: (e: unknown) => void; background: boolean }[] = [];
  const fetch = vi.fn(
    (ctx: { background: boolean }) =>
      new Promise<Token>((resolve, reject) => {
        calls.push({ resolve, reject, background: ctx.background });
      }),
  );
  return { fetch, calls };
}

const token = (value: string, lifetimeSeconds: number): Token => ({
  value,
  expiresAt: new Date(Date.now() + lifetimeSeconds * 1000),
});

const retryable = () => new KeylessError({ code: 'NETWORK', provider: 'aws', message: 'socket hang up' });
const fatal = () => new KeylessError({ code: 'ACCESS_DENIED', provider: 'aws', message: 'denied' });

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-21T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createTokenCache', () => {
  it('serves a fresh token from memory without calling fetch again', async () => {
    const fetch = vi.fn(async () => token('a', 300));
    const get = createTokenCache(fetch);
    expect((await get()).value).toBe('a');
    vi.advanceTimersByTime(149_000);
    expect((await get()).value).toBe('a');
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('scales the refresh window with the lifetime: a 300 s token is refreshed after half its life, not on arrival', async () => {
    let n = 0;
    const fetch = vi.fn(async () => token(`t${++n}`, 300));
    const get = createTokenCache(fetch);
    await get();
    vi.advanceTimersByTime(140_000);
    await get();
    expect(fetch).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(20_000); // 160 s in: inside the 150 s window
    expect((await get()).value).toBe('t1');
    await vi.runAllTimersAsync();
    expect(fetch).toHaveBeenCalledTimes(2);
    expect((await get()).value).toBe('t2');
  });

  it('caps the default window at 300 s for long-lived tokens', async () => {
    const fetch = vi.fn(async () => token('long', 3600));
    const get = createTokenCache(fetch);
    await get();
    vi.advanceTimersByTime(3_290_000); // 310 s left
    await get();
    expect(fetch).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(20_000); // 290 s left
    await get();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('caps an explicit window at half the lifetime, so a short token is not refreshed on every call', async () => {
    let n = 0;
    const fetch = vi.fn(async () => token(`t${++n}`, 300));
    const get = createTokenCache(fetch, { refreshBeforeExpirySeconds: 600 });
    await get();
    vi.advanceTimersByTime(149_000);
    await get();
    expect(fetch).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(2_000);
    await get();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('starts the background refresh at the refreshAt the issuer asked for, when that comes first', async () => {
    let n = 0;
    const fetch = vi.fn(async () => ({ ...token(`t${++n}`, 3600), refreshAt: new Date(Date.now() + 1_800_000) }));
    const get = createTokenCache(fetch);
    await get();
    vi.advanceTimersByTime(1_799_000);
    await get();
    expect(fetch).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(2_000);
    expect((await get()).value).toBe('t1');
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('ignores a refreshAt later than the refresh window or already past', async () => {
    const fetch = vi.fn(async () => ({ ...token('x', 300), refreshAt: new Date(Date.now() + 290_000) }));
    const get = createTokenCache(fetch);
    await get();
    vi.advanceTimersByTime(151_000);
    await get();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('inside the window returns the cached token at once and runs exactly one background refresh', async () => {
    const { fetch, calls } = controlledFetcher();
    const get = createTokenCache(fetch);
    const first = get();
    calls[0]!.resolve(token('old', 300));
    expect((await first).value).toBe('old');

    vi.advanceTimersByTime(200_000); // 100 s left, window 150 s
    const results = await Promise.all(Array.from({ length: 50 }, () => get()));
    expect(results.every((r) => r.value === 'old')).toBe(true);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(calls[1]!.background).toBe(true);

    calls[1]!.resolve(token('new', 300));
    await vi.advanceTimersByTimeAsync(0);
    expect((await get()).value).toBe('new');
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('makes callers wait when the token is stale (under minValiditySeconds left)', async () => {
    const { fetch, calls } = controlledFetcher();
    const get = createTokenCache(fetch, { minValiditySeconds: 10 });
    const first = get();
    calls[0]!.resolve(token('old', 300));
    await first;
    vi.advanceTimersByTime(291_000); // 9 s left
    let settled = false;
    const waiting = get().then((t) => {
      settled = true;
      return t;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    expect(calls[1]!.background).toBe(false);
    calls[1]!.resolve(token('new', 300));
    expect((await waiting).value).toBe('new');
  });

  it('never returns a token with less than minValiditySeconds left, even with a tiny explicit window', async () => {
    let n = 0;
    const fetch = vi.fn(async () => token(`t${++n}`, 60));
    const get = createTokenCache(fetch, { refreshBeforeExpirySeconds: 1, minValiditySeconds: 10 });
    await get();
    vi.advanceTimersByTime(55_000); // 5 s left
    expect((await get()).value).toBe('t2');
  });

  it('runs one fetch for 1,000 concurrent callers on a cold cache', async () => {
    const { fetch, calls } = controlledFetcher();
    const get = createTokenCache(fetch);
    const all = Promise.all(Array.from({ length: 1000 }, () => get()));
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(1);
    calls[0]!.resolve(token('shared', 300));
    const results = await all;
    expect(new Set(results.map((r) => r.value))).toEqual(new Set(['shared']));
  });

  it('keeps serving the cached token when a refresh inside the window fails', async () => {
    let fail = false;
    let n = 0;
    const fetch = vi.fn(async () => {
      if (fail) throw fatal();
      return token(`t${++n}`, 300);
    });
    const warn = vi.fn();
    const get = createTokenCache(fetch, { logger: { warn } });
    await get();
    fail = true;
    vi.advanceTimersByTime(200_000);
    expect((await get()).value).toBe('t1');
    await vi.runAllTimersAsync();
    expect((await get()).value).toBe('t1');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('background refresh failed'));
  });

  it('waits a cool-down after a failed background refresh before trying again', async () => {
    let fail = true;
    const fetch = vi.fn(async () => {
      if (fail) throw fatal();
      return token('x', 300);
    });
    fail = false;
    const get = createTokenCache(fetch, { backgroundRetryCooldownMs: 5_000 });
    await get();
    fail = true;
    vi.advanceTimersByTime(200_000);
    await get();
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(2);
    await get();
    await get();
    expect(fetch).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(5_001);
    await get();
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('rejects every waiter of a failed stale fetch with the same error', async () => {
    const { fetch, calls } = controlledFetcher();
    const get = createTokenCache(fetch, { retry: false });
    const waiters = Array.from({ length: 20 }, () => get());
    await vi.advanceTimersByTimeAsync(0);
    const error = fatal();
    calls[0]!.reject(error);
    const outcomes = await Promise.allSettled(waiters);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason === error)).toBe(true);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('retries retryable failures with full-jitter exponential back-off, bounded in attempts', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const fetch = vi.fn(async () => {
      throw retryable();
    });
    const get = createTokenCache(fetch, { retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250 } });
    const result = get().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1); // 100 ms: 2nd attempt
    expect(fetch).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(200); // 200 ms: 3rd
    expect(fetch).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(250); // capped at 250 ms: 4th, the last
    expect(fetch).toHaveBeenCalledTimes(4);
    await vi.runAllTimersAsync();
    expect(fetch).toHaveBeenCalledTimes(4);
    expect(await result).toMatchObject({ code: 'NETWORK' });
  });

  it('draws each back-off uniformly below the ceiling (full jitter)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    let calls = 0;
    const fetch = vi.fn(async () => {
      if (++calls < 2) throw retryable();
      return token('ok', 300);
    });
    const get = createTokenCache(fetch, { retry: { baseDelayMs: 1000 } });
    const result = get();
    await vi.advanceTimersByTimeAsync(499);
    expect(fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await result).value).toBe('ok');
  });

  it('stops retrying once maxElapsedMs would be exceeded', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const fetch = vi.fn(async () => {
      throw retryable();
    });
    const get = createTokenCache(fetch, {
      retry: { maxAttempts: 10, baseDelayMs: 1000, maxDelayMs: 1000, maxElapsedMs: 2500 },
    });
    const result = get().catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(await result).toMatchObject({ code: 'NETWORK' });
  });

  it('honours a Retry-After the error carries, capped by maxDelayMs', async () => {
    let calls = 0;
    const fetch = vi.fn(async () => {
      if (++calls === 1) {
        throw new KeylessError({ code: 'THROTTLED', provider: 'aws', message: 'slow down', retryAfterMs: 2_000 });
      }
      return token('ok', 300);
    });
    const get = createTokenCache(fetch);
    const result = get();
    await vi.advanceTimersByTimeAsync(1_999);
    expect(fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await result).value).toBe('ok');
  });

  it('does not retry failures that are not retryable', async () => {
    const fetch = vi.fn(async () => {
      throw fatal();
    });
    const get = createTokenCache(fetch);
    await expect(get()).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('forceRefresh fetches even when the cached token is fresh', async () => {
    let n = 0;
    const fetch = vi.fn(async () => token(`t${++n}`, 300));
    const get = createTokenCache(fetch);
    await get();
    expect((await get({ forceRefresh: true })).value).toBe('t2');
    expect((await get()).value).toBe('t2');
  });

  it('forceRefresh joins a refresh that is already running', async () => {
    const { fetch, calls } = controlledFetcher();
    const get = createTokenCache(fetch);
    const a = get();
    const b = get({ forceRefresh: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(1);
    calls[0]!.resolve(token('one', 300));
    expect((await a).value).toBe('one');
    expect((await b).value).toBe('one');
  });

  it('an aborted signal stops that caller only; the shared fetch completes for the others', async () => {
    const { fetch, calls } = controlledFetcher();
    const get = createTokenCache(fetch);
    const controller = new AbortController();
    const aborted = get({ signal: controller.signal });
    const other = get();
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    calls[0]!.resolve(token('done', 300));
    expect((await other).value).toBe('done');
    expect((await get()).value).toBe('done');
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('rejects at once when the signal is already aborted, without fetching', async () => {
    const fetch = vi.fn(async () => token('x', 300));
    const get = createTokenCache(fetch);
    await expect(get({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(fetch).not.toHaveBeenCalled();
  });

  it('refuses a token that arrives with less than minValiditySeconds left', async () => {
    const fetch = vi.fn(async () => token('short', 5));
    const get = createTokenCache(fetch, { retry: false });
    await expect(get()).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
  });

  it('refuses a token without a valid expiry', async () => {
    const fetch = vi.fn(async () => ({ value: 'x', expiresAt: new Date(Number.NaN) }));
    const get = createTokenCache(fetch, { retry: false });
    await expect(get()).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
  });

  it('unrefs the back-off timer of a background refresh only', async () => {
    const unrefs: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const handle = realSetTimeout(fn, ms);
      const unref = handle.unref.bind(handle);
      handle.unref = () => {
        unrefs.push(ms ?? 0);
        return unref();
      };
      return handle;
    }) as typeof setTimeout);
    let fail = false;
    const fetch = vi.fn(async () => {
      if (fail) throw retryable();
      return token('x', 300);
    });
    const get = createTokenCache(fetch, { retry: { maxAttempts: 2 } });
    await get();
    fail = true;
    vi.advanceTimersByTime(200_000);
    await get();
    await vi.runAllTimersAsync();
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(unrefs).toHaveLength(1);

    // A caller that waits (stale token) keeps its back-off timer referenced: the program is not done.
    vi.advanceTimersByTime(100_000);
    const waiting = get().catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    expect(await waiting).toMatchObject({ code: 'NETWORK' });
    expect(fetch).toHaveBeenCalledTimes(5);
    expect(unrefs).toHaveLength(1);
  });
});

describe('createKeyedTokenCache', () => {
  it('keeps one cache and one single flight per key', async () => {
    const fetch = vi.fn(async (key: string) => token(key, 300));
    const get = createKeyedTokenCache(fetch);
    const results = await Promise.all([get('a'), get('a'), get('b'), get('b'), get('a')]);
    expect(results.map((r) => r.value)).toEqual(['a', 'a', 'b', 'b', 'a']);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('drops the oldest key beyond maxKeys', async () => {
    const fetch = vi.fn(async (key: string) => token(key, 300));
    const get = createKeyedTokenCache(fetch, { maxKeys: 2 });
    await get('a');
    await get('b');
    await get('c');
    await get('b');
    expect(fetch).toHaveBeenCalledTimes(3);
    await get('a');
    expect(fetch).toHaveBeenCalledTimes(4);
  });
});
