import { logChannel } from './diagnostics.js';
import { redactSecrets } from './redact.js';

/** Anything with these four methods works, `console` included. keyless is silent by default. */
export interface Logger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * Wraps a user's logger so that every line keyless writes is one redacted string with a
 * `[keyless:<scope>]` prefix. Extra arguments are never forwarded: a stray object is the easiest way
 * to leak a token into logs.
 */
export function createLogger(logger: Partial<Logger> | undefined, scope: string): Logger {
  const out = {} as Logger;
  for (const level of LEVELS) {
    const write = logger?.[level];
    out[level] = (message: string) => {
      if (typeof write !== 'function' && !logChannel.hasSubscribers) return;
      const line = `[keyless:${scope}] ${redactSecrets(message)}`;
      if (logChannel.hasSubscribers) logChannel.publish({ level, scope, message: line });
      if (typeof write !== 'function') return;
      try {
        write.call(logger, line);
      } catch {
        // A broken logger must not break token acquisition.
      }
    };
  }
  return out;
}
