/**
 * A small HTTP service that trusts AWS workloads by their AWS-signed JWT: a request with
 * `Authorization: Bearer <jwt>` minted by STS GetWebIdentityToken for this service's audience is
 * answered with the caller's account and role; anything else gets 401 and a `WWW-Authenticate` error.
 *
 *   pnpm start    # one round trip against the keyless emulator, started in this process
 *   TRUSTED_ISSUER=https://<id>.tokens.sts.global.api.aws EXPECTED_AUDIENCE=https://api.example.com pnpm start
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AWS_CLAIMS_KEY, fromAwsWebIdentityToken, isKeylessError } from '@keyless/core';
import { type AwsTokenVerifierOptions, createAwsTokenVerifier } from '@keyless/oidc';

const REALM = 'keyless-verify-server';

// Fixed texts for error_description (RFC 6750 §3): safe to quote, and they tell a caller what to fix
// without echoing anything it sent.
const DESCRIPTIONS: Record<string, string> = {
  malformed: 'The token is not a signed JWT',
  algorithm: 'The token signing algorithm is not accepted',
  issuer: 'The token issuer is not trusted',
  unknown_key: 'The token signing key is not known',
  signature: 'The token signature is invalid',
  expired: 'The token has expired',
  not_yet_valid: 'The token is not valid yet',
  issued_in_future: 'The token was issued in the future',
  too_old: 'The token is too old',
  audience: 'The token audience is not accepted',
  subject: 'The caller is not allowed',
  missing_claim: 'The token lacks a required claim',
  claim_mismatch: 'The caller does not meet the claim requirements',
};

/** What the service answers an accepted caller with. */
export interface Caller {
  account: string | undefined;
  role: string;
  roleName: string | undefined;
  sourceRegion: string | undefined;
  issuer: string;
  expiresAt: string;
}

/** The server; it does not listen yet. Options are those of `createAwsTokenVerifier`. */
export function createVerifyServer(options: AwsTokenVerifierOptions): Server {
  const verify = createAwsTokenVerifier(options);
  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('unexpected error', error instanceof Error ? error.message : error);
      if (!res.headersSent) json(res, 500, { error: 'internal_error' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(req.headers.authorization ?? '');
    if (!match?.[1]) {
      // RFC 6750 §3.1: no credentials, no error code.
      res.setHeader('www-authenticate', `Bearer realm="${REALM}"`);
      return json(res, 401, { error: 'missing_token' });
    }
    try {
      const { claims } = await verify(match[1]);
      const aws = claims[AWS_CLAIMS_KEY];
      const caller: Caller = {
        account: aws?.aws_account,
        role: claims.sub,
        roleName: /:role\/(?:.*\/)?([^/]+)$/.exec(claims.sub)?.[1],
        sourceRegion: aws?.source_region,
        issuer: claims.iss,
        expiresAt: new Date(claims.exp * 1000).toISOString(),
      };
      return json(res, 200, caller);
    } catch (error) {
      if (isKeylessError(error) && error.code === 'TOKEN_REJECTED') {
        const reason = String(error.details.reason ?? 'malformed');
        console.warn(`rejected: ${error.message}`);
        res.setHeader(
          'www-authenticate',
          `Bearer realm="${REALM}", error="invalid_token", error_description="${DESCRIPTIONS[reason] ?? 'The token is invalid'}"`,
        );
        return json(res, 401, { error: 'invalid_token', reason });
      }
      // The issuer's keys could not be loaded: the caller did nothing wrong, it may try again.
      console.error(`cannot verify tokens now: ${isKeylessError(error) ? String(error) : error}`);
      res.setHeader('retry-after', '30');
      return json(res, 503, { error: 'temporarily_unavailable' });
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

const USAGE = `This example is an HTTP service that accepts AWS workloads by the JWT STS GetWebIdentityToken
gives them, and answers with the caller's account and role. Set:

  TRUSTED_ISSUER     the issuer of the AWS account whose workloads may call
                     (aws iam get-outbound-web-identity-federation-info → IssuerIdentifier)
  EXPECTED_AUDIENCE  the audience callers request their tokens for, e.g. https://api.example.com
  PORT               optional, default 8080

A caller sends the JWT that @keyless/core's fromAwsWebIdentityToken({ audience: EXPECTED_AUDIENCE })
gives it, as  Authorization: Bearer <jwt>. With neither variable set the example makes one round trip
against the keyless emulator instead.`;

/** The audience of the emulator run's caller token: any value works, as long as both sides agree. */
const EMULATOR_AUDIENCE = 'https://api.example.com';

/**
 * Builds the configuration from the environment and listens; returns an exit code when it does not
 * (a configuration error, or the one-shot emulator run). With neither TRUSTED_ISSUER nor
 * EXPECTED_AUDIENCE set it runs once against the keyless emulator, started in this process.
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  const issuer = env.TRUSTED_ISSUER?.trim();
  const audience = env.EXPECTED_AUDIENCE?.trim();
  if (!issuer && !audience) return runAgainstEmulator(env);
  const port = Number(env.PORT?.trim() || 8080);
  if (!issuer || !audience || !Number.isInteger(port) || port < 0 || port > 65_535) {
    const missing = [
      ...(issuer ? [] : ['TRUSTED_ISSUER']),
      ...(audience ? [] : ['EXPECTED_AUDIENCE']),
      ...(Number.isInteger(port) && port >= 0 && port <= 65_535 ? [] : ['a valid PORT']),
    ];
    console.error(`Missing ${missing.join(', ')}.\n\n${USAGE}`);
    return 1;
  }
  let server: Server;
  try {
    server = createVerifyServer({ issuer, audience, ...(env.KEYLESS_DEBUG ? { logger: console } : {}) });
  } catch (error) {
    console.error(isKeylessError(error) ? String(error) : error);
    return 1;
  }
  server.listen(port, () => console.log(`Accepting AWS tokens from ${issuer} for ${audience} on port ${port}`));
  const stop = () => server.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return undefined;
}

/**
 * One round trip against the emulator: the server trusts the lab's issuer, a caller gets a JWT from the
 * lab's STS through @keyless/core and sends it; the server's answer is printed, then everything closes.
 */
async function runAgainstEmulator(env: NodeJS.ProcessEnv): Promise<number> {
  const { startEmulator } = await import('@keyless/emulator');
  const lab = await startEmulator();
  const server = createVerifyServer({
    issuer: lab.issuer,
    audience: EMULATOR_AUDIENCE,
    ...(env.KEYLESS_DEBUG ? { logger: console } : {}),
  });
  try {
    console.log(
      `No TRUSTED_ISSUER or EXPECTED_AUDIENCE set: using the keyless emulator on 127.0.0.1 (issuer ${lab.issuer}).`,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    console.log(`Accepting AWS tokens from ${lab.issuer} for ${EMULATOR_AUDIENCE} on port ${port}`);

    // The caller's side: any AWS workload, here the lab's default role through the lab's STS.
    const getToken = fromAwsWebIdentityToken({
      audience: EMULATOR_AUDIENCE,
      endpoint: lab.stsEndpoint,
      region: lab.region,
      credentials: lab.credentials,
    });
    const { token, claims } = await getToken();
    console.log(`Caller: GET / with the JWT of ${claims.sub} (aud ${EMULATOR_AUDIENCE})`);
    const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${token}` } });
    console.log(`Server answered ${response.status}: ${(await response.text()).trim()}`);
    return response.status === 200 ? 0 : 1;
  } catch (error) {
    console.error(isKeylessError(error) ? String(error) : error instanceof Error ? error.message : error);
    return 1;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await lab.close();
  }
}

if (import.meta.main) {
  const code = await main();
  if (code !== undefined) process.exitCode = code;
}
