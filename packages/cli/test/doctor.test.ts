/**
 * `keyless doctor` through a child process against the emulator: a correct set-up passes every check,
 * and each kind of mismatch fails the right check, shows presented against expected, and exits 1.
 */
import { EMULATOR_DEFAULTS, type Emulator, startEmulator } from '@keyless/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { built, runKeyless } from './run-keyless.js';

let lab: Emulator;
let env: Record<string, string>;

beforeAll(async () => {
  lab = await startEmulator();
  await lab.tls.writeCaFile();
  env = lab.env();
});
afterEach(() => lab.trust.reset());
afterAll(async () => {
  await lab?.close();
});

function line(output: string, check: string): string {
  return output.split('\n').find((l) => l.slice(2).startsWith(`${check} `)) ?? `(no line for ${check})`;
}

const gcpArgs = () => [
  '--target',
  'gcp',
  '--gcp-provider',
  lab.google.audience,
  '--gcp-token-url',
  lab.google.stsTokenUrl,
  '--gcp-iam-url',
  lab.google.iamCredentialsUrl,
  '--service-account',
  lab.google.serviceAccountEmail,
];
const snowflakeArgs = () => [
  '--target',
  'snowflake',
  '--account',
  lab.snowflake.account,
  '--user',
  lab.snowflake.user,
  '--snowflake-host',
  lab.snowflake.host,
  '--access-url',
  lab.snowflake.accessUrl,
];

describe.skipIf(!built)('keyless doctor on a correct set-up', () => {
  it('passes every AWS-side check, one line each, exit 0', async () => {
    const { code, stdout } = await runKeyless(['doctor'], { env });
    expect(code).toBe(0);
    for (const check of [
      'region',
      'credentials',
      'caller identity',
      'outbound federation',
      'token',
      'token issuer',
      'issuer discovery',
      'signature',
    ]) {
      expect(line(stdout, check)).toMatch(/^✔ /);
    }
    expect(line(stdout, 'caller identity')).toContain('arn:aws:sts::123456789012:assumed-role/keyless-demo');
    expect(line(stdout, 'outbound federation')).toContain(`issuer ${lab.issuer}`);
    expect(stdout).toContain('all checks passed (8 passed, 0 failed, 0 skipped)');
  });

  it.each([
    ['azure', () => ['--target', 'azure', '--scope', lab.entra.storageScope], 'Entra ID issued an access token'],
    ['gcp', gcpArgs, `Google issued an access token for ${EMULATOR_DEFAULTS.google.serviceAccountEmail}`],
    ['snowflake', snowflakeArgs, 'Snowflake opened a session'],
    [
      'oidc',
      () => ['--target', 'oidc', '--token-endpoint', lab.oidc.tokenEndpoint, '--audience', lab.oidc.audience],
      'issued a Bearer token',
    ],
  ])('--target %s: audience, algorithm and a dry exchange pass', async (target, args, exchanged) => {
    const { code, stdout } = await runKeyless(['doctor', ...args()], { env, timeoutMs: 30_000 });
    expect(stdout).toContain('all checks passed');
    expect(code).toBe(0);
    expect(line(stdout, `${target} exchange`)).toContain(exchanged);
  });

  it('--json prints the checks', async () => {
    const { code, stdout } = await runKeyless(['doctor', '--json'], { env });
    expect(code).toBe(0);
    const { checks } = JSON.parse(stdout) as { checks: { name: string; status: string }[] };
    expect(checks.map((c) => c.status)).toEqual(Array(8).fill('pass'));
  });
});

describe.skipIf(!built)('keyless doctor explains each kind of mismatch', () => {
  it('subject: the federated credential names another role', async () => {
    const { clientId, tenantId } = lab.entra;
    lab.trust.entra.removeFederatedCredential(clientId, EMULATOR_DEFAULTS.azure.federatedCredentialName, tenantId);
    lab.trust.entra.addFederatedCredential(
      clientId,
      { issuer: lab.issuer, subject: 'arn:aws:iam::123456789012:role/other' },
      tenantId,
    );
    const { code, stdout } = await runKeyless(['doctor', '--target', 'azure'], { env });
    expect(code).toBe(1);
    expect(line(stdout, 'azure exchange')).toMatch(/^✖ .*\[TOKEN_REJECTED\]$/);
    expect(stdout).toContain(`sub: presented ${lab.roleArn}`);
    expect(stdout).toMatch(/hint: .*subject/i);
    expect(stdout).toContain('1 check failed');
  });

  it('audience: the token is not for the target', async () => {
    const { code, stdout } = await runKeyless(['doctor', '--target', 'azure', '--audience', 'https://wrong.example'], {
      env,
    });
    expect(code).toBe(1);
    expect(line(stdout, 'azure audience')).toMatch(/^✖ /);
    expect(stdout).toContain('aud: presented https://wrong.example, expected api://AzureADTokenExchange  ← differs');
    expect(stdout).toContain('hint: Request the token with --audience api://AzureADTokenExchange');
  });

  it('algorithm: ES384 for a target that wants RS256', async () => {
    const { code, stdout } = await runKeyless(['doctor', ...gcpArgs(), '--algorithm', 'ES384'], { env });
    expect(code).toBe(1);
    expect(line(stdout, 'gcp algorithm')).toMatch(/^✖ /);
    expect(stdout).toContain('alg: presented ES384, expected RS256  ← differs');
  });

  it('permission: the Google service account does not trust the principal', async () => {
    const member = lab.trust.google.listServiceAccounts()[0]!.members[0]!;
    lab.trust.google.removeServiceAccountMember(lab.google.serviceAccountEmail, member);
    const { code, stdout } = await runKeyless(['doctor', ...gcpArgs()], { env });
    expect(code).toBe(1);
    expect(line(stdout, 'gcp exchange')).toMatch(/\[ACCESS_DENIED\]$/);
    expect(stdout).toContain('roles/iam.workloadIdentityUser');
    expect(stdout).toContain(
      'principal://iam.googleapis.com/projects/987654321098/locations/global/workloadIdentityPools/keyless-pool/subject/',
    );
  });

  it('issuer: the Snowflake user trusts another issuer', async () => {
    lab.trust.snowflake.removeUser(lab.snowflake.user);
    lab.trust.snowflake.addUser({
      name: lab.snowflake.user,
      workloadIdentity: { type: 'OIDC', issuer: 'https://elsewhere.example', subject: lab.roleArn },
    });
    const { code, stdout } = await runKeyless(['doctor', ...snowflakeArgs()], { env, timeoutMs: 30_000 });
    expect(code).toBe(1);
    expect(line(stdout, 'snowflake exchange')).toMatch(/^✖ /);
    expect(stdout).toContain(`iss: presented ${lab.issuer}`);
  });

  it('federation disabled: the IAM check fails and the token is skipped', async () => {
    lab.trust.aws.setFederationEnabled(false);
    const { code, stdout } = await runKeyless(['doctor'], { env });
    expect(code).toBe(1);
    expect(line(stdout, 'outbound federation')).toMatch(/^✖ outbound federation\s+disabled/);
    expect(stdout).toContain('hint: Enable it once per account: keyless setup aws --enable');
    expect(line(stdout, 'token')).toMatch(/^- token\s+skipped: outbound federation is disabled/);
  });

  it('no credentials and no region', async () => {
    const noCredentials = await runKeyless(['doctor'], {
      env: { ...env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
    });
    expect(noCredentials.code).toBe(1);
    expect(line(noCredentials.stdout, 'credentials')).toMatch(/^✖ .*\[AWS_CREDENTIALS_MISSING\]$/);
    const noRegion = await runKeyless(['doctor'], {
      env: { ...env, AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined },
    });
    expect(noRegion.code).toBe(1);
    expect(line(noRegion.stdout, 'region')).toMatch(/^✖ .*\[REGION_REQUIRED\]$/);
  });

  it('usage errors exit 2', async () => {
    expect((await runKeyless(['doctor', '--target', 'aws'], { env })).code).toBe(2);
    expect((await runKeyless(['doctor', '--target', 'gcp'], { env })).code).toBe(2);
    expect((await runKeyless(['doctor', '--target', 'oidc'], { env })).code).toBe(2);
  });
});
