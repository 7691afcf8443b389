#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { serveEmulator, untilSignal } from './serve-emulator.js';

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
  const lab = await serveEmulator({
    ...(values.port === undefined ? {} : { port: Number(values.port) }),
    ...(values.region === undefined ? {} : { region: values.region }),
    ...(values['write-env'] === undefined ? {} : { writeEnv: values['write-env'] }),
    json: values.json,
    defaults: !values['no-defaults'],
    quiet: values.quiet,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  await untilSignal();
  await lab.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`keyless-emulator: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
