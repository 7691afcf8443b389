import { chmod, writeFile } from 'node:fs/promises';
import { fromAwsWebIdentityToken, isKeylessError, SIGNING_ALGORITHMS, type SigningAlgorithm } from '@keyless/core';
import { awsOptions, durationOption, tagOptions } from '../aws-context.js';
import { AWS_OPTIONS, AWS_OPTIONS_HELP, type Command, listOption, stringOption } from '../command.js';
import { UsageError } from '../usage-error.js';

// Executable-sourced credentials (Google auth libraries, "pluggable auth"): response version and the
// environment the library sets for the executable.
const GOOGLE_EXECUTABLE_VERSION = 1;
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

const FORMATS = ['raw', 'json', 'google-executable'] as const;
type Format = (typeof FORMATS)[number];

export const tokenCommand: Command = {
  name: 'token',
  summary: 'print the AWS web identity token (JWT) of the current AWS principal',
  usage: 'keyless token --audience <aud> [--audience <aud>…] [options]',
  help: `Calls STS GetWebIdentityToken with the current AWS credentials and prints the JWT.

Options:
  --audience <aud>        the token's aud; repeat for up to 10 (with --format google-executable it
                          defaults to GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE)
  --algorithm <alg>       RS256 (default) or ES384
  --duration <seconds>    lifetime, 60..3600 (default 300)
  --tag <key=value>       request tag (becomes a claim); repeatable, up to 50
  --json                  print { token, expiresAt, claims } instead of the bare token
  --format <format>       raw (default), json, or google-executable: the executable-sourced
                          credential response gcloud and Google's client libraries read; also written
                          to GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE when the library sets it
${AWS_OPTIONS_HELP}

Examples:
  keyless token --audience api://AzureADTokenExchange
  curl -H "Authorization: Bearer $(keyless token --audience https://api.example.com)" https://api.example.com/
  keyless token --audience sts.example.com --json | jq .claims`,
  options: {
    audience: { type: 'string', multiple: true },
    algorithm: { type: 'string' },
    duration: { type: 'string' },
    tag: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    format: { type: 'string' },
    ...AWS_OPTIONS,
  },
  async run(context) {
    const { values, io } = context;
    const format = parseFormat(stringOption(values, 'format'), values.json === true);
    let audience = listOption(values, 'audience');
    if (audience.length === 0 && format === 'google-executable' && io.env.GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE) {
      audience = [io.env.GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE];
    }
    if (audience.length === 0) throw new UsageError('--audience is required');
    const algorithm = stringOption(values, 'algorithm');
    if (algorithm !== undefined && !(SIGNING_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new UsageError(`--algorithm must be RS256 or ES384, got ${JSON.stringify(algorithm)}`);
    }
    const duration = durationOption(context);
    const tags = tagOptions(listOption(values, 'tag'));
    try {
      const provider = fromAwsWebIdentityToken({
        audience,
        ...(algorithm ? { signingAlgorithm: algorithm as SigningAlgorithm } : {}),
        ...(duration === undefined ? {} : { durationSeconds: duration }),
        ...(tags ? { tags } : {}),
        ...awsOptions(context),
      });
      const { token, expiresAt, claims } = await provider();
      if (format === 'raw') io.stdout(`${token}\n`);
      else if (format === 'json')
        io.stdout(`${JSON.stringify({ token, expiresAt: expiresAt.toISOString(), claims }, null, 2)}\n`);
      else {
        const response = {
          version: GOOGLE_EXECUTABLE_VERSION,
          success: true,
          token_type: io.env.GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE === ID_TOKEN_TYPE ? ID_TOKEN_TYPE : JWT_TOKEN_TYPE,
          id_token: token,
          expiration_time: claims.exp,
        };
        await writeGoogleOutputFile(io.env.GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE, response);
        io.stdout(`${JSON.stringify(response)}\n`);
      }
      return 0;
    } catch (error) {
      if (format !== 'google-executable') throw error;
      // The executable protocol wants the failure on stdout as JSON, and a non-zero exit.
      const code = isKeylessError(error) ? error.code : 'ERROR';
      const message = isKeylessError(error)
        ? `${error.message}${error.hint ? ` ${error.hint}` : ''}`
        : error instanceof Error
          ? error.message
          : String(error);
      io.stdout(`${JSON.stringify({ version: GOOGLE_EXECUTABLE_VERSION, success: false, code, message })}\n`);
      throw error;
    }
  },
};

function parseFormat(format: string | undefined, json: boolean): Format {
  if (format === undefined) return json ? 'json' : 'raw';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  }
  if (json && format !== 'json') throw new UsageError('--json cannot be combined with --format');
  return format as Format;
}

async function writeGoogleOutputFile(path: string | undefined, response: object): Promise<void> {
  if (!path) return;
  await writeFile(path, `${JSON.stringify(response)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
}
