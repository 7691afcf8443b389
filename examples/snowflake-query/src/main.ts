/**
 * Logs in to Snowflake with the AWS identity this process runs as (no password, key or token stored
 * anywhere) and prints the result of SELECT CURRENT_USER().
 *
 *   pnpm start    # against the keyless emulator, started in this process
 *   SNOWFLAKE_ACCOUNT=myorg-myaccount AWS_REGION=us-east-1 pnpm start    # against Snowflake
 *
 * `run(options)` does the work and takes the options from anywhere; `main()` builds them from the
 * environment.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isKeylessError } from '@keyless/core';
import { connectSnowflake, type SnowflakeConnectionOptions } from '@keyless/snowflake';
import type { Connection } from 'snowflake-sdk';

const USAGE = `Set SNOWFLAKE_ACCOUNT to run this example against Snowflake:

  SNOWFLAKE_ACCOUNT    account identifier, e.g. myorg-myaccount (required)
  SNOWFLAKE_USER       LOGIN_NAME of the service user (optional: Snowflake finds it by its identity)
  SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE   session defaults (optional)
  SNOWFLAKE_HOST       the account's host, if it is not <account>.snowflakecomputing.com (optional)
  SNOWFLAKE_WIF_PROVIDER  OIDC (default: keyless mints the AWS JWT) or AWS (snowflake-sdk mints it)
  AWS_REGION           the STS region (or AWS_DEFAULT_REGION / your AWS profile); AWS credentials come
                       from the usual chain (role, AWS_PROFILE, environment)

Without any SNOWFLAKE_* setting above it runs against the keyless emulator instead. See README.md for
the Snowflake user (CREATE USER ... WORKLOAD_IDENTITY = ...) and the IAM policy.`;

/** Connects, runs SELECT CURRENT_USER() and closes the connection. Returns the user name. */
export async function run(connectionOptions: SnowflakeConnectionOptions): Promise<string> {
  const connection = await connectSnowflake(connectionOptions);
  try {
    const rows = await query(connection, 'SELECT CURRENT_USER()');
    const user = rows[0]?.['CURRENT_USER()'];
    if (typeof user !== 'string') throw new Error('SELECT CURRENT_USER() returned no row');
    return user;
  } finally {
    await new Promise<void>((resolve) => connection.destroy(() => resolve()));
  }
}

/** The connection options from the environment, or `undefined` when SNOWFLAKE_ACCOUNT is not set. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): SnowflakeConnectionOptions | undefined {
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const account = value('SNOWFLAKE_ACCOUNT');
  if (!account) return undefined;
  const provider = value('SNOWFLAKE_WIF_PROVIDER')?.toUpperCase() ?? 'OIDC';
  if (provider !== 'OIDC' && provider !== 'AWS') {
    throw new Error(`SNOWFLAKE_WIF_PROVIDER must be OIDC or AWS, got ${provider}`);
  }
  const optional = {
    username: value('SNOWFLAKE_USER'),
    role: value('SNOWFLAKE_ROLE'),
    warehouse: value('SNOWFLAKE_WAREHOUSE'),
    host: value('SNOWFLAKE_HOST'),
  };
  return {
    account,
    provider,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}

function query(connection: Connection, sqlText: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    connection.execute({
      sqlText,
      complete: (error, _statement, rows) =>
        error ? reject(error) : resolve((rows ?? []) as Record<string, unknown>[]),
    });
  });
}

/** Set without SNOWFLAKE_ACCOUNT, these are a mistake; with none of them the example uses the emulator. */
const OTHER_SETTINGS = [
  'SNOWFLAKE_USER',
  'SNOWFLAKE_ROLE',
  'SNOWFLAKE_WAREHOUSE',
  'SNOWFLAKE_HOST',
  'SNOWFLAKE_WIF_PROVIDER',
] as const;

/**
 * Builds the options from the environment, connects and prints the user; returns the process exit code.
 * Without SNOWFLAKE_ACCOUNT (and the other settings above) it runs against the keyless emulator, started
 * in this process.
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let options: SnowflakeConnectionOptions | undefined;
  try {
    options = optionsFromEnv(env);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    return 1;
  }
  if (!options) {
    if (OTHER_SETTINGS.some((name) => env[name]?.trim())) {
      console.error(`Missing SNOWFLAKE_ACCOUNT.\n\n${USAGE}`);
      return 1;
    }
    return runAgainstEmulator(env);
  }
  return connectAndPrint(options, env);
}

/** The same login and query against the emulator's Snowflake endpoint (`accessUrl`), with its STS. */
async function runAgainstEmulator(env: NodeJS.ProcessEnv): Promise<number> {
  // Offline means offline: no instance-metadata or STS probes when snowflake-sdk loads.
  process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';
  const { startEmulator } = await import('@keyless/emulator');
  const lab = await startEmulator();
  try {
    console.log(
      `No SNOWFLAKE_ACCOUNT set: using the keyless emulator on 127.0.0.1 (Snowflake ${lab.snowflake.accessUrl}).`,
    );
    return await connectAndPrint(
      {
        account: lab.snowflake.account,
        // WORKLOAD_IDENTITY logins go to Snowflake hosts only: the host names one, accessUrl reaches the lab.
        host: lab.snowflake.host,
        accessUrl: lab.snowflake.accessUrl,
        aws: { endpoint: lab.stsEndpoint, region: lab.region, credentials: lab.credentials },
        sfRetryMaxLoginRetries: 0,
      },
      env,
    );
  } finally {
    await lab.close();
  }
}

async function connectAndPrint(options: SnowflakeConnectionOptions, env: NodeJS.ProcessEnv): Promise<number> {
  try {
    // Configure the driver this example uses, and hand the same module to keyless. (snowflake-sdk logs
    // at INFO to the console and to ./snowflake.log unless told otherwise.)
    const snowflake = (await import('snowflake-sdk')).default;
    snowflake.configure({ logLevel: 'WARN', customLogger: console });
    const user = await run({ ...options, snowflake, ...(env.KEYLESS_DEBUG ? { logger: console } : {}) });
    console.log(`Connected to Snowflake as ${user}`);
    return 0;
  } catch (error) {
    console.error(isKeylessError(error) ? String(error) : error instanceof Error ? error.message : error);
    return 1;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) process.exitCode = await main();
