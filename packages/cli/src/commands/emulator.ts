import { type Command, stringOption } from '../command.js';
import { UsageError } from '../usage-error.js';

export const emulatorCommand: Command = {
  name: 'emulator',
  summary: 'run the keyless emulator (local STS, issuer, Entra ID, Google, Snowflake, OAuth, Vault) in the foreground',
  usage: 'keyless emulator [--port <n>] [--region <r>] [--write-env <path>] [--json] [--no-defaults] [--quiet]',
  help: `Starts @keyless/emulator on 127.0.0.1 and keeps it running until Ctrl-C (SIGINT) or SIGTERM.
Prints the environment (shell \`export\` lines) that points the AWS SDK, the Azure SDK, Vault clients,
keyless and \`keyless doctor\` at it, with NODE_EXTRA_CA_CERTS naming a CA file for its HTTPS endpoints:

  keyless emulator --quiet --write-env .env.emulator > /dev/null &
  set -a; . ./.env.emulator; set +a      # once the file exists

Options:
  --port <n>              port of the AWS endpoint (STS, IAM, issuer); default: a free port
  --region <r>            region of the emulated STS; default us-east-1
  --write-env <path>      also write KEY=value lines there once every server is up (CI can wait for it)
  --json                  print the endpoint description as JSON instead of export lines
  --no-defaults           start without the default principal and trust rules
  --quiet                 no request log on standard error`,
  options: {
    port: { type: 'string' },
    region: { type: 'string' },
    'write-env': { type: 'string' },
    json: { type: 'boolean' },
    'no-defaults': { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  async run({ values, io }) {
    const port = stringOption(values, 'port');
    if (port !== undefined && !/^\d+$/.test(port))
      throw new UsageError(`--port must be a port number, got ${JSON.stringify(port)}`);
    const region = stringOption(values, 'region');
    const writeEnv = stringOption(values, 'write-env');
    const { serveEmulator, untilSignal } = await import('@keyless/emulator');
    const lab = await serveEmulator({
      ...(port === undefined ? {} : { port: Number(port) }),
      ...(region === undefined ? {} : { region }),
      ...(writeEnv === undefined ? {} : { writeEnv }),
      json: values.json === true,
      defaults: values['no-defaults'] !== true,
      quiet: values.quiet === true,
      stdout: io.stdout,
      stderr: io.stderr,
    });
    await untilSignal();
    await lab.close();
    return 0;
  },
};
