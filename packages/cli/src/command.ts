import type { ParseArgsConfig } from 'node:util';
import type { CliIo, Style } from './io.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  io: CliIo;
  style: Style;
  debug: boolean;
}

/** One `keyless` sub-command: its options, its help and what it does. Returns the exit code. */
export interface Command {
  /** As typed: `token`, `setup aws`, `config gcp`. */
  name: string;
  summary: string;
  /** The help text after the usage line. */
  help: string;
  usage: string;
  options: OptionSpec;
  positionals?: { min: number; max: number };
  run(context: CommandContext): Promise<number>;
}

/** Options every AWS-facing command takes. */
export const AWS_OPTIONS: OptionSpec = {
  region: { type: 'string' },
  profile: { type: 'string' },
  endpoint: { type: 'string' },
};

export const AWS_OPTIONS_HELP = `AWS options (standard AWS configuration also applies: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_STS, …):
  --region <region>       STS region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's region)
  --profile <name>        shared config profile (sets AWS_PROFILE for this run)
  --endpoint <url>        STS endpoint (VPC endpoint, the keyless emulator)`;

export function stringOption(values: CommandContext['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listOption(values: CommandContext['values'], name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
