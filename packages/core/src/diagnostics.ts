import { channel } from 'node:diagnostics_channel';

/**
 * keyless publishes every error it builds and every log line it writes (redacted, at every level,
 * whether or not a logger is configured) on these `node:diagnostics_channel` channels, for APM tools
 * and for test suites that check nothing secret ever leaves. Publishing costs nothing without subscribers.
 */
export const DIAGNOSTICS_CHANNELS = {
  /** Message: `{ error: KeylessError }`. */
  error: 'keyless:error',
  /** Message: `{ level: 'debug' | 'info' | 'warn' | 'error', scope: string, message: string }`. */
  log: 'keyless:log',
} as const;

export const errorChannel = channel(DIAGNOSTICS_CHANNELS.error);
export const logChannel = channel(DIAGNOSTICS_CHANNELS.log);
