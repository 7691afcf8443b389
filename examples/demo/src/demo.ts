/**
 * Every keyless adapter, end to end, against the keyless emulator in this process: the real vendor
 * clients (`@azure/storage-blob`, `@google-cloud/storage`, `snowflake-sdk`) authenticate with what keyless
 * obtained from an AWS-signed JWT, then one trust rule is broken on purpose to show what the error says.
 * Nothing here prints a token: only claims, names and lifetimes.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import { AwsFederatedCredential } from '@keyless/azure';
import { AWS_CLAIMS_KEY, fromAwsWebIdentityToken, isKeylessError, type KeylessError } from '@keyless/core';
import { type Emulator, startEmulator } from '@keyless/emulator';
import { createGoogleAuthClient } from '@keyless/gcp';
import { fromTokenExchange, fromVaultJwtLogin, verifyAwsWebIdentityToken } from '@keyless/oidc';
import { connectSnowflake } from '@keyless/snowflake';
import type { Connection } from 'snowflake-sdk';
import { DETAIL_INDENT, detailLine, formatExpiresIn, formatMs, headerLine, labelled, out, rowLine } from './output.ts';

/** The audience of the JWT a caller sends to "your API", the receiving side checked by the verifier. */
const API_AUDIENCE = 'https://api.example.com';
/** The subject the broken trust rule expects instead of the lab's role: a typo a person could make. */
const WRONG_SUBJECT = 'arn:aws:iam::123456789012:role/keyless-prod';

interface StepResult {
  credential: string;
  details: string[];
  expiresAt?: Date;
}

interface Step {
  target: string;
  run(): Promise<StepResult>;
}

/** Runs the demo; resolves to the process exit code (0 when every target worked and the broken rule was caught). */
export async function runDemo(): Promise<number> {
  const started = performance.now();
  const lab = await startEmulator({ trustCertificate: true });
  try {
    out.line(out.style('bold', 'keyless demo: every adapter, end to end, against the keyless emulator'));
    out.line('The emulator runs in this process, on 127.0.0.1 only. Its STS signs real JWTs for the role');
    out.line(`${lab.roleArn}; every target verifies them against ${lab.issuer}.`);
    out.line();
    out.line(headerLine());
    let failures = 0;
    for (const step of steps(lab)) {
      const t0 = performance.now();
      const row = (credential: string, expiresAt: Date | undefined, ok: boolean) =>
        rowLine(
          {
            target: step.target,
            credential,
            expiresIn: formatExpiresIn(expiresAt),
            took: formatMs(performance.now() - t0),
            stsCalls: String(stsCalls(lab)),
          },
          ok,
        );
      try {
        const result = await step.run();
        out.line(row(result.credential, result.expiresAt, true));
        for (const detail of result.details) out.line(detailLine(detail));
      } catch (error) {
        failures += 1;
        out.line(row('FAILED', undefined, false));
        for (const line of describeError(error, DETAIL_INDENT)) out.line(line);
      }
    }
    out.line();
    out.line(
      `STS GetWebIdentityToken calls: ${stsCalls(lab)}. A JWT is minted per audience and cached by its provider; the OAuth`,
    );
    out.line('exchange was handed the provider of the first row, so it reused that JWT instead of calling STS again.');
    out.line();

    const caught = await brokenTrustRule(lab);
    out.line();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (failures > 0 || !caught) {
      out.line(
        out.style(
          'red',
          `Done in ${seconds} s, with ${failures > 0 ? `${failures} failed target(s)` : 'no error where one was expected'}.`,
        ),
      );
      return 1;
    }
    out.line(out.style('green', `Done in ${seconds} s: no secret stored, no token printed.`));
    return 0;
  } finally {
    await lab.close();
  }
}

function steps(lab: Emulator): Step[] {
  const aws = { endpoint: lab.stsEndpoint, region: lab.region, credentials: lab.credentials };
  // One provider for the OAuth server's audience: the first row shows its JWT, the OAuth row reuses it.
  const oauthJwt = fromAwsWebIdentityToken({ ...aws, audience: lab.oidc.audience });

  return [
    {
      target: 'AWS STS (core)',
      async run() {
        const { token, claims, expiresAt } = await oauthJwt();
        const alg = decodeHeader(token).alg ?? '?';
        return {
          credential: `AWS-signed JWT (${alg})`,
          expiresAt,
          details: [
            `fromAwsWebIdentityToken: iss ${claims.iss}`,
            `sub ${claims.sub}, aud ${String(claims.aud)}, account ${claims[AWS_CLAIMS_KEY]?.aws_account ?? '?'}`,
          ],
        };
      },
    },
    {
      target: 'Entra ID + Azure Blob',
      async run() {
        const credential = new AwsFederatedCredential({
          tenantId: lab.entra.tenantId,
          clientId: lab.entra.clientId,
          authorityHost: lab.entra.authorityHost,
          aws,
        });
        // Notes the expiry of the token the Azure SDK asked for (the token itself stays inside).
        let expiresAt: Date | undefined;
        const observed: Pick<AwsFederatedCredential, 'getToken'> = {
          async getToken(scopes, options) {
            const token = await credential.getToken(scopes, options);
            expiresAt = new Date(token.expiresOnTimestamp);
            return token;
          },
        };
        const blobs = new BlobServiceClient(lab.blob.accountUrl, observed);
        const names: string[] = [];
        for await (const container of blobs.listContainers()) names.push(container.name);
        return {
          credential: 'Entra ID access token',
          ...(expiresAt ? { expiresAt } : {}),
          details: [
            `AwsFederatedCredential -> @azure/storage-blob over HTTPS`,
            `BlobServiceClient.listContainers(): ${names.join(', ')}`,
          ],
        };
      },
    },
    {
      target: 'Google Cloud Storage',
      async run() {
        const authClient = createGoogleAuthClient({
          audience: lab.google.audience,
          serviceAccountEmail: lab.google.serviceAccountEmail,
          tokenUrl: lab.google.stsTokenUrl,
          serviceAccountImpersonationUrl: lab.google.serviceAccountImpersonationUrl,
          projectId: lab.google.projectId,
          aws,
        });
        let expiresAt: Date | undefined;
        authClient.on('tokens', (tokens: { expiry_date?: number | null }) => {
          if (tokens.expiry_date) expiresAt = new Date(tokens.expiry_date);
        });
        const storage = new Storage({
          projectId: lab.google.projectId,
          authClient,
          apiEndpoint: lab.google.storageApiEndpoint,
          // Without it @google-cloud/storage sends no Authorization header to a custom endpoint.
          useAuthWithCustomEndpoint: true,
        });
        const [buckets] = await storage.getBuckets();
        return {
          credential: 'service account access token',
          ...(expiresAt ? { expiresAt } : {}),
          details: [
            `createGoogleAuthClient: Google STS, then IAM Credentials as`,
            `${lab.google.serviceAccountEmail}`,
            `Storage.getBuckets(): ${buckets.map((b) => b.name).join(', ')}`,
          ],
        };
      },
    },
    {
      target: 'Snowflake',
      async run() {
        const snowflake = (await import('snowflake-sdk')).default;
        // snowflake-sdk logs to the console and to ./snowflake.log by default.
        snowflake.configure({ logLevel: 'OFF' });
        const connection = await connectSnowflake({
          account: lab.snowflake.account,
          host: lab.snowflake.host,
          accessUrl: lab.snowflake.accessUrl,
          aws,
          snowflake,
          sfRetryMaxLoginRetries: 0,
        });
        try {
          const rows = await query(connection, 'SELECT CURRENT_USER()');
          return {
            credential: 'Snowflake session',
            details: [
              `connectSnowflake (WORKLOAD_IDENTITY login, ES384 JWT) -> snowflake-sdk`,
              `SELECT CURRENT_USER(): ${String(rows[0]?.['CURRENT_USER()'])}`,
            ],
          };
        } finally {
          await new Promise<void>((resolve) => connection.destroy(() => resolve()));
        }
      },
    },
    {
      target: 'OAuth 2.0 (RFC 8693)',
      async run() {
        const getToken = fromTokenExchange({ tokenEndpoint: lab.oidc.tokenEndpoint, webIdentityToken: oauthJwt });
        const token = await getToken();
        const introspection = await postForm(lab.oidc.introspectionEndpoint, { token: token.accessToken });
        return {
          credential: `${token.tokenType} access token`,
          expiresAt: token.expiresAt,
          details: [
            `fromTokenExchange, handed the first row's JWT provider (no new STS call)`,
            `introspection: ${introspection.active === true ? 'active' : 'inactive'}, sub ${String(introspection.sub)}`,
          ],
        };
      },
    },
    {
      target: 'HashiCorp Vault',
      async run() {
        const getToken = fromVaultJwtLogin({
          address: lab.vault.address,
          mount: lab.vault.mount,
          role: lab.vault.role,
          aws: { ...aws, audience: lab.vault.audience },
        });
        const token = await getToken();
        const response = await fetch(`${lab.vault.address}/v1/auth/token/lookup-self`, {
          headers: { 'x-vault-token': token.accessToken },
        });
        const lookup = ((await response.json()) as { data?: { display_name?: string } }).data;
        return {
          credential: `Vault token (${token.vaultTokenType ?? 'service'})`,
          expiresAt: token.expiresAt,
          details: [
            `fromVaultJwtLogin, role ${lab.vault.role}: policies ${token.policies?.join(', ') ?? '?'}`,
            `lookup-self: ${lookup?.display_name ?? `HTTP ${response.status}`}`,
          ],
        };
      },
    },
    {
      target: 'Your API (verifier)',
      async run() {
        // The caller's side: a JWT for this API's audience. The receiving side: verify it against the issuer.
        const callerJwt = fromAwsWebIdentityToken({ ...aws, audience: API_AUDIENCE });
        const { token } = await callerJwt();
        const { claims } = await verifyAwsWebIdentityToken(token, { issuer: lab.issuer, audience: API_AUDIENCE });
        const context = claims[AWS_CLAIMS_KEY];
        return {
          credential: 'verified caller identity',
          expiresAt: new Date(claims.exp * 1000),
          details: [
            `verifyAwsWebIdentityToken, aud ${API_AUDIENCE}: discovery, JWKS, signature, claims`,
            `account ${context?.aws_account ?? '?'}, role ${claims.sub.replace(/^.*:role\//, '')}, source region ${context?.source_region ?? '?'}`,
          ],
        };
      },
    },
  ];
}

/** Breaks the Entra trust rule on purpose and shows the error. True when keyless named the field. */
async function brokenTrustRule(lab: Emulator): Promise<boolean> {
  out.line(out.style('bold', 'And when the trust rule is wrong'));
  const fic = lab.trust.entra.listApps().find((app) => app.clientId === lab.entra.clientId)?.federatedCredentials[0];
  if (!fic) {
    out.line(out.style('red', 'The lab has no federated identity credential to break.'));
    return false;
  }
  lab.trust.entra.removeFederatedCredential(lab.entra.clientId, fic.name);
  lab.trust.entra.addFederatedCredential(lab.entra.clientId, {
    name: fic.name,
    issuer: fic.issuer,
    subject: WRONG_SUBJECT,
    audiences: [...fic.audiences],
  });
  out.line(`The Entra app's federated identity credential "${fic.name}" now expects the subject`);
  out.line(`${WRONG_SUBJECT}, but the workload is ${lab.roleArn}.`);
  out.line('AwsFederatedCredential.getToken() fails with:');
  out.line();
  try {
    const credential = new AwsFederatedCredential({
      tenantId: lab.entra.tenantId,
      clientId: lab.entra.clientId,
      authorityHost: lab.entra.authorityHost,
      aws: { endpoint: lab.stsEndpoint, region: lab.region, credentials: lab.credentials },
      retry: false,
    });
    await credential.getToken(lab.entra.storageScope);
    out.line(out.style('red', '  no error: the broken rule was accepted'));
    return false;
  } catch (error) {
    for (const line of describeError(error, 2)) out.line(line);
    return isKeylessError(error) && error.code === 'TOKEN_REJECTED';
  } finally {
    lab.trust.reset();
  }
}

/** A KeylessError as its fields (what to show a person), `indent` columns in; anything else as its message. */
function describeError(error: unknown, indent: number): string[] {
  if (!isKeylessError(error)) {
    return labelled(indent, 'error', error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  }
  const e: KeylessError = error;
  const presented = e.details.presented;
  const targetCode = e.details.targetCode ? `, target code ${String(e.details.targetCode)}` : '';
  return [
    `${' '.repeat(indent)}${out.style('red', `${e.name} ${e.code}`)} (provider ${e.provider}${targetCode})`,
    ...labelled(indent, 'message', e.message),
    ...(e.hint ? labelled(indent, 'hint', e.hint).map((line) => out.style('yellow', line)) : []),
    ...(presented
      ? labelled(
          indent,
          'presented',
          Object.entries(presented)
            .map(([claim, value]) => `${claim} ${String(value)}`)
            .join(', '),
        )
      : []),
  ];
}

function stsCalls(lab: Emulator): number {
  return lab.stats.get('sts:GetWebIdentityToken').calls;
}

function query(connection: Connection, sqlText: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    connection.execute({
      sqlText,
      complete: (error, _statement, rows) =>
        error ? reject(error) : resolve((rows ?? []) as Record<string, unknown>[]),
    });
  });
}

async function postForm(url: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return (await response.json()) as Record<string, unknown>;
}

/** The JOSE header of a JWT (`alg`, `kid`): not secret. */
function decodeHeader(jwt: string): { alg?: string; kid?: string } {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: string };
  } catch {
    return {};
  }
}
