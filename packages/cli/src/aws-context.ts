import type { AwsWebIdentityTokenOptions } from '@keyless/core';
import { type CommandContext, stringOption } from './command.js';
import { UsageError } from './usage-error.js';

/**
 * The AWS part of a command line as options for `fromAwsWebIdentityToken` and the SDK clients.
 * `--profile` is applied through AWS_PROFILE, which every AWS SDK credential and region source reads.
 */
export function awsOptions(context: CommandContext): Pick<AwsWebIdentityTokenOptions, 'region' | 'endpoint'> {
  const profile = stringOption(context.values, 'profile');
  if (profile !== undefined) {
    if (profile.trim() === '') throw new UsageError('--profile needs a profile name');
    process.env.AWS_PROFILE = profile;
    context.io.env.AWS_PROFILE = profile;
  }
  const region = stringOption(context.values, 'region');
  const endpoint = stringOption(context.values, 'endpoint');
  return { ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) };
}

/** Parses `--duration`: whole seconds. */
export function durationOption(context: CommandContext): number | undefined {
  const raw = stringOption(context.values, 'duration');
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (!/^\d+$/.test(raw) || seconds < 60 || seconds > 3600) {
    throw new UsageError(`--duration must be whole seconds 60..3600, got ${JSON.stringify(raw)}`);
  }
  return seconds;
}

/** Parses repeated `--tag key=value`. */
export function tagOptions(values: string[]): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const item of values) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`--tag must look like key=value, got ${JSON.stringify(item)}`);
    tags[item.slice(0, at)] = item.slice(at + 1);
  }
  return tags;
}
