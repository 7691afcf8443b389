import { rename, writeFile } from 'node:fs/promises';
import { startEmulator } from './start-emulator.js';
import type { Emulator } from './types.js';

export interface ServeEmulatorOptions {
  /** Port of the AWS endpoint (STS, IAM, issuer); default: a free port. */
  port?: number;
  /** Region of the emulated STS; default us-east-1. */
  region?: string;
  /** Also write `KEY=value` lines there once every server is up (written whole, then renamed). */
  writeEnv?: string;
  /** Print the endpoint description as JSON instead of `export` lines. */
  json?: boolean;
  /** Start with the default principal and trust rules. Default true. */
  defaults?: boolean;
  /** No request log on `stderr`. */
  quiet?: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * Starts the emulator for use from other processes: writes its CA file, prints the environment that
 * points the AWS SDK, the Azure SDK, Vault clients and keyless at it (or its description as JSON), and
 * returns the running lab. Used by the `keyless-emulator` and `keyless emulator` commands.
 */
export async function serveEmulator(options: ServeEmulatorOptions): Promise<Emulator> {
  const log = (line: string) => options.stderr(`${line}\n`);
  const lab = await startEmulator({
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.region === undefined ? {} : { region: options.region }),
    defaults: options.defaults ?? true,
    ...(options.quiet ? {} : { logger: { debug: log, info: log, warn: log, error: log } }),
  });
  await lab.tls.writeCaFile();
  const env = lab.env();
  if (options.writeEnv) {
    // Written whole, then renamed: a CI step that waits for the file never reads half of it.
    const lines = Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join('');
    await writeFile(`${options.writeEnv}.tmp`, lines);
    await rename(`${options.writeEnv}.tmp`, options.writeEnv);
  }
  options.stdout(
    options.json
      ? `${JSON.stringify(lab.toJSON(), null, 2)}\n`
      : Object.entries(env)
          .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
          .join(''),
  );
  log(`keyless emulator ready at ${lab.url} (issuer ${lab.issuer}); stop with Ctrl-C`);
  return lab;
}

/** Resolves when the process receives SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
