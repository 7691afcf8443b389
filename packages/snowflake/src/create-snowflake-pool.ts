import { createLogger, isKeylessError } from '@keyless/core';
import genericPool, { type Factory, type Pool, type Options as PoolOptions } from 'generic-pool';
import type { Connection } from 'snowflake-sdk';
import { openWith } from './connect-snowflake.js';
import { createConnectionOptionsResolver, type SnowflakeConnectionOptions } from './snowflake-connection-options.js';

export type { PoolOptions as SnowflakePoolOptions };

interface WaitingClients {
  dequeue(): { reject(reason: unknown): void } | undefined;
}

/**
 * A generic-pool `Pool` of snowflake-sdk connections, like snowflake-sdk's `createPool`, except that
 * each new connection logs in with freshly resolved options: snowflake-sdk's `token` is a fixed
 * string, so a pool built from one options object fails its first login after that JWT expired.
 * Options are checked now; snowflake-sdk is loaded when the first connection is created.
 */
export function createSnowflakePool(
  options: SnowflakeConnectionOptions,
  poolOptions: PoolOptions = {},
): Pool<Connection> {
  const resolve = createConnectionOptionsResolver(options);
  const log = createLogger(options.logger, 'snowflake');

  const factory: Factory<Connection> = {
    create: () => openWith(options, resolve, log),
    destroy: (connection) =>
      new Promise<void>((done) => {
        try {
          connection.destroy((error) => {
            if (error) log.debug(`closing pooled connection ${connection.getId()} failed: ${error.message}`);
            done();
          });
        } catch {
          done();
        }
      }),
    validate: async (connection) => {
      try {
        return await connection.isValidAsync();
      } catch {
        return false;
      }
    },
  };

  const pool = genericPool.createPool(factory, poolOptions);
  pool.on('factoryCreateError', (error: unknown) => {
    log.warn(
      `could not open a pooled connection (${isKeylessError(error) ? `${error.code}: ${error.message}` : 'unknown error'})`,
    );
    // generic-pool answers a failed create by creating again at once for as long as clients wait,
    // which would hammer STS and Snowflake: hand the waiting clients the error instead, as
    // snowflake-sdk's own createPool does (generic-pool 3.x keeps them in `_waitingClientsQueue`).
    const waiting = (pool as unknown as { _waitingClientsQueue?: WaitingClients })._waitingClientsQueue;
    for (let request = waiting?.dequeue(); request; request = waiting?.dequeue()) request.reject(error);
  });
  return pool;
}
