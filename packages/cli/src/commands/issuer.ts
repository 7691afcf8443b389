import { awsOptions } from '../aws-context.js';
import { AWS_OPTIONS_HELP, type Command, stringOption } from '../command.js';
import { getFederationInfo } from '../federation.js';

export const issuerCommand: Command = {
  name: 'issuer',
  summary: "print the AWS account's token issuer URL (IAM GetOutboundWebIdentityFederationInfo)",
  usage: 'keyless issuer [--json] [options]',
  help: `Reads the account's outbound identity federation settings. The issuer URL is what targets trust:
Entra ID's federated credential "issuer", Google's OIDC provider "issuer URI", Snowflake's ISSUER.
Needs iam:GetOutboundWebIdentityFederationInfo. Exits 1 when federation is disabled.

Options:
  --json                  print { issuer, enabled }
${AWS_OPTIONS_HELP}
  (IAM is reached through AWS_ENDPOINT_URL_IAM when set.)`,
  options: { json: { type: 'boolean' }, region: { type: 'string' }, profile: { type: 'string' } },
  async run(context) {
    awsOptions(context);
    const info = await getFederationInfo(stringOption(context.values, 'region'));
    if (context.values.json === true) {
      context.io.stdout(`${JSON.stringify({ issuer: info.issuer ?? null, enabled: info.enabled }, null, 2)}\n`);
    } else if (info.issuer) {
      context.io.stdout(`${info.issuer}\n`);
    }
    if (!info.enabled) {
      context.io.stderr(
        `${context.style.red('outbound identity federation is disabled for this account')}\nhint: keyless setup aws --enable (needs iam:EnableOutboundWebIdentityFederation)\n`,
      );
      return 1;
    }
    return 0;
  },
};
