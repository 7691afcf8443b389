#!/usr/bin/env node
import { rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startEmulator } from './start-emulator.js';

const USAGE = `Usage: keyless-emulator [--port <n>] [--region <r>] [--write-env <path>] [--json] [--no-defaults] [--quiet]

Starts the keyless emulator on 127.0.0.1 and keeps it running until SIGINT or SIGTERM.
Prints the environment (shell \`export\` lines) that points the AWS SDK, the Azure SDK, Vault clients and
keyless at it, with NODE_EXTRA_CA_CERTS naming a CA file for its HTTPS endpoints.

  --port <n>          port of the AWS endpoint (STS, IAM, issuer); default: a free port
  --region <r>        region of the emulated STS; default us-east-1
  --write-env <path>  also write KEY=value lines there once every server is up (CI can wait for it)
  --json              print the endpoint description as JSON instead of export lines
  --no-defaults       start without the default principal and trust rules
  --quiet             no request log on stderr`;

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      region: { type: 'string' },
      'write-env': { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-defaults': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const lab = await startEmulator({
    ...(values.port === undefined ? {} : { port: Number(values.port) }),
    ...(values.region === undefined ? {} : { region: values.region }),
    defaults: !values['no-defaults'],
    ...(values.quiet ? {} : { logger: { debug: log, info: log, warn: log, error: log } }),
  });
  await lab.tls.writeCaFile();
  const env = lab.env();
  if (values['write-env']) {
    // Written whole, then renamed: a CI step that waits for the file never reads half of it.
    const target = values['write-env'];
    await writeFile(
      `${target}.tmp`,
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    await rename(`${target}.tmp`, target);
  }
  process.stdout.write(
    values.json
      ? `${JSON.stringify(lab.toJSON(), null, 2)}\n`
      : Object.entries(env)
          .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
          .join(''),
  );
  log(`keyless emulator ready at ${lab.url} (issuer ${lab.issuer}); stop with Ctrl-C`);
  const stop = () => {
    lab.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`keyless-emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
