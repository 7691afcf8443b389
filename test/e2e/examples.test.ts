/**
 * `pnpm demo`'s program and every example's `main`, run as they are run by hand: `node src/main.ts` in a
 * child process, against the built packages (the root `pnpm test` builds first). With no cloud settings
 * in their environment they start the emulator themselves. A preload refuses any connection beyond
 * loopback, so a test fails if an example reaches for the network.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from '@keyless/emulator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GUARD = fileURLToPath(new URL('./support/loopback-only.ts', import.meta.url));
const PACKAGES = ['core', 'azure', 'gcp', 'snowflake', 'oidc', 'emulator'];
/** What the guard writes to stderr for each refused connection (BLOCKED_MARKER in support/loopback-only.ts). */
const BLOCKED_MARKER = '[loopback-only] blocked';

/** Settings that would send an example to a real cloud, or change its output. */
const CLOUD_SETTINGS =
  /^(AWS_|AZURE_|GCP_|GOOGLE_|SNOWFLAKE_|OIDC_|VAULT_|TRUSTED_ISSUER$|EXPECTED_AUDIENCE$|PORT$|KEYLESS_|NODE_OPTIONS$|NODE_EXTRA_CA_CERTS$|FORCE_COLOR$)/;

/** A JWT, or a Vault token: neither may ever appear in an example's output. */
const TOKEN = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}|hvs\.[A-Za-z0-9_-]{8,}/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let cwd: string;

beforeAll(async () => {
  const missing = PACKAGES.filter((name) => !existsSync(join(ROOT, 'packages', name, 'dist', 'index.js')));
  if (missing.length > 0) {
    throw new Error(
      `The examples run against the built packages; ${missing.join(', ')} has no dist. Run pnpm build (pnpm test does).`,
    );
  }
  // A scratch working directory: anything an example writes there (a snowflake.log…) is seen and removed.
  cwd = await mkdtemp(join(tmpdir(), 'keyless-examples-'));
});
afterAll(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

/** Runs `node <script>` from the repository with a clean environment plus `env`. */
function runNode(script: string, env: Record<string, string> = {}, args: string[] = []): Promise<Run> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !CLOUD_SETTINGS.test(entry[0]),
    ),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', GUARD, ...args, join(ROOT, script)],
      {
        cwd,
        timeout: 30_000,
        env: {
          ...base,
          NO_COLOR: '1',
          SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true',
          AWS_EC2_METADATA_DISABLED: 'true',
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function expectClean(run: Run): void {
  expect(run.stderr).not.toContain(BLOCKED_MARKER);
  expect(run.stdout + run.stderr).not.toMatch(TOKEN);
}

describe.concurrent('pnpm demo and the examples, each against an emulator it starts', () => {
  test('the demo: every target, the STS column, the broken trust rule with its hint', async () => {
    const run = await runNode('examples/demo/src/main.ts');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expectClean(run);
    const lines = run.stdout.split('\n');
    for (const target of [
      'AWS STS (core)',
      'Entra ID + Azure Blob',
      'Google Cloud Storage',
      'Snowflake',
      'OAuth 2.0 (RFC 8693)',
      'HashiCorp Vault',
      'Your API (verifier)',
    ]) {
      const row = lines.find((line) => line.trimStart().startsWith(target));
      expect(row, target).toBeDefined();
      expect(row).not.toContain('FAILED');
    }
    expect(run.stdout).toContain('BlobServiceClient.listContainers(): keyless-demo');
    expect(run.stdout).toContain('Storage.getBuckets(): keyless-demo-bucket');
    expect(run.stdout).toContain('SELECT CURRENT_USER(): KEYLESS_DEMO');
    expect(run.stdout).toContain('introspection: active');
    expect(run.stdout).toContain('account 123456789012, role keyless-demo');
    // Six audiences, six JWTs: the OAuth exchange reused the first row's.
    expect(run.stdout).toMatch(/^ {2}OAuth 2\.0 \(RFC 8693\).* 4$/m);
    expect(run.stdout).toContain('STS GetWebIdentityToken calls: 6.');
    expect(run.stdout).toContain('KeylessError TOKEN_REJECTED (provider azure, target code AADSTS700213)');
    expect(run.stdout).toMatch(/hint {7}Set the subject of the federated identity credential/);
    expect(run.stdout).toMatch(/Done in [\d.]+ s: no secret stored, no token printed\./);
    // Plain text for CI logs (NO_COLOR, and not a TTY): no escape sequences.
    expect(run.stdout).not.toContain('\u001b[');
    expect(await readdir(cwd)).not.toContain('snowflake.log');
  });

  test('azure-blob lists the lab container over HTTPS', async () => {
    const run = await runNode('examples/azure-blob/src/main.ts');
    expect(run.code, run.stderr).toBe(0);
    expectClean(run);
    expect(run.stdout).toMatch(/^No AZURE_\* variables set: using the keyless emulator on 127\.0\.0\.1/);
    expect(run.stdout).toMatch(/^1 container\(s\) in https:\/\/127\.0\.0\.1:\d+\/keylessdemo$/m);
    expect(run.stdout).toContain('\n  keyless-demo\n');
  });

  test('gcp-storage lists the lab bucket, impersonating its service account', async () => {
    const run = await runNode('examples/gcp-storage/src/main.ts');
    expect(run.code, run.stderr).toBe(0);
    expectClean(run);
    expect(run.stdout).toMatch(/^No GCP_\* variables set: using the keyless emulator/);
    expect(run.stdout).toContain('1 bucket(s) in project keyless-demo\n  keyless-demo-bucket\n');
  });

  test('snowflake-query logs in and runs SELECT CURRENT_USER()', async () => {
    const run = await runNode('examples/snowflake-query/src/main.ts');
    expect(run.code, run.stderr).toBe(0);
    expectClean(run);
    expect(run.stdout).toMatch(/^No SNOWFLAKE_ACCOUNT set: using the keyless emulator/);
    expect(run.stdout).toContain('Connected to Snowflake as KEYLESS_DEMO\n');
  });

  test('oidc-exchange discovers the token endpoint and exchanges the JWT', async () => {
    const run = await runNode('examples/oidc-exchange/src/main.ts');
    expect(run.code, run.stderr).toBe(0);
    expectClean(run);
    expect(run.stdout).toMatch(/^No OIDC_\* variables set: using the keyless emulator/);
    expect(run.stdout).toMatch(/^Got a Bearer token from http:\/\/127\.0\.0\.1:\d+$/m);
    expect(run.stdout).toContain('issued_token_type  urn:ietf:params:oauth:token-type:access_token');
    expect(run.stdout).toContain('(the token itself is not printed)');
  });

  test('verify-server answers one caller with its account and role, then exits', async () => {
    const run = await runNode('examples/verify-server/src/main.ts');
    expect(run.code, run.stderr).toBe(0);
    expectClean(run);
    expect(run.stdout).toMatch(/^No TRUSTED_ISSUER or EXPECTED_AUDIENCE set: using the keyless emulator/);
    const answer = /^Server answered 200: (.*)$/m.exec(run.stdout)?.[1];
    expect(JSON.parse(answer ?? 'null')).toMatchObject({
      account: '123456789012',
      role: 'arn:aws:iam::123456789012:role/keyless-demo',
      roleName: 'keyless-demo',
    });
  });
});

describe.concurrent('with their settings, the examples use what the settings name (here: a lab of the test)', () => {
  let lab: Emulator;

  beforeAll(async () => {
    lab = await startEmulator();
    await lab.tls.writeCaFile();
  });
  afterAll(async () => {
    await lab?.close();
  });

  test('azure-blob with AZURE_* (and the AWS SDK settings of the lab): no emulator of its own', async () => {
    const run = await runNode('examples/azure-blob/src/main.ts', {
      ...lab.env(),
      AZURE_STORAGE_ACCOUNT_URL: lab.blob.accountUrl,
    });
    expect(run.code, run.stderr).toBe(0);
    expectClean(run);
    expect(run.stdout).not.toContain('keyless emulator');
    expect(run.stdout).toContain(`1 container(s) in ${lab.blob.accountUrl}\n  keyless-demo\n`);
    expect(lab.stats.get('entra:token').ok).toBeGreaterThanOrEqual(1);
  });

  test('oidc-exchange with OIDC_ISSUER and OIDC_AUDIENCE', async () => {
    const run = await runNode('examples/oidc-exchange/src/main.ts', {
      ...lab.env(),
      OIDC_ISSUER: lab.oidc.issuer,
      OIDC_AUDIENCE: lab.oidc.audience,
    });
    expect(run.code, run.stderr).toBe(0);
    expectClean(run);
    expect(run.stdout).not.toContain('keyless emulator');
    expect(run.stdout).toContain(`Got a Bearer token from ${lab.oidc.issuer}`);
    expect(lab.stats.get('oidc:token').ok).toBeGreaterThanOrEqual(1);
  });

  test('some settings but not all: exit 1 naming what is missing, before any request', async () => {
    const run = await runNode('examples/azure-blob/src/main.ts', { AZURE_TENANT_ID: lab.entra.tenantId });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Missing AZURE_CLIENT_ID, AZURE_STORAGE_ACCOUNT_URL\./);
    expect(run.stdout).toBe('');
  });
});

test('the loopback guard does refuse other hosts (so the checks above can fail)', async () => {
  const run = await runNode('test/e2e/support/fixtures/reach-out.ts');
  expect(run.stderr).toContain(`${BLOCKED_MARKER} connection to example.com`);
  expect(run.stdout).toContain('refused');
});
