/**
 * Every command through a child process against the emulator: good and bad input, exit codes
 * (0 ok, 1 failure, 2 usage) and output.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Emulator, startEmulator } from '@keyless/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { built, runKeyless } from './run-keyless.js';

let lab: Emulator;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  lab = await startEmulator();
  await lab.tls.writeCaFile();
  env = lab.env();
  dir = await mkdtemp(join(tmpdir(), 'keyless-cli-'));
});
afterAll(async () => {
  await lab?.close();
});

const JWT = /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/;

describe.skipIf(!built)('keyless (no command)', () => {
  it('--help lists every command and the exit codes; exit 0', async () => {
    const { code, stdout } = await runKeyless(['--help']);
    expect(code).toBe(0);
    for (const command of ['token', 'claims', 'doctor', 'issuer', 'setup aws', 'config gcp', 'emulator']) {
      expect(stdout).toContain(`  ${command} `);
    }
    expect(stdout).toContain('Exit codes: 0 success, 1 failure');
  });

  it('no arguments prints the help and exits 2; an unknown command exits 2', async () => {
    expect((await runKeyless([])).code).toBe(2);
    const unknown = await runKeyless(['tokens']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "tokens"');
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await runKeyless(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each(['token', 'claims', 'doctor', 'issuer', 'setup aws', 'config gcp', 'emulator'])(
    '%s --help exits 0 with its usage',
    async (name) => {
      const { code, stdout } = await runKeyless([...name.split(' '), '--help']);
      expect(code).toBe(0);
      expect(stdout).toContain(`Usage: keyless ${name}`);
    },
  );

  it('never colours output that is not a terminal', async () => {
    const { stdout, stderr } = await runKeyless(['token'], { env: { FORCE_COLOR: '1' } });
    expect(stdout + stderr).not.toContain('\u001b[');
  });
});

describe.skipIf(!built)('keyless token', () => {
  it('prints the bare JWT for the audience', async () => {
    const { code, stdout, stderr } = await runKeyless(['token', '--audience', 'https://api.example.com'], { env });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(JWT);
    const claims = JSON.parse(Buffer.from(stdout.trim().split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({ aud: 'https://api.example.com', iss: lab.issuer, sub: lab.roleArn });
  });

  it('--json adds expiry and claims; --algorithm, --duration and --tag reach STS', async () => {
    const { code, stdout } = await runKeyless(
      ['token', '--audience', 'a', '--algorithm', 'ES384', '--duration', '900', '--tag', 'team=data', '--json'],
      { env },
    );
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as { token: string; expiresAt: string; claims: Record<string, unknown> };
    expect(out.token).toMatch(JWT);
    expect(JSON.parse(Buffer.from(out.token.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'ES384' });
    expect((out.claims.exp as number) - (out.claims.iat as number)).toBe(900);
    expect(out.claims['https://sts.amazonaws.com/']).toMatchObject({ request_tags: { team: 'data' } });
    expect(Date.parse(out.expiresAt) - Date.now()).toBeGreaterThan(800_000);
  });

  it('--format google-executable prints the executable-source response and writes the output file', async () => {
    const outputFile = join(dir, 'google-output.json');
    const { code, stdout } = await runKeyless(['token', '--format', 'google-executable'], {
      env: {
        ...env,
        GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE: lab.google.audience,
        GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE: outputFile,
      },
    });
    expect(code).toBe(0);
    const response = JSON.parse(stdout) as Record<string, unknown>;
    expect(response).toMatchObject({ version: 1, success: true, token_type: 'urn:ietf:params:oauth:token-type:jwt' });
    expect(response.id_token).toMatch(JWT);
    expect(typeof response.expiration_time).toBe('number');
    expect(JSON.parse(await readFile(outputFile, 'utf8'))).toEqual(response);
    expect((await stat(outputFile)).mode & 0o777).toBe(0o600);
  });

  it('a failure is one line plus the hint, exit 1, no stack trace; --debug adds it', async () => {
    lab.trust.aws.setFederationEnabled(false);
    try {
      const plain = await runKeyless(['token', '--audience', 'a'], { env });
      expect(plain.code).toBe(1);
      expect(plain.stdout).toBe('');
      expect(plain.stderr).toMatch(
        /^error: Outbound web identity federation is not enabled for this AWS account\. \[FEDERATION_DISABLED\]\nhint: .*enable-outbound-web-identity-federation/,
      );
      expect(plain.stderr).not.toContain('    at ');
      const debug = await runKeyless(['token', '--audience', 'a', '--debug'], { env });
      expect(debug.code).toBe(1);
      expect(debug.stderr).toContain('    at ');
      const google = await runKeyless(['token', '--audience', 'a', '--format', 'google-executable'], { env });
      expect(google.code).toBe(1);
      expect(JSON.parse(google.stdout)).toMatchObject({ version: 1, success: false, code: 'FEDERATION_DISABLED' });
    } finally {
      lab.trust.aws.setFederationEnabled(true);
    }
  });

  it.each([
    [[], '--audience is required'],
    [['--audience', 'a', '--duration', '30'], '--duration must be whole seconds 60..3600, got "30"'],
    [['--audience', 'a', '--algorithm', 'HS256'], '--algorithm must be RS256 or ES384'],
    [['--audience', 'a', '--tag', 'novalue'], '--tag must look like key=value'],
    [['--audience', 'a', '--format', 'yaml'], '--format must be one of raw, json, google-executable'],
    [['--audience', 'a', '--bogus'], "Unknown option '--bogus'"],
  ])('usage error %j → exit 2', async (args, message) => {
    const { code, stderr } = await runKeyless(['token', ...args], { env });
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('usage: keyless token');
  });

  it('no region anywhere → REGION_REQUIRED, exit 1', async () => {
    const { code, stderr } = await runKeyless(['token', '--audience', 'a'], {
      env: { ...env, AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined },
    });
    expect(code).toBe(1);
    expect(stderr).toContain('[REGION_REQUIRED]');
  });
});

describe.skipIf(!built)('keyless claims', () => {
  it('decodes a token from the argument or from standard input', async () => {
    const token = (await runKeyless(['token', '--audience', 'api://AzureADTokenExchange'], { env })).stdout.trim();
    const fromArg = await runKeyless(['claims', token]);
    expect(fromArg.code).toBe(0);
    expect(fromArg.stdout).toMatch(/issuer\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(fromArg.stdout).toMatch(/subject\s+arn:aws:iam::123456789012:role\/keyless-demo/);
    expect(fromArg.stdout).toMatch(/audience\s+api:\/\/AzureADTokenExchange/);
    expect(fromArg.stdout).toMatch(/aws aws_account\s+123456789012/);
    expect(fromArg.stdout).toMatch(/expires\s+\S+ \(in \d+ s\)/);
    const fromStdin = await runKeyless(['claims', '-', '--json'], { stdin: `${token}\n` });
    expect(fromStdin.code).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({
      header: { alg: 'RS256' },
      claims: { aud: 'api://AzureADTokenExchange' },
    });
  });

  it('refuses what is not a JWT (exit 2) and needs exactly one argument', async () => {
    expect(await runKeyless(['claims', 'not-a-jwt'])).toMatchObject({ code: 2 });
    expect(await runKeyless(['claims'])).toMatchObject({ code: 2 });
    expect(await runKeyless(['claims', 'a.b.c', 'd'])).toMatchObject({ code: 2 });
  });
});

describe.skipIf(!built)('keyless issuer and setup aws', () => {
  it('issuer prints the account issuer; exit 1 when federation is disabled', async () => {
    const ok = await runKeyless(['issuer'], { env });
    expect(ok).toMatchObject({ code: 0, stdout: `${lab.issuer}\n` });
    const json = await runKeyless(['issuer', '--json'], { env });
    expect(JSON.parse(json.stdout)).toEqual({ issuer: lab.issuer, enabled: true });
    lab.trust.aws.setFederationEnabled(false);
    try {
      const disabled = await runKeyless(['issuer'], { env });
      expect(disabled.code).toBe(1);
      expect(disabled.stderr).toContain('keyless setup aws --enable');
    } finally {
      lab.trust.aws.setFederationEnabled(true);
    }
  });

  it('setup aws prints the least-privilege policy and enables federation only with --enable', async () => {
    lab.trust.aws.setFederationEnabled(false);
    try {
      const args = [
        'setup',
        'aws',
        '--audience',
        'api://AzureADTokenExchange',
        '--max-duration',
        '900',
        '--tag-key',
        'team',
      ];
      const report = await runKeyless(args, { env });
      expect(report.code).toBe(1);
      expect(report.stderr).toContain('outbound identity federation is disabled');
      expect(lab.trust.aws.isFederationEnabled()).toBe(false);
      const policy = JSON.parse(report.stdout) as { Statement: Record<string, unknown>[] };
      expect(policy.Statement[0]).toEqual({
        Sid: 'KeylessGetWebIdentityToken',
        Effect: 'Allow',
        Action: 'sts:GetWebIdentityToken',
        Resource: '*',
        Condition: {
          'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': ['api://AzureADTokenExchange'] },
          Null: { 'sts:IdentityTokenAudience': 'false' },
          StringEquals: { 'sts:SigningAlgorithm': 'RS256' },
          NumericLessThanEquals: { 'sts:DurationSeconds': 900 },
        },
      });
      expect(policy.Statement[1]).toMatchObject({ Action: 'sts:TagGetWebIdentityToken' });
      const enabled = await runKeyless([...args, '--enable'], { env });
      expect(enabled.code).toBe(0);
      expect(enabled.stderr).toContain(`issuer ${lab.issuer}`);
      expect(lab.trust.aws.isFederationEnabled()).toBe(true);
      const again = await runKeyless([...args, '--enable'], { env });
      expect(again.code).toBe(0);
    } finally {
      lab.trust.aws.setFederationEnabled(true);
    }
  });

  it('setup aws --policy-only needs no AWS access; --audience is required', async () => {
    const { code, stdout } = await runKeyless([
      'setup',
      'aws',
      '--policy-only',
      '--audience',
      'x',
      '--algorithm',
      'ES384',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).Statement[0].Condition.StringEquals).toEqual({ 'sts:SigningAlgorithm': 'ES384' });
    expect((await runKeyless(['setup', 'aws', '--policy-only'])).code).toBe(2);
    expect(
      (await runKeyless(['setup', 'aws', '--policy-only', '--audience', 'x', '--max-duration', '5000'])).code,
    ).toBe(2);
  });
});

describe.skipIf(!built)('keyless config gcp', () => {
  const provider =
    '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-oidc';

  it('prints the external_account JSON whose executable runs keyless token', async () => {
    const { code, stdout } = await runKeyless([
      'config',
      'gcp',
      '--provider',
      provider,
      '--service-account',
      'app@proj.iam.gserviceaccount.com',
      '--region',
      'eu-west-1',
    ]);
    expect(code).toBe(0);
    const config = JSON.parse(stdout) as { credential_source: { executable: { command: string } } };
    expect(config).toMatchObject({
      type: 'external_account',
      audience: provider,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: 'https://sts.googleapis.com/v1/token',
      service_account_impersonation_url:
        'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/app@proj.iam.gserviceaccount.com:generateAccessToken',
    });
    expect(config.credential_source.executable.command).toBe(
      `keyless token --audience https:${provider} --region eu-west-1 --duration 3600 --format google-executable`,
    );
  });

  it('--output writes a private file; a missing or bad provider is a usage or config error', async () => {
    const output = join(dir, 'gcp.json');
    const written = await runKeyless(['config', 'gcp', '--provider', provider, '--output', output]);
    expect(written.code).toBe(0);
    expect(JSON.parse(await readFile(output, 'utf8')).type).toBe('external_account');
    expect((await stat(output)).mode & 0o777).toBe(0o600);
    expect((await runKeyless(['config', 'gcp'])).code).toBe(2);
    const bad = await runKeyless(['config', 'gcp', '--provider', 'projects/x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('[INVALID_CONFIG]');
  });
});

describe.skipIf(!built)('keyless emulator', () => {
  it('serves until SIGTERM, writes its environment, and that environment works for keyless token', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('./run-keyless.js');
    const envFile = join(dir, 'emulator.env');
    const child = spawn(process.execPath, [BIN, 'emulator', '--quiet', '--write-env', envFile], {
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      let text = '';
      for (let i = 0; i < 100 && text === ''; i++) {
        text = await readFile(envFile, 'utf8').catch(() => '');
        if (text === '') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const served = Object.fromEntries(
        text
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      expect(served.AWS_ENDPOINT_URL_STS).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const token = await runKeyless(['token', '--audience', 'a'], { env: served });
      expect(token.code).toBe(0);
      expect(stdout).toContain(`export AWS_ENDPOINT_URL_STS='${served.AWS_ENDPOINT_URL_STS}'`);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
