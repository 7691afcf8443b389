/**
 * fast-check building blocks for the property tests of every adapter: arbitrary HTTP answers (as
 * `HttpResponse` objects for the mappers, and as `fetch` answers for the code that sends requests),
 * and the one property they all share: any input yields a result or a `KeylessError`, never another
 * exception, never a hang. Run counts are modest on purpose (the suite must stay fast).
 */
import type { HttpResponse, KeylessErrorCode } from '@keyless/core';
import { isKeylessError, parseRetryAfter } from '@keyless/core';
import fc from 'fast-check';
import { expect, vi } from 'vitest';

/**
 * A fixed seed keeps `pnpm test` deterministic; set KEYLESS_FC_SEED to explore other inputs (a failure
 * prints its seed and counterexample).
 */
const seed = Number(process.env.KEYLESS_FC_SEED ?? 20_261_122);
/** fast-check settings for a synchronous property. */
export const RUNS = { numRuns: 200, seed } as const;
/** For properties that go through `fetch` (stubbed): fewer runs, each bounded in time. */
export const ASYNC_RUNS = { numRuns: 80, timeout: 2_000, seed } as const;

/** Any JSON value, as `JSON.parse` would give it (plain objects): what a server could send. */
export const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.parse(JSON.stringify(value)) as unknown);

/** A value of any JSON type, for one field of an otherwise plausible body. */
export const fieldValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3, noNullPrototype: true }),
);

/** An object with some of `keys`, each of any type (plausible shape, implausible values). */
export function fieldsOf(keys: readonly string[]) {
  return fc.dictionary(fc.constantFrom(...keys), fieldValue, { maxKeys: keys.length, noNullPrototype: true });
}

/** A body as text: JSON of `shape`, any JSON, text, HTML, truncated JSON or nothing. */
export function bodyText(shape: fc.Arbitrary<unknown>) {
  return fc.oneof(
    shape.map((value) => JSON.stringify(value)),
    jsonValue.map((value) => JSON.stringify(value)),
    fc.string(),
    fc.constant('<!DOCTYPE html><html><body>Sign in</body></html>'),
    shape.map((value) => JSON.stringify(value)).map((text) => text.slice(0, Math.floor(text.length / 2))),
    fc.constant(''),
  );
}

export const status = fc.oneof(
  fc.constantFrom(200, 201, 204, 400, 401, 403, 404, 408, 429, 500, 502, 503),
  fc.integer({ min: 200, max: 599 }),
);

export const retryAfter = fc.option(
  fc.oneof(
    fc.integer({ min: -5, max: 100_000 }).map(String),
    fc.string(),
    fc.date().map((d) => d.toUTCString()),
  ),
  { nil: undefined },
);

/** An HTTP answer: what the stubbed `fetch` returns, or what a mapper is given. */
export interface Answer {
  status: number;
  text: string;
  contentType: string | undefined;
  retryAfter: string | undefined;
}

/**
 * Any answer with a body built around `shape`; when `plausible` is given, half of the answers are a 200
 * with JSON from it (mostly well-formed successes, so that success paths get exercised too).
 */
export function answer(shape: fc.Arbitrary<unknown>, plausible?: fc.Arbitrary<unknown>): fc.Arbitrary<Answer> {
  const any = fc.record({
    status,
    text: bodyText(shape),
    contentType: fc.option(
      fc.constantFrom('application/json', 'text/html', 'text/plain', 'application/json; charset=utf-8'),
      { nil: undefined },
    ),
    retryAfter,
  });
  if (!plausible) return any;
  const success = fc.record({
    status: fc.constantFrom(200, 200, 200, 201),
    text: plausible.map((value) => JSON.stringify(value)),
    contentType: fc.constant('application/json; charset=utf-8'),
    retryAfter: fc.constant(undefined),
  });
  return fc.oneof(any, success);
}

/** Seconds as servers send them, and as they should not. */
export const seconds = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 7_200 }), weight: 4 },
  fc.integer({ min: 1, max: 7_200 }).map(String),
  fc.constantFrom(0, -1, 1e12, Number.MAX_SAFE_INTEGER, 0.5, '3599 ', 'soon', null),
  fc.double(),
);

/** A token as servers send them, and as they should not. */
export const tokenValue = fc.oneof(
  { arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map((tail) => `tok_${tail}`), weight: 4 },
  { arbitrary: fc.constantFrom('', ' ', null, 42), weight: 1 },
);

/** The `HttpResponse` core's `sendHttpRequest` would build from the answer. */
export function toHttpResponse(a: Answer): HttpResponse {
  const headers = new Headers();
  if (a.contentType) headers.set('content-type', a.contentType);
  if (a.retryAfter !== undefined) headers.set('retry-after', a.retryAfter);
  let json: unknown;
  try {
    json = a.text.length > 0 ? JSON.parse(a.text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: a.status, headers, text: a.text, json, retryAfterMs: parseRetryAfter(a.retryAfter) };
}

const NULL_BODY = new Set([204, 205, 304]);

/** Makes global `fetch` answer every request with `a` (restore with `vi.unstubAllGlobals()`). */
export function answerFetchWith(a: Answer): void {
  vi.stubGlobal('fetch', async () => {
    const headers: Record<string, string> = {};
    if (a.contentType) headers['content-type'] = a.contentType;
    if (a.retryAfter !== undefined) headers['retry-after'] = a.retryAfter.replace(/[^\t\x20-\x7e]/g, '');
    return new Response(NULL_BODY.has(a.status) ? null : a.text, { status: a.status, headers });
  });
}

/** Runs `f`: it must return, or throw a `KeylessError` with one of `codes` (any code when omitted). */
export function resultOrKeylessError<T>(f: () => T, codes?: KeylessErrorCode[]): T | undefined {
  try {
    return f();
  } catch (error) {
    expectKeylessError(error, codes);
    return undefined;
  }
}

/** The async form of `resultOrKeylessError`. */
export async function settlesWithResultOrKeylessError<T>(
  promise: Promise<T>,
  codes?: KeylessErrorCode[],
): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    expectKeylessError(error, codes);
    return undefined;
  }
}

export function expectKeylessError(error: unknown, codes?: KeylessErrorCode[]): void {
  expect(isKeylessError(error), `threw something else than a KeylessError: ${String(error)}`).toBe(true);
  if (codes) expect(codes).toContain((error as { code: string }).code);
}

/** Checks what a parser made of a success: a usable token and a real expiry. */
export function expectUsableToken(token: string | undefined, expiresAt: Date): void {
  expect(typeof token).toBe('string');
  expect(token!.length).toBeGreaterThan(0);
  expect(expiresAt).toBeInstanceOf(Date);
  expect(Number.isNaN(expiresAt.getTime())).toBe(false);
}
