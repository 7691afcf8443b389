/**
 * Trades the workload's AWS-signed JWT (STS GetWebIdentityToken) for an access token at an RFC 8693
 * token endpoint, and prints what it got (never the token itself).
 *
 *   pnpm start    # against the keyless emulator, started in this process
 *   OIDC_ISSUER=https://idp.example.com OIDC_AUDIENCE=https://idp.example.com AWS_REGION=us-east-1 pnpm start
 */
import { isKeylessError } from '@keyless/core';
import { type AccessToken, fromTokenExchange, type TokenExchangeOptions } from '@keyless/oidc';

export interface RunOptions {
  /** The token endpoint; or `issuer` to discover it. */
  tokenEndpoint?: string;
  issuer?: string;
  /** The audience the AWS JWT is minted for: what the server's trust rule for the AWS issuer expects. */
  audience: string;
  /** RFC 8693 `scope` and `resource`, when the server wants them. */
  scope?: string;
  resource?: string;
  /** Extra options for the AWS JWT provider (region, endpoint: the emulator's STS). */
  aws?: TokenExchangeOptions['aws'];
  logger?: TokenExchangeOptions['logger'];
}

/** One exchange: the access token the server issued for the AWS JWT. */
export async function run(options: RunOptions): Promise<AccessToken> {
  const getToken = fromTokenExchange({
    ...(options.tokenEndpoint ? { tokenEndpoint: options.tokenEndpoint } : { issuer: options.issuer }),
    ...(options.scope ? { scope: options.scope } : {}),
    ...(options.resource ? { resource: options.resource } : {}),
    aws: { ...options.aws, audience: options.audience },
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return getToken();
}

const USAGE = `This example trades the AWS identity this process runs with (STS GetWebIdentityToken) for an
access token at an OAuth 2.0 token-exchange (RFC 8693) endpoint, with no stored secret. Set:

  OIDC_TOKEN_ENDPOINT  the token endpoint URL, or
  OIDC_ISSUER          the issuer, to discover the token endpoint from its metadata
  OIDC_AUDIENCE        the audience of the AWS JWT: what the server's trust rule for your AWS
                       account's issuer expects
  OIDC_SCOPE           optional: scopes to ask for (space-separated)
  OIDC_RESOURCE        optional: the resource URI to ask a token for
  AWS_REGION           the region to call STS in (or a region in ~/.aws/config)

Unset every OIDC_* variable to run against the keyless emulator instead. See README.md for the set-up
on both sides. Set KEYLESS_DEBUG=1 for debug lines.`;

/** Any of these set means "use that server"; none of them, the keyless emulator. */
const SETTINGS = ['OIDC_TOKEN_ENDPOINT', 'OIDC_ISSUER', 'OIDC_AUDIENCE', 'OIDC_SCOPE', 'OIDC_RESOURCE'] as const;

/**
 * Builds the configuration from the environment and runs; returns the process exit code. With none of
 * the `OIDC_*` variables set it runs against the keyless emulator's OAuth server, started in this process.
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const value = (name: string) => env[name]?.trim() || undefined;
  if (SETTINGS.every((name) => !value(name))) return runAgainstEmulator(env);
  const tokenEndpoint = value('OIDC_TOKEN_ENDPOINT');
  const issuer = value('OIDC_ISSUER');
  const audience = value('OIDC_AUDIENCE');
  if ((!tokenEndpoint && !issuer) || !audience) {
    const missing = [
      ...(!tokenEndpoint && !issuer ? ['OIDC_TOKEN_ENDPOINT or OIDC_ISSUER'] : []),
      ...(audience ? [] : ['OIDC_AUDIENCE']),
    ];
    console.error(`Missing ${missing.join(', ')}.\n\n${USAGE}`);
    return 1;
  }
  return exchangeAndPrint(tokenEndpoint ?? issuer!, {
    ...(tokenEndpoint ? { tokenEndpoint } : { issuer }),
    audience,
    ...(value('OIDC_SCOPE') ? { scope: value('OIDC_SCOPE') } : {}),
    ...(value('OIDC_RESOURCE') ? { resource: value('OIDC_RESOURCE') } : {}),
    ...(env.KEYLESS_DEBUG ? { logger: console } : {}),
  });
}

/** The same exchange at the emulator's OAuth server (its token endpoint found by discovery), with its STS. */
async function runAgainstEmulator(env: NodeJS.ProcessEnv): Promise<number> {
  const { startEmulator } = await import('@keyless/emulator');
  const lab = await startEmulator();
  try {
    console.log(`No OIDC_* variables set: using the keyless emulator on 127.0.0.1 (OAuth server ${lab.oidc.issuer}).`);
    return await exchangeAndPrint(lab.oidc.issuer, {
      issuer: lab.oidc.issuer,
      audience: lab.oidc.audience,
      aws: { endpoint: lab.stsEndpoint, region: lab.region, credentials: lab.credentials },
      ...(env.KEYLESS_DEBUG ? { logger: console } : {}),
    });
  } finally {
    await lab.close();
  }
}

async function exchangeAndPrint(server: string, options: RunOptions): Promise<number> {
  try {
    const token = await run(options);
    console.log(`Got a ${token.tokenType} token from ${server}`);
    console.log(`  issued_token_type  ${token.issuedTokenType ?? '(not stated)'}`);
    console.log(`  scope              ${token.scope ?? '(not stated)'}`);
    console.log(`  expires at         ${token.expiresAt.toISOString()}`);
    console.log(`  length             ${token.accessToken.length} characters (the token itself is not printed)`);
    return 0;
  } catch (error) {
    console.error(isKeylessError(error) ? String(error) : error instanceof Error ? error.message : error);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
