import { KeylessError, type KeylessProvider } from './errors.js';

/** Builds the `INVALID_CONFIG` error every option check throws: it names the option and what it accepts. */
export function invalidConfig(provider: KeylessProvider, message: string, hint?: string): KeylessError {
  return new KeylessError({ code: 'INVALID_CONFIG', provider, message, ...(hint === undefined ? {} : { hint }) });
}

/** A short, quoted rendering of a rejected value for an error message. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

export function checkString(
  provider: KeylessProvider,
  name: string,
  value: unknown,
  { min = 1, max = Number.POSITIVE_INFINITY }: { min?: number; max?: number } = {},
): string {
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    const range = max === Number.POSITIVE_INFINITY ? `at least ${min} characters` : `${min}..${max} characters`;
    throw invalidConfig(provider, `${name} must be a string of ${range}, got ${showValue(value)}`);
  }
  return value;
}

export function checkOptionalString(
  provider: KeylessProvider,
  name: string,
  value: unknown,
  limits?: { min?: number; max?: number },
): string | undefined {
  return value === undefined ? undefined : checkString(provider, name, value, limits);
}

export function checkInteger(
  provider: KeylessProvider,
  name: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidConfig(provider, `${name} must be an integer ${min}..${max}, got ${showValue(value)}`);
  }
  return value;
}

export function checkNumber(provider: KeylessProvider, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw invalidConfig(provider, `${name} must be a number ${min}..${max}, got ${showValue(value)}`);
  }
  return value;
}

export function checkOneOf<const T extends string>(
  provider: KeylessProvider,
  name: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidConfig(provider, `${name} must be one of ${allowed.join(', ')}, got ${showValue(value)}`);
  }
  return value as T;
}

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True for 127.0.0.1, localhost and [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

/**
 * An absolute http(s) URL. `allowHttp`: `true` accepts any http URL, `false` only https, and
 * `'loopback'` (for endpoints that receive a token or an assertion) https anywhere but plain http only
 * on 127.0.0.1, localhost and [::1] (the emulator, tests).
 */
export function checkUrl(
  provider: KeylessProvider,
  name: string,
  value: unknown,
  { allowHttp = true }: { allowHttp?: boolean | 'loopback' } = {},
): URL {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  const protocols = allowHttp === false ? ['https:'] : ['https:', 'http:'];
  if (!url || !protocols.includes(url.protocol)) {
    const kind = allowHttp === true ? 'http(s)' : 'https';
    throw invalidConfig(provider, `${name} must be an absolute ${kind} URL, got ${showValue(value)}`);
  }
  if (allowHttp === 'loopback' && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw invalidConfig(
      provider,
      `${name} must use https (http is only allowed on 127.0.0.1, localhost and [::1]), got ${showValue(value)}`,
      'Tokens and assertions are bearer credentials: never send them over plain HTTP.',
    );
  }
  return url;
}

export function checkFunction<F>(provider: KeylessProvider, name: string, value: unknown): F {
  if (typeof value !== 'function') throw invalidConfig(provider, `${name} must be a function, got ${showValue(value)}`);
  return value as F;
}

/** `undefined` when unset or empty (an empty environment variable counts as unset). */
export function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
