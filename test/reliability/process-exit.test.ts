/**
 * "No handle left open", for every endpoint of the fault matrix: a child process that uses the built
 * `dist` of the adapter gets a token, moves its clock into the refresh window so that the next call
 * starts a background refresh, which meets a 503 asking for a 30 s pause; the program must still exit
 * on its own (a referenced retry timer would hold it open far beyond the 15 s allowed). Same pattern as
 * packages/core/test/reliability/sts-faults.test.ts, which covers STS.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { newKey, signToken } from '../../packages/oidc/test/issuer.js';
import { makeAwsJwt } from '../support/aws.js';
import { accessToken } from './support/fault-suite.js';
import { type Reply, type ScriptedServer, startScriptedServer } from './support/scripted-server.js';

const dist = (name: string) => fileURLToPath(new URL(`../../packages/${name}/dist/index.js`, import.meta.url));
const built = ['azure', 'gcp', 'oidc', 'snowflake'].every((name) => existsSync(dist(name)));

const UNAVAILABLE: Reply = {
  status: 503,
  body: { error: 'temporarily_unavailable', error_description: 'maintenance' },
  headers: { 'retry-after': '30' },
};
// Retries that would wait out the 30 s Retry-After if their timer held the process.
const RETRY = '{ maxAttempts: 3, maxDelayMs: 60000, maxElapsedMs: 120000 }';

/** Runs an ES module script with the JWT in its environment; resolves when it exits, rejects after 15 s. */
function runChild(script: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true', AWS_EC2_METADATA_DISABLED: 'true', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the child process did not exit on its own within 15 s; stdout: ${stdout}`));
    }, 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: stdout.trim(), stderr });
    });
  });
}

/** A `webIdentityToken` provider over the JWT in KEYLESS_TEST_JWT (no STS in the child). */
const JWT_PROVIDER = `
  const jwt = process.env.KEYLESS_TEST_JWT;
  const claims = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
  const webIdentityToken = async () => ({ token: jwt, expiresAt: new Date(claims.exp * 1000), claims });`;

/** Gets a token, jumps `seconds` ahead (into the refresh window), gets it again, and reports. */
const twice = (get: string, seconds: number) => `
  const first = await ${get};
  const realNow = Date.now;
  Date.now = () => realNow() + ${seconds * 1000};
  const second = await ${get};
  await new Promise((resolve) => setTimeout(resolve, 300));
  console.log(first === second ? 'served from cache' : 'different token');`;

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function expectCleanExit(script: string, audience: string, path: string, expectedRequests = 2) {
  const jwt = await makeAwsJwt({ audience, lifetime: 3600 });
  const run = await runChild(script, { KEYLESS_TEST_JWT: jwt });
  expect(run.stderr).toBe('');
  expect(run.stdout).toBe('served from cache');
  expect(run.code).toBe(0);
  expect(server!.requestsTo(path)).toHaveLength(expectedRequests);
}

describe.skipIf(!built)('a program exits on its own while a background refresh waits to retry', () => {
  it('[entra × process-exit] AwsFederatedCredential', async () => {
    server = await startScriptedServer();
    const path = '/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token';
    server.answer(path, { status: 200, body: { token_type: 'Bearer', expires_in: 3599, access_token: accessToken() } });
    server.always(path, UNAVAILABLE);
    await expectCleanExit(
      `const { AwsFederatedCredential } = await import(${JSON.stringify(dist('azure'))});
      ${JWT_PROVIDER}
      const credential = new AwsFederatedCredential({ tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
        clientId: '00001111-aaaa-2222-bbbb-3333cccc4444', authorityHost: ${JSON.stringify(server.origin)},
        webIdentityToken, retry: ${RETRY} });
      ${twice("(await credential.getToken('https://storage.azure.com/.default')).token", 3_400)}`,
      'api://AzureADTokenExchange',
      path,
    );
  });

  const PROVIDER_NAME =
    '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-oidc';
  const googleToken = (lifetime: number): Reply => ({
    status: 200,
    body: {
      access_token: accessToken('ya29.d'),
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: lifetime,
    },
  });

  it('[google-sts × process-exit] createGoogleAuthClient', async () => {
    server = await startScriptedServer();
    server.answer('/v1/token', googleToken(3599));
    server.always('/v1/token', UNAVAILABLE);
    await expectCleanExit(
      `const { createGoogleAuthClient } = await import(${JSON.stringify(dist('gcp'))});
      ${JWT_PROVIDER}
      const client = createGoogleAuthClient({ audience: ${JSON.stringify(PROVIDER_NAME)},
        tokenUrl: ${JSON.stringify(`${server.origin}/v1/token`)}, webIdentityToken, retry: ${RETRY} });
      ${twice('(await client.getAccessToken()).token', 3_400)}`,
      `https:${PROVIDER_NAME}`,
      '/v1/token',
    );
  });

  it('[iam-credentials × process-exit] createGoogleAuthClient with serviceAccountEmail', async () => {
    server = await startScriptedServer();
    const email = 'reader@my-project.iam.gserviceaccount.com';
    const path = `/v1/projects/-/serviceAccounts/${email}:generateAccessToken`;
    server.always('/v1/token', googleToken(3599));
    server.answer(path, {
      status: 200,
      body: { accessToken: accessToken('ya29.c'), expireTime: new Date(Date.now() + 3_600_000).toISOString() },
    });
    server.always(path, UNAVAILABLE);
    await expectCleanExit(
      `const { createGoogleAuthClient } = await import(${JSON.stringify(dist('gcp'))});
      ${JWT_PROVIDER}
      const client = createGoogleAuthClient({ audience: ${JSON.stringify(PROVIDER_NAME)},
        tokenUrl: ${JSON.stringify(`${server.origin}/v1/token`)}, serviceAccountEmail: ${JSON.stringify(email)},
        serviceAccountImpersonationUrl: ${JSON.stringify(`${server.origin}${path}`)}, webIdentityToken, retry: ${RETRY} });
      ${twice('(await client.getAccessToken()).token', 3_400)}`,
      `https:${PROVIDER_NAME}`,
      path,
    );
  });

  const tokenBody = (): Reply => ({
    status: 200,
    body: { access_token: accessToken(), token_type: 'Bearer', expires_in: 3600 },
  });

  async function oauthExit(factory: 'fromTokenExchange' | 'fromJwtBearer') {
    server = await startScriptedServer();
    server.answer('/token', tokenBody());
    server.always('/token', UNAVAILABLE);
    await expectCleanExit(
      `const { ${factory} } = await import(${JSON.stringify(dist('oidc'))});
      ${JWT_PROVIDER}
      const provider = ${factory}({ tokenEndpoint: ${JSON.stringify(`${server.origin}/token`)}, webIdentityToken, retry: ${RETRY} });
      ${twice('(await provider()).accessToken', 3_400)}`,
      'https://auth.example.com',
      '/token',
    );
  }

  it('[token-exchange × process-exit] fromTokenExchange', () => oauthExit('fromTokenExchange'));

  it('[jwt-bearer × process-exit] fromJwtBearer', () => oauthExit('fromJwtBearer'));

  it('[vault-login × process-exit] fromVaultJwtLogin', async () => {
    server = await startScriptedServer();
    const path = '/v1/auth/jwt/login';
    server.answer(path, {
      status: 200,
      body: { auth: { client_token: accessToken('hvs'), accessor: 'a', policies: ['default'], lease_duration: 3600 } },
    });
    server.always(path, { status: 503, body: { errors: ['Vault is sealed'] }, headers: { 'retry-after': '30' } });
    await expectCleanExit(
      `const { fromVaultJwtLogin } = await import(${JSON.stringify(dist('oidc'))});
      ${JWT_PROVIDER}
      const provider = fromVaultJwtLogin({ address: ${JSON.stringify(server.origin)}, role: 'reporting', webIdentityToken, retry: ${RETRY} });
      ${twice('(await provider()).accessToken', 3_400)}`,
      'vault',
      path,
    );
  });

  it('[verifier-keys × process-exit] createAwsTokenVerifier, with a background JWKS refresh failing', async () => {
    server = await startScriptedServer();
    const issuer = server.origin;
    const key = await newKey('RS256', 'RSA_0');
    server.answer('/.well-known/openid-configuration', {
      status: 200,
      body: { issuer, jwks_uri: `${issuer}/.well-known/jwks.json` },
    });
    server.answer('/.well-known/jwks.json', { status: 200, body: { keys: [key.jwk] } });
    server.always('/.well-known/jwks.json', UNAVAILABLE);
    const token = await signToken(key, issuer, { lifetime: 3600 });
    const run = await runChild(
      `const { createAwsTokenVerifier } = await import(${JSON.stringify(dist('oidc'))});
      const verify = createAwsTokenVerifier({ issuer: ${JSON.stringify(issuer)}, audience: 'https://api.example.com' });
      // 700 s later the keys are older than jwksCacheMaxAgeSeconds (600): refreshed in the background.
      ${twice('(await verify(process.env.KEYLESS_TEST_TOKEN)).claims.jti', 700)}`,
      { KEYLESS_TEST_TOKEN: token },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('served from cache');
    expect(run.code).toBe(0);
    expect(server.requestsTo('/.well-known/jwks.json')).toHaveLength(2);
  });

  it('[snowflake-login × process-exit] connectSnowflake: after a refused login, and after a session is closed', async () => {
    server = await startScriptedServer();
    const login = '/session/v1/login-request';
    server.answer(login, UNAVAILABLE);
    const session = 'ver:1-hint:119831234-ETMsDgAAAZ000000000000000000000000000000000000000000000';
    server.answer(login, {
      status: 200,
      body: {
        success: true,
        code: null,
        message: null,
        data: {
          token: session,
          masterToken: session.replace('1198', '1199'),
          validityInSeconds: 3600,
          masterValidityInSeconds: 14400,
          sessionId: 1,
          parameters: [],
          sessionInfo: {},
        },
      },
    });
    server.always('/session', { status: 200, body: { success: true, code: null, message: null, data: null } });
    const jwt = await makeAwsJwt({ audience: 'snowflakecomputing.com', alg: 'ES384', lifetime: 3600 });
    const run = await runChild(
      `const { connectSnowflake } = await import(${JSON.stringify(dist('snowflake'))});
      const { createRequire } = await import('node:module');
      const snowflake = createRequire(${JSON.stringify(dist('snowflake'))})('snowflake-sdk');
      snowflake.configure({ logLevel: 'OFF' });
      ${JWT_PROVIDER}
      const options = { account: 'myorg-myacct', host: 'myorg-myacct.snowflakecomputing.com',
        accessUrl: ${JSON.stringify(server.origin)}, sfRetryMaxLoginRetries: 0, webIdentityToken, snowflake };
      const refused = await connectSnowflake(options).catch((error) => error.code);
      const connection = await connectSnowflake(options);
      await new Promise((resolve) => connection.destroy(resolve));
      console.log(refused + ' then ' + (connection.isUp() ? 'still up' : 'closed'));`,
      { KEYLESS_TEST_JWT: jwt },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('EXCHANGE_FAILED then closed');
    expect(run.code).toBe(0);
  });
});
