import { writeFile } from 'node:fs/promises';
import { type Command, stringOption } from '../command.js';
import { UsageError } from '../usage-error.js';

export const configGcpCommand: Command = {
  name: 'config gcp',
  summary: 'print the external_account JSON that gcloud, Terraform and Google client libraries read',
  usage: 'keyless config gcp --provider <resource name> [--service-account <email>] [options]',
  help: `Prints (or writes with --output) a credential configuration whose executable source runs
\`keyless token … --format google-executable\`. Point GOOGLE_APPLICATION_CREDENTIALS (or
\`gcloud auth login --cred-file\`, Terraform's \`credentials\`) at it, and set
GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1: Google's libraries only run executables when it is set.

Options:
  --provider <name>       the workload identity provider, //iam.googleapis.com/projects/<number>/
                          locations/global/workloadIdentityPools/<pool>/providers/<provider>
  --service-account <e>   impersonate this service account (else the federated token is used directly)
  --lifetime <seconds>    lifetime of the impersonated token, 600..43200
  --universe-domain <d>   default googleapis.com
  --token-url <url>       Google STS token URL (default https://sts.<universe>/v1/token)
  --audience <aud>        the AWS JWT audience (default https: + the provider name)
  --region <region>       --profile <name>   --endpoint <url>   --duration <seconds>
                          passed on to \`keyless token\`
  --command <path>        how to run keyless (default: keyless), e.g. /usr/local/bin/keyless
  --timeout <ms>          how long Google's libraries wait for the command, 5000..120000
  --output-file <path>    where Google's libraries ask the command to cache its response (private!)
  --output <path>         write the configuration there (mode 0600) instead of printing it`,
  options: {
    provider: { type: 'string' },
    'service-account': { type: 'string' },
    lifetime: { type: 'string' },
    'universe-domain': { type: 'string' },
    'token-url': { type: 'string' },
    audience: { type: 'string' },
    region: { type: 'string' },
    profile: { type: 'string' },
    endpoint: { type: 'string' },
    duration: { type: 'string' },
    command: { type: 'string' },
    timeout: { type: 'string' },
    'output-file': { type: 'string' },
    output: { type: 'string' },
  },
  async run({ values, io }) {
    const provider = stringOption(values, 'provider');
    if (!provider) throw new UsageError('--provider is required (the workload identity provider resource name)');
    const number = (name: string): number | undefined => {
      const raw = stringOption(values, name);
      if (raw === undefined) return undefined;
      if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
      return Number(raw);
    };
    const optional = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });
    const { externalAccountConfig } = await import('@keyless/gcp');
    const config = externalAccountConfig({
      audience: provider,
      ...optional('serviceAccountEmail', stringOption(values, 'service-account')),
      ...optional('tokenLifetimeSeconds', number('lifetime')),
      ...optional('universeDomain', stringOption(values, 'universe-domain')),
      ...optional('tokenUrl', stringOption(values, 'token-url')),
      ...optional('keylessCommand', stringOption(values, 'command')),
      ...optional('timeoutMillis', number('timeout')),
      ...optional('outputFile', stringOption(values, 'output-file')),
      aws: {
        ...optional('audience', stringOption(values, 'audience')),
        ...optional('region', stringOption(values, 'region')),
        ...optional('profile', stringOption(values, 'profile')),
        ...optional('endpoint', stringOption(values, 'endpoint')),
        ...optional('durationSeconds', number('duration')),
      },
    });
    const json = `${JSON.stringify(config, null, 2)}\n`;
    const output = stringOption(values, 'output');
    if (output) {
      await writeFile(output, json, { mode: 0o600 });
      io.stderr(`wrote ${output}\n`);
    } else {
      io.stdout(json);
    }
    return 0;
  },
};
