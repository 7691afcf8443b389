import type { EndpointName, Fault, FaultOptions, Faults, Target } from './types.js';

export type FaultKind = Fault['kind'];

export interface FaultParams {
  ms?: number;
  status?: number;
  retryAfterSeconds?: number;
}

interface FaultEntry extends FaultParams {
  target: Target;
  kind: FaultKind;
  remaining: number;
}

/** What happens to one request: a delay, then possibly an injected failure instead of the real answer. */
export interface FaultOutcome {
  delayMs: number;
  failure?: { kind: Exclude<FaultKind, 'latency'> } & FaultParams;
}

const SERVICES = new Set(['sts', 'iam', 'issuer', 'entra', 'blob', 'google', 'snowflake', 'oidc', 'vault']);

export function matchesTarget(target: Target, endpoint: EndpointName): boolean {
  return target === '*' || target === endpoint || endpoint.startsWith(`${target}:`);
}

function checkTarget(target: unknown): Target {
  if (typeof target !== 'string' || !(target === '*' || SERVICES.has(target) || /^[a-z]+:[\w-]+$/.test(target))) {
    throw new TypeError(
      `fault target must be '*', a service (${[...SERVICES].join(', ')}) or an endpoint like 'sts:GetWebIdentityToken', got ${String(target)}`,
    );
  }
  return target as Target;
}

function checkTimes(times: unknown, fallback: number): number {
  if (times === undefined) return fallback;
  if (times === Number.POSITIVE_INFINITY) return times;
  if (typeof times !== 'number' || !Number.isInteger(times) || times < 1) {
    throw new TypeError(`times must be a positive integer or Infinity, got ${String(times)}`);
  }
  return times;
}

export interface FaultRegistry extends Faults {
  /** Consumes the faults that apply to one request to `endpoint`. */
  take(endpoint: EndpointName): FaultOutcome;
}

export function createFaults(): FaultRegistry {
  let entries: FaultEntry[] = [];

  const add = (target: Target, kind: FaultKind, params: FaultParams, times: number): Fault => {
    const entry: FaultEntry = { target: checkTarget(target), kind, remaining: times, ...params };
    entries.push(entry);
    return handle(entry);
  };
  const handle = (entry: FaultEntry): Fault => ({
    target: entry.target,
    kind: entry.kind,
    get remaining() {
      return entry.remaining;
    },
    remove() {
      entries = entries.filter((e) => e !== entry);
    },
  });

  return {
    latency(target, ms, options: FaultOptions = {}) {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        throw new TypeError(`latency ms must be a number >= 0, got ${String(ms)}`);
      }
      return add(target, 'latency', { ms }, checkTimes(options.times, Number.POSITIVE_INFINITY));
    },
    serverError(target, options = {}) {
      const status = options.status ?? 503;
      if (![500, 502, 503, 504].includes(status)) {
        throw new TypeError(`serverError status must be 500, 502, 503 or 504, got ${String(status)}`);
      }
      return add(target, 'server-error', { status }, checkTimes(options.times, 1));
    },
    throttle(target, options = {}) {
      const retryAfterSeconds = options.retryAfterSeconds ?? 1;
      if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
        throw new TypeError(`throttle retryAfterSeconds must be an integer >= 0, got ${String(retryAfterSeconds)}`);
      }
      if (options.status !== undefined && (!Number.isInteger(options.status) || options.status < 400)) {
        throw new TypeError(`throttle status must be an HTTP error status, got ${String(options.status)}`);
      }
      return add(
        target,
        'throttle',
        { retryAfterSeconds, ...(options.status === undefined ? {} : { status: options.status }) },
        checkTimes(options.times, 1),
      );
    },
    dropConnection(target, options = {}) {
      return add(target, 'drop-connection', {}, checkTimes(options.times, 1));
    },
    list() {
      return entries.map(handle);
    },
    clear(target) {
      entries = target === undefined ? [] : entries.filter((e) => e.target !== target);
    },
    take(endpoint) {
      let delayMs = 0;
      let failure: FaultOutcome['failure'];
      for (const entry of entries) {
        if (entry.remaining <= 0 || !matchesTarget(entry.target, endpoint)) continue;
        if (entry.kind === 'latency') {
          delayMs += entry.ms ?? 0;
          entry.remaining--;
        } else if (!failure) {
          const { kind, status, retryAfterSeconds } = entry;
          failure = {
            kind,
            ...(status === undefined ? {} : { status }),
            ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
          };
          entry.remaining--;
        }
      }
      entries = entries.filter((e) => e.remaining > 0);
      return failure ? { delayMs, failure } : { delayMs };
    },
  };
}
