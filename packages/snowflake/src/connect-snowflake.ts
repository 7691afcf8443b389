import { createLogger, KeylessError, type Logger } from '@keyless/core';
import type { Connection, ConnectionOptions } from 'snowflake-sdk';
import { loadSnowflakeSdk, type SnowflakeSdk } from './load-snowflake-sdk.js';
import {
  type ConnectionOptionsResolver,
  createConnectionOptionsResolver,
  type SnowflakeConnectionOptions,
} from './snowflake-connection-options.js';
import { mapSnowflakeError, type SnowflakeLoginContext } from './snowflake-errors.js';

/**
 * A connected snowflake-sdk `Connection`, logged in with the workload identity, or a `KeylessError`.
 * Uses `connect(callback)`: snowflake-sdk's `connectAsync()` resolves even when the login fails.
 */
export async function connectSnowflake(
  options: SnowflakeConnectionOptions,
  request: { signal?: AbortSignal } = {},
): Promise<Connection> {
  const resolve = createConnectionOptionsResolver(options);
  return openWith(options, resolve, createLogger(options.logger, 'snowflake'), request.signal);
}

/** Resolves fresh options and the SDK side by side, then logs in. Shared with the pool factory. */
export async function openWith(
  options: Pick<SnowflakeConnectionOptions, 'snowflake' | 'logger'>,
  resolve: ConnectionOptionsResolver,
  log: Logger,
  signal?: AbortSignal,
): Promise<Connection> {
  const sdkPromise = options.snowflake ? Promise.resolve(options.snowflake) : loadSnowflakeSdk(options.logger);
  // Not awaited yet: a failed token fetch must not leave a rejected SDK load unhandled.
  sdkPromise.catch(() => {});
  const resolved = await resolve(signal ? { signal } : {});
  let sdk: SnowflakeSdk;
  try {
    sdk = await sdkPromise;
  } catch (error) {
    throw new KeylessError({
      code: 'INVALID_CONFIG',
      provider: 'snowflake',
      message: `Could not load snowflake-sdk: ${error instanceof Error ? error.message : String(error)}`,
      hint: 'Install it next to @keyless/snowflake (npm install snowflake-sdk): it is a peer dependency.',
      cause: error,
    });
  }
  signal?.throwIfAborted();
  return openConnection(sdk, resolved.connectionOptions, resolved.context, log, signal);
}

/** `createConnection` + `connect(callback)`, every outcome mapped to a `KeylessError`. */
export function openConnection(
  sdk: SnowflakeSdk,
  connectionOptions: ConnectionOptions,
  context: SnowflakeLoginContext,
  log: Logger,
  signal?: AbortSignal,
): Promise<Connection> {
  let connection: Connection;
  try {
    connection = sdk.createConnection(connectionOptions);
  } catch (error) {
    return Promise.reject(mapSnowflakeError(error, context));
  }
  return new Promise<Connection>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // snowflake-sdk may call back twice (connect() also routes errors thrown after a callback to it).
    const done = (error: unknown, connected: Connection | undefined) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) {
        // Aborted while logging in: nobody will use this session, so close it.
        if (!error && connected?.isUp()) connected.destroy(() => {});
        return;
      }
      settled = true;
      if (error) {
        const mapped = mapSnowflakeError(error, context);
        log.debug(`login to ${context.host} failed: ${mapped.code}: ${mapped.message}`);
        reject(mapped);
        return;
      }
      if (!connected?.isUp()) {
        reject(
          new KeylessError({
            code: 'INVALID_RESPONSE',
            provider: 'snowflake',
            message: `snowflake-sdk reported a login to ${context.host} without an open session.`,
            retryable: true,
          }),
        );
        return;
      }
      log.debug(`logged in to ${context.host} (connection ${connected.getId()}, provider ${context.provider})`);
      resolve(connected);
    };
    try {
      connection.connect((error, connected) => {
        try {
          done(error, connected);
        } catch (unexpected) {
          log.debug(`unexpected error after login: ${unexpected instanceof Error ? unexpected.message : 'unknown'}`);
        }
      });
    } catch (error) {
      done(error, undefined);
    }
  });
}
