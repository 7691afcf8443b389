import { writeFile } from 'node:fs/promises';
import {
  checkInteger,
  checkOneOf,
  checkString,
  checkUrl,
  invalidConfig,
  SIGNING_ALGORITHMS,
  showValue,
} from '@keyless/core';
import { SUBJECT_TOKEN_TYPE } from './google-sts.js';
import { DEFAULT_AWS_DURATION_SECONDS, type GoogleTargetOptions, resolveGoogleTarget } from './google-target.js';

// Executable-sourced credentials ("pluggable auth"; google-auth-library PluggableAuthClient):
// timeout 5..120 s, default 30 s; the response format is the one `keyless token --format google-executable` prints.
const DEFAULT_TIMEOUT_MILLIS = 30_000;
const MIN_TIMEOUT_MILLIS = 5_000;
const MAX_TIMEOUT_MILLIS = 120_000;
const EXTERNAL_ACCOUNT_TYPE = 'external_account';
const KEYLESS_FORMAT = 'google-executable';
// Google's Python (gcloud) and Go (Terraform) libraries split the command on whitespace (str.split,
// strings.Fields) with no shell and no quoting; Node's groups "quoted words". Only words free of
// whitespace and quotes mean the same to every reader.
const COMMAND_WORD = /^[^\s"']+$/;

/** How `keyless token` gets the AWS JWT: each option becomes a command-line flag. */
export interface ExternalAccountAwsOptions {
  /** `--audience`. Default: the provider's resource name with the `https:` prefix. */
  audience?: string;
  /** `--region`. Else the CLI's own resolution (AWS_REGION, profile…). */
  region?: string;
  /** `--algorithm`; Google STS takes RS256 (the CLI's default). */
  signingAlgorithm?: 'RS256';
  /** `--duration`, 60..3600 s. Default 3600, as for `createGoogleAuthClient`. */
  durationSeconds?: number;
  /** `--endpoint`: an STS VPC endpoint or the keyless emulator. */
  endpoint?: string;
  /** `--profile`: the AWS shared-config profile. */
  profile?: string;
}

export interface ExternalAccountConfigOptions extends GoogleTargetOptions {
  aws?: ExternalAccountAwsOptions;
  /** The command that runs the keyless CLI, e.g. `/usr/local/bin/keyless` (words separated by spaces). Default `keyless`. */
  keylessCommand?: string;
  /** How long Google's libraries wait for the command, 5000..120000 ms. Default 30000. */
  timeoutMillis?: number;
  /** Where Google's libraries ask the command to cache its response (it holds the JWT: keep it private). */
  outputFile?: string;
}

/** The `external_account` credential configuration gcloud, Terraform and Google's client libraries read. */
export interface ExternalAccountConfig {
  type: 'external_account';
  audience: string;
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt';
  token_url: string;
  service_account_impersonation_url?: string;
  service_account_impersonation?: { token_lifetime_seconds: number };
  universe_domain: string;
  credential_source: {
    executable: { command: string; timeout_millis: number; output_file?: string };
  };
}

/**
 * The `external_account` JSON for this workload: Google's libraries run
 * `keyless token --audience <aud> --format google-executable` (an executable-sourced credential) to get
 * the AWS JWT, then trade it at Google STS. They only run executables when
 * `GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1` is set.
 */
export function externalAccountConfig(options: ExternalAccountConfigOptions): ExternalAccountConfig {
  if (typeof options !== 'object' || options === null) throw invalidConfig('gcp', 'options must be an object');
  const target = resolveGoogleTarget(options);
  const aws = options.aws ?? {};
  if (typeof aws !== 'object' || aws === null)
    throw invalidConfig('gcp', `aws must be an object, got ${showValue(aws)}`);
  const unknown = Object.keys(aws).filter(
    (k) => !['audience', 'region', 'signingAlgorithm', 'durationSeconds', 'endpoint', 'profile'].includes(k),
  );
  if (unknown.length > 0) {
    throw invalidConfig(
      'gcp',
      `aws.${unknown[0]} cannot be expressed as a keyless token flag; externalAccountConfig takes aws.audience, region, signingAlgorithm, durationSeconds, endpoint and profile`,
    );
  }

  const command = checkCommand(options.keylessCommand ?? 'keyless');
  const audience =
    aws.audience === undefined
      ? `https:${target.provider.name}`
      : checkString('gcp', 'aws.audience', aws.audience, { max: 1000 });
  const words = [...command, 'token', '--audience', word('aws.audience', audience)];
  if (aws.region !== undefined)
    words.push('--region', word('aws.region', checkString('gcp', 'aws.region', aws.region)));
  if (aws.signingAlgorithm !== undefined) {
    const algorithm = checkOneOf('gcp', 'aws.signingAlgorithm', aws.signingAlgorithm, SIGNING_ALGORITHMS);
    if (algorithm !== 'RS256') {
      throw invalidConfig(
        'gcp',
        `aws.signingAlgorithm must be RS256 for Google STS (it documents RS256 and ES256; AWS signs RS256 or ES384), got ${showValue(algorithm)}`,
      );
    }
    words.push('--algorithm', algorithm);
  }
  // The same one-hour default as createGoogleAuthClient: the federated token lives no longer than the JWT.
  const duration = aws.durationSeconds ?? DEFAULT_AWS_DURATION_SECONDS;
  words.push('--duration', String(checkInteger('gcp', 'aws.durationSeconds', duration, 60, 3600)));
  if (aws.endpoint !== undefined)
    words.push('--endpoint', word('aws.endpoint', checkUrl('gcp', 'aws.endpoint', aws.endpoint).href));
  if (aws.profile !== undefined)
    words.push('--profile', word('aws.profile', checkString('gcp', 'aws.profile', aws.profile)));
  words.push('--format', KEYLESS_FORMAT);

  const timeoutMillis = checkInteger(
    'gcp',
    'timeoutMillis',
    options.timeoutMillis ?? DEFAULT_TIMEOUT_MILLIS,
    MIN_TIMEOUT_MILLIS,
    MAX_TIMEOUT_MILLIS,
  );
  const outputFile =
    options.outputFile === undefined ? undefined : checkString('gcp', 'outputFile', options.outputFile);

  const { impersonation } = target;
  return {
    type: EXTERNAL_ACCOUNT_TYPE,
    audience: target.provider.name,
    subject_token_type: SUBJECT_TOKEN_TYPE,
    token_url: target.tokenUrl,
    ...(impersonation ? { service_account_impersonation_url: impersonation.url } : {}),
    ...(impersonation?.lifetimeConfigured
      ? { service_account_impersonation: { token_lifetime_seconds: impersonation.lifetimeSeconds } }
      : {}),
    universe_domain: target.universeDomain,
    credential_source: {
      executable: {
        command: words.join(' '),
        timeout_millis: timeoutMillis,
        ...(outputFile === undefined ? {} : { output_file: outputFile }),
      },
    },
  };
}

/**
 * Writes {@link externalAccountConfig} as JSON to `path` (for `GOOGLE_APPLICATION_CREDENTIALS`,
 * `gcloud auth login --cred-file`, Terraform's `credentials`) and returns it. The file holds no secret.
 */
export async function writeExternalAccountConfig(
  path: string,
  options: ExternalAccountConfigOptions,
): Promise<ExternalAccountConfig> {
  checkString('gcp', 'path', path);
  const config = externalAccountConfig(options);
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 });
  return config;
}

function checkCommand(value: unknown): string[] {
  const words = typeof value === 'string' ? value.trim().split(/\s+/) : [];
  if (words.length === 0 || words[0] === '' || !words.every((w) => COMMAND_WORD.test(w))) {
    throw invalidConfig(
      'gcp',
      `keylessCommand must be a command such as keyless or /usr/local/bin/keyless (words without quotes), got ${showValue(value)}`,
      "Google's libraries split the command on spaces and do not understand quotes: install keyless on a path without spaces.",
    );
  }
  return words;
}

function word(name: string, value: string): string {
  if (!COMMAND_WORD.test(value)) {
    throw invalidConfig(
      'gcp',
      `${name} cannot contain spaces or quotes: it becomes a word of the executable command, got ${showValue(value)}`,
    );
  }
  return value;
}
