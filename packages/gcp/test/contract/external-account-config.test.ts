import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExternalAccountClient, GoogleAuth, PluggableAuthClient } from 'google-auth-library';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { externalAccountConfig, writeExternalAccountConfig } from '../../src/index.js';
import {
  AWS_AUDIENCE,
  CLOUD_PLATFORM,
  googleAccessToken,
  iamSuccess,
  jwtProvider,
  mockIam,
  mockSts,
  PROVIDER_NAME,
  SERVICE_ACCOUNT,
  stsSuccess,
} from '../google.js';

const IMPERSONATION_URL = `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-gcp-'));
  // Without a project, GoogleAuth looks one up (gcloud, the metadata server, Cloud Resource Manager).
  vi.stubEnv('GOOGLE_CLOUD_PROJECT', 'my-project');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('externalAccountConfig', () => {
  it('builds the external_account JSON with an executable source running keyless token', () => {
    const config = externalAccountConfig({ audience: PROVIDER_NAME, serviceAccountEmail: SERVICE_ACCOUNT });
    expect(config).toEqual({
      type: 'external_account',
      audience: PROVIDER_NAME,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: 'https://sts.googleapis.com/v1/token',
      service_account_impersonation_url: IMPERSONATION_URL,
      universe_domain: 'googleapis.com',
      credential_source: {
        executable: {
          command: `keyless token --audience ${AWS_AUDIENCE} --duration 3600 --format google-executable`,
          timeout_millis: 30_000,
        },
      },
    });
  });

  it('adds the flags that were given, the lifetime, output_file, and the universe’s endpoints', () => {
    const config = externalAccountConfig({
      projectNumber: '123456789012',
      poolId: 'aws-pool',
      providerId: 'aws-oidc',
      serviceAccountEmail: SERVICE_ACCOUNT,
      tokenLifetimeSeconds: 1800,
      universeDomain: 'example-universe.test',
      keylessCommand: '/opt/keyless/bin/keyless',
      timeoutMillis: 10_000,
      outputFile: '/run/keyless/google-token.json',
      aws: {
        audience: 'https://google.example.com',
        region: 'eu-west-1',
        signingAlgorithm: 'RS256',
        durationSeconds: 900,
        endpoint: 'https://vpce-0123.sts.eu-west-1.vpce.amazonaws.com',
        profile: 'workload',
      },
    });
    expect(config.audience).toBe(PROVIDER_NAME);
    expect(config.token_url).toBe('https://sts.example-universe.test/v1/token');
    expect(config.universe_domain).toBe('example-universe.test');
    expect(config.service_account_impersonation_url).toBe(
      `https://iamcredentials.example-universe.test/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`,
    );
    expect(config.service_account_impersonation).toEqual({ token_lifetime_seconds: 1800 });
    expect(config.credential_source.executable).toEqual({
      command:
        '/opt/keyless/bin/keyless token --audience https://google.example.com --region eu-west-1 --algorithm RS256 --duration 900 --endpoint https://vpce-0123.sts.eu-west-1.vpce.amazonaws.com/ --profile workload --format google-executable',
      timeout_millis: 10_000,
      output_file: '/run/keyless/google-token.json',
    });
  });

  it('leaves impersonation out when no service account is given', () => {
    const config = externalAccountConfig({ audience: PROVIDER_NAME });
    expect(config).not.toHaveProperty('service_account_impersonation_url');
    expect(config).not.toHaveProperty('service_account_impersonation');
  });

  it.each([
    [{ keylessCommand: '"/Program Files/keyless"' }, 'keylessCommand'],
    [{ aws: { region: 'us east' } }, 'aws.region'],
    [{ aws: { signingAlgorithm: 'ES384' as 'RS256' } }, 'aws.signingAlgorithm must be RS256'],
    [{ aws: { durationSeconds: 30 } }, 'aws.durationSeconds must be an integer 60..3600, got 30'],
    [{ aws: { credentials: {} } as never }, 'aws.credentials cannot be expressed'],
    [{ timeoutMillis: 1000 }, 'timeoutMillis must be an integer 5000..120000, got 1000'],
    [{ tokenLifetimeSeconds: 1800 }, 'tokenLifetimeSeconds only applies to service account impersonation'],
  ])('refuses %j with INVALID_CONFIG naming the option', (extra, message) => {
    expect(() => externalAccountConfig({ audience: PROVIDER_NAME, ...extra })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', provider: 'gcp', message: expect.stringContaining(message) }),
    );
  });

  it('is accepted by ExternalAccountClient.fromJSON as a PluggableAuthClient', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const config = externalAccountConfig({
      audience: PROVIDER_NAME,
      serviceAccountEmail: SERVICE_ACCOUNT,
      timeoutMillis: 5_000,
    });
    const client = ExternalAccountClient.fromJSON(config);
    expect(client).toBeInstanceOf(PluggableAuthClient);
    expect(client?.getServiceAccountEmail()).toBe(SERVICE_ACCOUNT);
    expect(client?.universeDomain).toBe('googleapis.com');
    expect(client?.projectNumber).toBe('123456789012');
    warn.mockRestore();
  });
});

describe('the written file, read by google-auth-library as GOOGLE_APPLICATION_CREDENTIALS', () => {
  it('runs the keyless command with the flags and trades its JWT at STS and IAM Credentials', async () => {
    const jwt = await jwtProvider();
    const argsFile = join(dir, 'args.json');
    const script = join(dir, 'fake-keyless.mjs');
    // Stands in for `keyless token --format google-executable`: records its argv and environment, prints the response.
    await writeFile(
      script,
      `import { writeFileSync } from 'node:fs';
writeFileSync(process.env.FAKE_ARGS_FILE, JSON.stringify({ args: process.argv.slice(2), audience: process.env.GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE, tokenType: process.env.GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE }));
process.stdout.write(JSON.stringify({ version: 1, success: true, token_type: 'urn:ietf:params:oauth:token-type:jwt', id_token: process.env.FAKE_JWT, expiration_time: Math.floor(Date.now() / 1000) + 3600 }));
`,
    );
    const file = join(dir, 'credentials.json');
    const written = await writeExternalAccountConfig(file, {
      audience: PROVIDER_NAME,
      serviceAccountEmail: SERVICE_ACCOUNT,
      keylessCommand: `${process.execPath} ${script}`,
      aws: { region: 'us-east-1', durationSeconds: 900 },
    });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(written);

    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', file);
    vi.stubEnv('GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES', '1');
    vi.stubEnv('FAKE_ARGS_FILE', argsFile);
    vi.stubEnv('FAKE_JWT', jwt.token);
    const saToken = googleAccessToken('service-account');
    const sts = mockSts([stsSuccess(googleAccessToken('federated'))]);
    const iam = mockIam([iamSuccess(saToken)]);

    const token = await new GoogleAuth({ scopes: [CLOUD_PLATFORM] }).getAccessToken();

    expect(token).toBe(saToken);
    sts.scope.done();
    iam.scope.done();
    const form = Object.fromEntries(new URLSearchParams(sts.captured[0]!.body));
    expect(form).toMatchObject({
      audience: PROVIDER_NAME,
      subject_token: jwt.token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    });
    expect(JSON.parse(await readFile(argsFile, 'utf8'))).toEqual({
      args: [
        'token',
        '--audience',
        AWS_AUDIENCE,
        '--region',
        'us-east-1',
        '--duration',
        '900',
        '--format',
        'google-executable',
      ],
      audience: PROVIDER_NAME,
      tokenType: 'urn:ietf:params:oauth:token-type:jwt',
    });
  });

  it('is refused by google-auth-library without GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1', async () => {
    const file = join(dir, 'credentials.json');
    await writeExternalAccountConfig(file, { audience: PROVIDER_NAME });
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', file);
    vi.stubEnv('GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES', '');
    await expect(new GoogleAuth().getAccessToken()).rejects.toThrow(/GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES/);
  });
});
