import { SIGNING_ALGORITHMS } from '@keyless/core';
import { awsOptions } from '../aws-context.js';
import { type Command, listOption, stringOption } from '../command.js';
import { enableFederation, getFederationInfo } from '../federation.js';
import { UsageError } from '../usage-error.js';

export interface PolicyOptions {
  audiences: string[];
  algorithm: string;
  maxDurationSeconds: number;
  tagKeys: string[];
}

/**
 * The least-privilege identity policy for GetWebIdentityToken. `sts:IdentityTokenAudience` is
 * multi-valued, so it is tested with ForAllValues plus a Null guard (ForAllValues alone is true
 * for a request without the key); keyless always sends DurationSeconds, so the numeric test has a value.
 */
export function webIdentityTokenPolicy(options: PolicyOptions): object {
  const statements: object[] = [
    {
      Sid: 'KeylessGetWebIdentityToken',
      Effect: 'Allow',
      Action: 'sts:GetWebIdentityToken',
      Resource: '*',
      Condition: {
        'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': options.audiences },
        Null: { 'sts:IdentityTokenAudience': 'false' },
        StringEquals: { 'sts:SigningAlgorithm': options.algorithm },
        NumericLessThanEquals: { 'sts:DurationSeconds': options.maxDurationSeconds },
      },
    },
  ];
  if (options.tagKeys.length > 0) {
    statements.push({
      Sid: 'KeylessTagGetWebIdentityToken',
      Effect: 'Allow',
      Action: 'sts:TagGetWebIdentityToken',
      Resource: '*',
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': options.tagKeys } },
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

export const setupAwsCommand: Command = {
  name: 'setup aws',
  summary: 'check (and with --enable, turn on) outbound federation; print the IAM policy to attach',
  usage: 'keyless setup aws --audience <aud> [--audience <aud>…] [--enable] [options]',
  help: `Reports whether outbound identity federation is enabled for the account and prints its issuer
on standard error, then prints the IAM identity policy the workload's role needs on standard output
(pipe it to a file or to \`aws iam put-role-policy --policy-document file:///dev/stdin\`).
Nothing is changed unless --enable is given.

Options:
  --audience <aud>        an audience the role may request; repeatable (required)
  --algorithm <alg>       the signing algorithm to allow: RS256 (default) or ES384
  --max-duration <s>      the longest token lifetime to allow, 60..3600 (default 900)
  --tag-key <key>         a request-tag key to allow (adds sts:TagGetWebIdentityToken); repeatable
  --enable                enable outbound federation if it is off (iam:EnableOutboundWebIdentityFederation;
                          an account already enabled is left as it is)
  --policy-only           skip the IAM status check, print only the policy
  --region <region>       picks the partition (aws, aws-cn, aws-us-gov)
  --profile <name>        shared config profile`,
  options: {
    audience: { type: 'string', multiple: true },
    algorithm: { type: 'string' },
    'max-duration': { type: 'string' },
    'tag-key': { type: 'string', multiple: true },
    enable: { type: 'boolean' },
    'policy-only': { type: 'boolean' },
    region: { type: 'string' },
    profile: { type: 'string' },
  },
  async run(context) {
    const { values, io, style } = context;
    const audiences = listOption(values, 'audience');
    if (audiences.length === 0) throw new UsageError('--audience is required (the audience your target expects)');
    const algorithm = stringOption(values, 'algorithm') ?? 'RS256';
    if (!(SIGNING_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new UsageError(`--algorithm must be RS256 or ES384, got ${JSON.stringify(algorithm)}`);
    }
    const maxRaw = stringOption(values, 'max-duration') ?? '900';
    const maxDurationSeconds = Number(maxRaw);
    if (!/^\d+$/.test(maxRaw) || maxDurationSeconds < 60 || maxDurationSeconds > 3600) {
      throw new UsageError(`--max-duration must be whole seconds 60..3600, got ${JSON.stringify(maxRaw)}`);
    }
    if (values.enable === true && values['policy-only'] === true) {
      throw new UsageError('--enable cannot be combined with --policy-only');
    }
    let status = 0;
    if (values['policy-only'] !== true) {
      awsOptions(context);
      const region = stringOption(values, 'region');
      let info = await getFederationInfo(region);
      if (!info.enabled && values.enable === true) {
        info = await enableFederation(region);
        io.stderr(`${style.green('✔')} enabled outbound identity federation\n`);
      }
      if (info.enabled) {
        io.stderr(
          `${style.green('✔')} outbound identity federation is enabled; issuer ${info.issuer ?? '(unknown)'}\n`,
        );
      } else {
        io.stderr(
          `${style.red('✖')} outbound identity federation is disabled\nhint: run again with --enable (needs iam:EnableOutboundWebIdentityFederation)\n`,
        );
        status = 1;
      }
    }
    const policy = webIdentityTokenPolicy({
      audiences,
      algorithm,
      maxDurationSeconds,
      tagKeys: listOption(values, 'tag-key'),
    });
    io.stdout(`${JSON.stringify(policy, null, 2)}\n`);
    return status;
  },
};
