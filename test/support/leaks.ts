import { expect } from 'vitest';

/** Every string an error exposes: message, hint, details, stack, own properties, the cause chain. */
export function errorText(error: unknown, depth = 0): string {
  if (depth > 5 || error === null || error === undefined) return '';
  if (typeof error !== 'object') return String(error);
  const parts: string[] = [];
  const record = error as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(error)) {
    const value = record[key];
    if (key === 'cause') continue;
    parts.push(typeof value === 'string' ? value : safeJson(value));
  }
  if (error instanceof Error) {
    parts.push(error.message, error.stack ?? '', String(error));
    parts.push(errorText(error.cause, depth + 1));
  }
  if (typeof (record as { toJSON?: unknown }).toJSON === 'function') parts.push(safeJson(error));
  return parts.join('\n');
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

/** A logger that records every line at every level. */
export function recordingLogger() {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push(`${level} ${args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' ')}`);
  return {
    lines,
    logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') },
  };
}

/** Fails when any text contains any secret, or a fragment of one long enough to matter. */
export function expectNoSecrets(texts: Iterable<string>, secrets: Iterable<string>): void {
  const needles: string[] = [];
  for (const secret of secrets) {
    if (!secret) continue;
    needles.push(secret);
    // A JWT's payload or signature alone is as bad as the whole token.
    for (const part of secret.split('.')) if (part.length >= 16) needles.push(part);
  }
  for (const text of texts) {
    for (const needle of needles) {
      expect(text.includes(needle), `leaked a secret fragment: …${needle.slice(0, 8)}…`).toBe(false);
    }
  }
}
