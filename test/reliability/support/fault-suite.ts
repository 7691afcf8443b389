/**
 * The fault suite every token endpoint runs: one `it` per fault the matrix marks `suite` for it,
 * against a scripted loopback server, through the adapter's public API with core's own JWT provider
 * (`aws: { client }`, a fake STS that signs real JWTs). An endpoint plugs in with an `EndpointDriver`.
 */
import { randomBytes } from 'node:crypto';
import type { STSClient } from '@aws-sdk/client-sts';
import {
  isKeylessError,
  type KeylessError,
  type KeylessErrorCode,
  type KeylessProvider,
  type Logger,
  type RetryOptions,
} from '@keyless/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { recordingLogger } from '../../support/leaks.js';
import { registerSecret } from '../../support/secrets.js';
import { type EndpointId, FAULTS, type FaultId, suiteFaults } from '../matrix.js';
import { fakeSts } from './fake-sts.js';
import {
  type Answer,
  type Recorded,
  type Reply,
  type ScriptedServer,
  startScriptedServer,
  times,
} from './scripted-server.js';

export interface DriverOptions {
  origin: string;
  sts: STSClient;
  retry: RetryOptions | false;
  requestTimeoutMs?: number;
  /** Records every line (the suite waits for some of them). */
  logger: Logger;
}

export interface DriverClient {
  /** The access token, as the adapter hands it to its caller. */
  get(signal?: AbortSignal): Promise<string>;
}

export interface EndpointDriver {
  endpoint: EndpointId;
  /** `provider` of the adapter's own errors. */
  provider: KeylessProvider;
  /** Path the faults are injected on. */
  path: string;
  /** Other routes the client needs, answered with success every time (e.g. Google STS before IAM). */
  prepare?(server: ScriptedServer): void;
  create(options: DriverOptions): DriverClient;
  /** A success answer issuing `token`, valid for `lifetime` seconds from when it is built. */
  success(token: string, lifetime: number): Reply;
  /** Lifetime of the tokens the real service issues. */
  lifetime: number;
  /** A 2xx whose JSON has the wrong shape (no usable token). */
  malformed: Reply;
  /** Whether the adapter retries such an answer (observed behaviour, recorded here). */
  malformedRetryable: boolean;
  /** The credential a request presented (the AWS JWT, or for IAM the federated token). */
  presented(request: Recorded): string | undefined;
  /** How the endpoint refuses a presented credential that expired on the way, and the code keyless maps it to. */
  expired: { reply: Reply; code: KeylessErrorCode };
  /** Seconds the presented credential lives (the JWT's `durationSeconds`, or the federated token's life). */
  presentedLifetime: number;
}

/** An opaque access token (no JWT shape: redaction patterns cannot hide a leak of it), registered. */
export function accessToken(prefix = 'at'): string {
  return registerSecret(`${prefix}_${randomBytes(24).toString('base64url')}`);
}

export async function rejection(promise: Promise<unknown>): Promise<KeylessError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isKeylessError(error)) throw new Error(`expected a KeylessError, got ${String(error)}`);
  return error;
}

/** Lets real I/O and timers run until `condition` holds (no wall-clock assertion: a bounded number of turns). */
export async function until(condition: () => boolean, turns = 2_000): Promise<void> {
  for (let i = 0; i < turns && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(condition()).toBe(true);
}

const FAST: RetryOptions = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
const HTML = '<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>';

interface Context {
  server: ScriptedServer;
  sts: ReturnType<typeof fakeSts>;
  driver: EndpointDriver;
  /** Every log line of every client of this test. */
  lines: string[];
  client(options?: Partial<Omit<DriverOptions, 'origin' | 'sts' | 'logger'>>): DriverClient;
  requests(): Recorded[];
  ok(lifetime?: number): { answer: Answer; token: string };
}

type Scenario = (context: Context) => Promise<void>;

const SCENARIOS: Record<Exclude<FaultId, 'process-exit'>, { name: string; run: Scenario }> = {
  'http-5xx': {
    name: 'three attempts, then a retryable EXCHANGE_FAILED; the fourth answer is never asked for',
    run: async ({ server, driver, client, requests, ok }) => {
      server.answer(
        driver.path,
        ...times(3, { status: 503, body: { error: 'temporarily_unavailable', error_description: 'busy' } }),
      );
      server.answer(driver.path, ok().answer);
      const error = await rejection(client({ retry: FAST }).get());
      expect(error).toMatchObject({ code: 'EXCHANGE_FAILED', retryable: true, provider: driver.provider });
      expect(error.details.status).toBe(503);
      expect(requests()).toHaveLength(3);
    },
  },
  'http-429': {
    name: 'the retry waits exactly Retry-After (fake timers), then succeeds; throttled to the end: THROTTLED with retryAfterMs',
    run: async ({ server, driver, client, requests, ok, lines }) => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const retries = (ms: number) => lines.filter((line) => line.includes(`retrying in ${ms} ms`)).length;
      const { answer, token } = ok();
      server.answer(
        driver.path,
        { status: 429, body: { error: 'slow_down' }, headers: { 'retry-after': '2' } },
        answer,
      );
      const pending = client({ retry: { maxAttempts: 3, baseDelayMs: 1 } }).get();
      pending.catch(() => {});
      // The back-off is scheduled once this line is logged.
      await untilReal(() => retries(2_000) === 1);
      await vi.advanceTimersByTimeAsync(1_999);
      await settleReal();
      expect(requests()).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(await pending).toBe(token);
      expect(requests()).toHaveLength(2);

      server.answer(
        driver.path,
        ...times(3, { status: 429, body: { error: 'slow_down' }, headers: { 'retry-after': '1' } }),
      );
      const throttled = rejection(client({ retry: { maxAttempts: 3, baseDelayMs: 1 } }).get());
      for (const expected of [1, 2]) {
        await untilReal(() => retries(1_000) === expected);
        await vi.advanceTimersByTimeAsync(1_000);
      }
      const error = await throttled;
      expect(error).toMatchObject({ code: 'THROTTLED', retryable: true, retryAfterMs: 1_000 });
      expect(requests()).toHaveLength(5);
    },
  },
  timeout: {
    name: 'each silent attempt times out; after two attempts a retryable TIMEOUT',
    run: async ({ server, driver, client, requests }) => {
      server.answer(driver.path, 'silent', 'silent');
      const error = await rejection(client({ retry: { ...FAST, maxAttempts: 2 }, requestTimeoutMs: 100 }).get());
      expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true, provider: driver.provider });
      expect(requests()).toHaveLength(2);
    },
  },
  reset: {
    name: 'reset twice: two attempts, then a retryable NETWORK',
    run: async ({ server, driver, client, requests }) => {
      server.answer(driver.path, 'reset', 'reset');
      const error = await rejection(client({ retry: { ...FAST, maxAttempts: 2 } }).get());
      expect(error).toMatchObject({ code: 'NETWORK', retryable: true, provider: driver.provider });
      expect(requests()).toHaveLength(2);
    },
  },
  dropped: {
    name: 'the connection closes mid-body: retried, then a retryable NETWORK; a later success is used',
    run: async ({ server, driver, client, requests, ok }) => {
      server.answer(driver.path, 'dropped', 'dropped');
      const error = await rejection(client({ retry: { ...FAST, maxAttempts: 2 } }).get());
      expect(error).toMatchObject({ code: 'NETWORK', retryable: true, provider: driver.provider });
      const { answer, token } = ok();
      server.answer(driver.path, 'dropped', answer);
      expect(await client({ retry: FAST }).get()).toBe(token);
      expect(requests()).toHaveLength(4);
    },
  },
  truncated: {
    name: 'a 200 with truncated JSON: INVALID_RESPONSE, not retried',
    run: async ({ server, driver, client, requests }) => {
      server.answer(driver.path, {
        status: 200,
        body: '{"access_token":"abc","expires_in":36',
        headers: { 'content-type': 'application/json' },
      });
      const error = await rejection(client({ retry: FAST }).get());
      expect(error).toMatchObject({ code: 'INVALID_RESPONSE', retryable: false, provider: driver.provider });
      expect(requests()).toHaveLength(1);
    },
  },
  malformed: {
    name: 'a 200 of JSON without a usable token: INVALID_RESPONSE, never a success',
    run: async ({ server, driver, client, requests }) => {
      server.answer(driver.path, ...times(3, driver.malformed));
      const error = await rejection(client({ retry: FAST }).get());
      expect(error).toMatchObject({
        code: 'INVALID_RESPONSE',
        retryable: driver.malformedRetryable,
        provider: driver.provider,
      });
      expect(requests()).toHaveLength(driver.malformedRetryable ? 3 : 1);
    },
  },
  html: {
    name: 'a 200 HTML page is INVALID_RESPONSE (once); a 502 HTML page is retried, then EXCHANGE_FAILED',
    run: async ({ server, driver, client, requests }) => {
      server.answer(driver.path, { status: 200, body: HTML });
      expect(await rejection(client({ retry: FAST }).get())).toMatchObject({
        code: 'INVALID_RESPONSE',
        retryable: false,
      });
      expect(requests()).toHaveLength(1);
      server.answer(driver.path, ...times(3, { status: 502, body: HTML }));
      expect(await rejection(client({ retry: FAST }).get())).toMatchObject({
        code: 'EXCHANGE_FAILED',
        retryable: true,
        details: { status: 502 },
      });
      expect(requests()).toHaveLength(4);
    },
  },
  slow: {
    name: 'an answer after 300 ms, inside the time-out, is used and not retried',
    run: async ({ server, driver, client, requests }) => {
      const token = accessToken();
      server.answer(driver.path, () => ({ ...driver.success(token, driver.lifetime), delayMs: 300 }));
      expect(await client({ retry: FAST, requestTimeoutMs: 5_000 }).get()).toBe(token);
      expect(requests()).toHaveLength(1);
    },
  },
  'clock-skew': {
    name: 'JWTs from an STS clock 5 minutes ahead or behind: one exchange each, then cache hits for the token’s life',
    run: async ({ server, driver, sts, client, requests, ok }) => {
      vi.useFakeTimers({ toFake: ['Date'] });
      for (const skew of [300, -300]) {
        sts.skewSeconds = skew;
        const before = { requests: requests().length, jwts: sts.issued.length };
        const { answer, token } = ok();
        server.answer(driver.path, answer);
        const subject = client({ retry: FAST });
        expect(await subject.get()).toBe(token);
        // Still fresh well into its life (the refresh window is the last 300 s, or half a short life).
        vi.setSystemTime(Date.now() + (driver.lifetime - Math.min(300, driver.lifetime / 2) - 60) * 1000);
        expect(await subject.get()).toBe(token);
        expect(requests().length - before.requests).toBe(1);
        expect(sts.issued.length - before.jwts).toBe(1);
      }
    },
  },
  'expires-mid-request': {
    name: 'a token arriving with 5 s left is refused and fetched again; a JWT that expired on the way: TOKEN_REJECTED, and the next call presents a new one',
    run: async ({ server, driver, client, requests }) => {
      vi.useFakeTimers({ toFake: ['Date'] });
      // 1. The answer is slow: the 20 s token it carries has 5 s left when it arrives.
      const stale = accessToken();
      const fresh = accessToken();
      server.answer(
        driver.path,
        () => {
          const reply = driver.success(stale, 20);
          vi.setSystemTime(Date.now() + 15_000);
          return reply;
        },
        () => driver.success(fresh, driver.lifetime),
      );
      expect(await client({ retry: FAST }).get()).toBe(fresh);
      expect(requests()).toHaveLength(2);

      // 2. The presented credential expires while the request is on its way: the endpoint refuses it.
      // Not retried (the same credential would be refused again); the next call presents a new one.
      const subject = client({ retry: FAST });
      const token = accessToken();
      server.answer(
        driver.path,
        () => {
          vi.setSystemTime(Date.now() + (driver.presentedLifetime + 1) * 1000);
          return driver.expired.reply;
        },
        () => driver.success(token, driver.lifetime),
      );
      const error = await rejection(subject.get());
      expect(error).toMatchObject({ code: driver.expired.code, retryable: false });
      expect(requests()).toHaveLength(3);
      expect(await subject.get()).toBe(token);
      const [, , refused, next] = requests();
      expect(driver.presented(next!)).toBeTruthy();
      expect(driver.presented(next!)).not.toBe(driver.presented(refused!));
    },
  },
  abort: {
    name: 'an aborted caller rejects with the signal’s reason; the shared request fills the cache for the others',
    run: async ({ server, driver, client, requests }) => {
      const subject = client({ retry: FAST });
      const before = new AbortController();
      before.abort();
      await expect(subject.get(before.signal)).rejects.toMatchObject({ name: 'AbortError' });
      const token = accessToken();
      server.answer(driver.path, () => ({ ...driver.success(token, driver.lifetime), delayMs: 150 }));
      const controller = new AbortController();
      const aborted = subject.get(controller.signal);
      const patient = subject.get();
      await until(() => requests().length === 1);
      controller.abort(new DOMException('the caller gave up', 'AbortError'));
      await expect(aborted).rejects.toThrow('the caller gave up');
      expect(await patient).toBe(token);
      expect(await subject.get()).toBe(token);
      expect(requests()).toHaveLength(1);
    },
  },
  'refresh-fails': {
    name: 'inside the refresh window a failing refresh keeps the cached token served, then a later refresh replaces it',
    run: async ({ server, driver, client, requests, ok, lines }) => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const first = ok();
      server.answer(driver.path, first.answer);
      const subject = client({ retry: FAST });
      expect(await subject.get()).toBe(first.token);
      server.answer(driver.path, ...times(3, { status: 503, body: { error: 'temporarily_unavailable' } }));
      // Inside the refresh window (the last 300 s, or half a short life), well above the 10 s minimum.
      vi.setSystemTime(Date.now() + (driver.lifetime - Math.min(300, driver.lifetime / 2) + 30) * 1000);
      expect(await subject.get()).toBe(first.token);
      await until(() => lines.some((line) => line.includes('background refresh failed')));
      expect(requests()).toHaveLength(4);
      expect(await subject.get()).toBe(first.token);
      // After the pause that follows a failed background refresh, the next call refreshes again.
      const second = ok();
      server.answer(driver.path, second.answer);
      vi.setSystemTime(Date.now() + 10_000);
      expect(await subject.get()).toBe(first.token);
      await untilAsync(async () => (await subject.get()) === second.token);
      expect(requests()).toHaveLength(5);
    },
  },
};

/** `until` for conditions that need an await. */
async function untilAsync(condition: () => Promise<boolean>, turns = 2_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition never held');
}

/** Waits with setImmediate only (not faked), for use while setTimeout is faked; gives up after 10 s. */
async function untilReal(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition() && performance.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

async function settleReal(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Registers one `it` per fault the matrix assigns to the shared suite for `driver.endpoint`, titled
 * `[endpoint × fault] …` (the matrix and README refer to these titles).
 */
export function faultSuite(driver: EndpointDriver): void {
  describe(`${driver.endpoint}: fault suite`, () => {
    let server: ScriptedServer | undefined;
    afterEach(async () => {
      vi.useRealTimers();
      const unexpected = server?.unexpected ?? [];
      await server?.close();
      server = undefined;
      expect(unexpected.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    });

    for (const fault of suiteFaults(driver.endpoint)) {
      if (fault === 'process-exit') continue;
      const scenario = SCENARIOS[fault];
      it(`[${driver.endpoint} × ${fault}] ${FAULTS[fault].title}: ${scenario.name}`, async () => {
        server = await startScriptedServer();
        driver.prepare?.(server);
        const sts = fakeSts();
        const running = server;
        const { lines, logger } = recordingLogger();
        await scenario.run({
          server: running,
          sts,
          driver,
          lines,
          client: (options = {}) =>
            driver.create({ origin: running.origin, sts: sts.client, retry: FAST, logger, ...options }),
          requests: () => running.requestsTo(driver.path),
          ok: (lifetime = driver.lifetime) => {
            const token = accessToken();
            return { token, answer: () => driver.success(token, lifetime) };
          },
        });
      });
    }
  });
}
