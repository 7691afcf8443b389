import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectNoSecrets } from '../../../test/support/leaks.js';
import { type Emulator, startEmulator } from '../src/index.js';
import { postForm, requestJson, stsToken } from './helpers.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const dist = {
  esm: join(packageDir, 'dist/index.js'),
  cjs: join(packageDir, 'dist/index.cjs'),
  bin: join(packageDir, 'dist/bin.js'),
};

let labs: Emulator[] = [];
async function start(options: Parameters<typeof startEmulator>[0] = {}): Promise<Emulator> {
  const lab = await startEmulator(options);
  labs.push(lab);
  return lab;
}
afterEach(async () => {
  await Promise.all(labs.map((lab) => lab.close()));
  labs = [];
});

function origins(lab: Emulator): string[] {
  return [
    lab.url,
    lab.entra.authorityHost,
    new URL(lab.blob.accountUrl).origin,
    lab.google.origin,
    lab.snowflake.accessUrl,
    lab.oidc.issuer,
    lab.vault.address,
  ];
}

/**
 * Which of these addresses accept a TCP connection. Probed from a child process: nock 15's interceptor (set up
 * for every test) also fakes raw sockets in this one, so a probe here would always "connect".
 */
async function probe(targets: [host: string, port: number][]): Promise<string[]> {
  const script = `
    const net = require('node:net');
    const targets = ${JSON.stringify(targets)};
    Promise.all(targets.map(([host, port]) => new Promise((resolve) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => { socket.destroy(); resolve('connected'); });
      socket.once('error', (error) => resolve(error.code || 'error'));
    }))).then((results) => console.log(JSON.stringify(results)));`;
  const result = await runNode(['-e', script]);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as string[];
}

function runNode(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: packageDir, env: { ...process.env, ...env }, timeout: 15_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error ? ((error as { code?: number }).code ?? 1) : 0,
          stdout,
          stderr,
          ms: Date.now() - started,
        });
      },
    );
  });
}

describe('network exposure', () => {
  it('listens on 127.0.0.1 only, one origin per service', async () => {
    const lab = await start();
    const all = origins(lab);
    expect(new Set(all).size).toBe(7);
    for (const origin of all) expect(new URL(origin).hostname).toBe('127.0.0.1');
    const ports = all.map((origin) => Number(new URL(origin).port));
    // Only loopback is probed: IPv4 must answer, IPv6 loopback must not.
    const results = await probe([
      ...ports.map((port): [string, number] => ['127.0.0.1', port]),
      ...ports.map((port): [string, number] => ['::1', port]),
    ]);
    expect(results).toEqual([...ports.map(() => 'connected'), ...ports.map(() => 'ECONNREFUSED')]);
    // The kernel's own table of listening sockets (Linux): every one of ours is bound to 127.0.0.1, none to IPv6.
    if (existsSync('/proc/net/tcp')) {
      const listening = await listeningSockets();
      for (const port of ports) {
        expect(listening.filter((l) => l.port === port)).toEqual([{ address: '127.0.0.1', port }]);
      }
    }
  });
});

/** LISTEN entries of /proc/net/tcp and /proc/net/tcp6 as address and port. */
async function listeningSockets(): Promise<{ address: string; port: number }[]> {
  const sockets: { address: string; port: number }[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== '0A') continue;
      const [hex, port] = local.split(':');
      const address =
        hex!.length === 8
          ? hex!
              .match(/../g)!
              .reverse()
              .map((b) => Number.parseInt(b, 16))
              .join('.')
          : `ipv6:${hex}`;
      sockets.push({ address, port: Number.parseInt(port!, 16) });
    }
  }
  return sockets;
}

describe('close()', () => {
  it('stops every server, drops kept-alive connections and can be called twice', async () => {
    const lab = await start();
    lab.tls.trust();
    await fetch(`${lab.issuer}/.well-known/openid-configuration`);
    await fetch(`${lab.entra.authorityHost}/common/discovery/instance`);
    const ports = origins(lab).map((origin) => Number(new URL(origin).port));
    await Promise.all([lab.close(), lab.close()]);
    expect(await probe(ports.map((port): [string, number] => ['127.0.0.1', port]))).toEqual(
      ports.map(() => 'ECONNREFUSED'),
    );
    await expect(fetch(`${lab.issuer}/.well-known/jwks.json`)).rejects.toThrow();
  });

  it.each(['esm', 'cjs'] as const)(
    'leaves no handle open: a %s process that starts and closes it exits on its own',
    async (format) => {
      expect(
        existsSync(dist[format]),
        `build the package first: pnpm --filter @keyless/emulator build (${dist[format]})`,
      ).toBe(true);
      const load =
        format === 'esm' ? `await import(${JSON.stringify(dist.esm)})` : `require(${JSON.stringify(dist.cjs)})`;
      const script = `(async () => {
      const { startEmulator } = ${load};
      const lab = await startEmulator({ trustCertificate: true });
      await fetch(lab.issuer + '/.well-known/openid-configuration');
      await fetch(lab.entra.authorityHost + '/common/discovery/instance');
      // A request still held by a long latency fault when close() runs: its timer must not keep the process up.
      lab.faults.latency('vault:health', 600000);
      const pending = fetch(lab.vault.address + '/v1/sys/health').catch(() => 'dropped');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await lab.close();
      if ((await pending) !== 'dropped') throw new Error('the delayed request should have been dropped');
      console.log('closed');
    })();`;
      const result = await runNode(['-e', script]);
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toBe('closed');
      expect(result.code).toBe(0);
    },
  );
});

describe('use from another process', () => {
  it('env() points an unconfigured AWS SDK and a fetch over HTTPS (NODE_EXTRA_CA_CERTS) at the emulator', async () => {
    const lab = await start();
    const caFile = await lab.tls.writeCaFile();
    const env = lab.env();
    expect(env).toMatchObject({
      AWS_ENDPOINT_URL_STS: lab.stsEndpoint,
      AWS_ENDPOINT_URL_IAM: lab.iamEndpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: lab.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: lab.credentials.secretAccessKey,
      AZURE_AUTHORITY_HOST: lab.entra.authorityHost,
      VAULT_ADDR: lab.vault.address,
      NODE_EXTRA_CA_CERTS: caFile,
      KEYLESS_EMULATOR_ISSUER: lab.issuer,
    });
    const script = `
      const { STSClient, GetWebIdentityTokenCommand } = require('@aws-sdk/client-sts');
      const { IAMClient, GetOutboundWebIdentityFederationInfoCommand } = require('@aws-sdk/client-iam');
      (async () => {
        const out = await new STSClient({}).send(new GetWebIdentityTokenCommand({ Audience: ['child'], SigningAlgorithm: 'RS256' }));
        const body = JSON.parse(Buffer.from(out.WebIdentityToken.split('.')[1], 'base64url').toString());
        const info = await new IAMClient({}).send(new GetOutboundWebIdentityFederationInfoCommand({}));
        const discovery = await fetch(process.env.AZURE_AUTHORITY_HOST + '/common/discovery/instance');
        console.log(JSON.stringify({ iss: body.iss, aud: body.aud, iamIssuer: info.IssuerIdentifier, https: discovery.status }));
      })();`;
    const result = await runNode(['-e', script], { ...env, AWS_PROFILE: '', AWS_SESSION_TOKEN: '' });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ iss: lab.issuer, aud: 'child', iamIssuer: lab.issuer, https: 200 });
  });

  it('writeCaFile keeps the certificates NODE_EXTRA_CA_CERTS already names, and close() removes its own file', async () => {
    const inherited = join(tmpdir(), `keyless-inherited-${process.pid}.pem`);
    await writeFile(inherited, '-----BEGIN CERTIFICATE-----\nINHERITED\n-----END CERTIFICATE-----\n');
    vi.stubEnv('NODE_EXTRA_CA_CERTS', inherited);
    const lab = await start();
    const file = await lab.tls.writeCaFile();
    const content = await readFile(file, 'utf8');
    expect(content.startsWith(lab.tls.ca)).toBe(true);
    expect(content).toContain('INHERITED');
    await lab.close();
    expect(existsSync(file)).toBe(false);
  });

  it('the keyless-emulator command writes the environment once it is up and stops on SIGTERM', async () => {
    expect(existsSync(dist.bin), 'build the package first').toBe(true);
    const envFile = join(tmpdir(), `keyless-emulator-${process.pid}-${Date.now()}.env`);
    const child = spawn(process.execPath, [dist.bin, '--write-env', envFile, '--quiet'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 100 && !existsSync(envFile); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      const env = Object.fromEntries(
        (await readFile(envFile, 'utf8'))
          .trim()
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      expect(env.NODE_EXTRA_CA_CERTS).toMatch(/keyless-emulator-ca-.*\.pem$/);
      const discovery = await requestJson(`${env.KEYLESS_EMULATOR_ISSUER}/.well-known/openid-configuration`);
      expect(discovery.body.issuer).toBe(env.KEYLESS_EMULATOR_ISSUER);
      expect(stdout).toContain(`export AWS_ENDPOINT_URL_STS='${env.AWS_ENDPOINT_URL_STS}'`);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(env.NODE_EXTRA_CA_CERTS!)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('toJSON() describes every endpoint and default identity', async () => {
    const lab = await start();
    const description = JSON.parse(JSON.stringify(lab));
    expect(description).toEqual(lab.toJSON());
    expect(Object.keys(description).sort()).toEqual(
      [
        'accountId',
        'blob',
        'credentials',
        'entra',
        'google',
        'iamEndpoint',
        'issuer',
        'jwksUri',
        'oidc',
        'region',
        'roleArn',
        'snowflake',
        'stsEndpoint',
        'url',
        'vault',
      ].sort(),
    );
  });
});

describe('options', () => {
  it('are checked before anything binds', async () => {
    await expect(startEmulator({ port: 70000 })).rejects.toThrow(
      'port must be an integer 0..65535 (0: any free port), got 70000',
    );
    await expect(startEmulator({ ports: { nope: 1 } as never })).rejects.toThrow('ports.nope is not a service');
    await expect(startEmulator({ port: 4000, ports: { vault: 4000 } })).rejects.toThrow(
      'must not repeat a port number',
    );
    await expect(startEmulator({ region: 'mars' })).rejects.toThrow('region must be an AWS region name');
    await expect(startEmulator({ maxTokenPayloadBytes: 1 })).rejects.toThrow(
      'maxTokenPayloadBytes must be an integer >= 256',
    );
  });

  it('fixed ports are used, and a taken port fails clearly without leaving other servers up', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      await expect(startEmulator({ ports: { vault: taken } })).rejects.toThrow(
        `cannot listen for vault on 127.0.0.1:${taken} (EADDRINUSE)`,
      );
      const lab = await start({ port: 0, ports: { snowflake: 0 } });
      expect(lab.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      blocker.close();
    }
  });

  it('defaults: false starts with no principal and no trust rules', async () => {
    const lab = await start({ defaults: false });
    expect(lab.trust.aws.listPrincipals()).toEqual([]);
    expect(lab.trust.entra.listApps()).toEqual([]);
    lab.trust.reset();
    expect(lab.trust.snowflake.listUsers()).toEqual([]);
    const response = await fetch(lab.stsEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `AWS4-HMAC-SHA256 Credential=${lab.credentials.accessKeyId}/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00`,
      },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(await response.text()).toContain('<Code>InvalidClientTokenId</Code>');
  });

  it('the package entry stays light: the servers and jose load only in startEmulator()', async () => {
    expect(existsSync(dist.esm), 'build the package first').toBe(true);
    // The entry and every chunk it imports statically.
    const seen = new Set<string>();
    const texts: string[] = [];
    const visit = async (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = await readFile(join(packageDir, 'dist', file), 'utf8');
      texts.push(text);
      for (const match of text.matchAll(/^import[^;]*?from\s+["']\.\/([^"']+)["']/gm)) await visit(match[1]!);
    };
    await visit('index.js');
    const eager = texts.join('\n');
    expect(eager).not.toMatch(/from ["']jose["']/);
    expect(eager).not.toMatch(/from ["']https?["']/);
    expect(eager).toMatch(/import\(["']\.\/lab-[\w-]+\.js["']\)/);
  });
});

describe('no secret reaches the log', () => {
  it('logs method, path and status only, never a token', async () => {
    const lines: string[] = [];
    const record = (line: string) => lines.push(line);
    const lab = await start({
      logger: { debug: record, info: record, warn: record, error: record },
      trustCertificate: true,
    });
    const secrets: string[] = [];
    const awsToken = await stsToken(lab, lab.entra.audience);
    secrets.push(awsToken);
    const entra = await postForm(lab.entra.tokenEndpoint, {
      client_id: lab.entra.clientId,
      scope: lab.entra.storageScope,
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: awsToken,
    });
    secrets.push(String(entra.body.access_token));
    await fetch(`${lab.blob.accountUrl}?comp=list`, {
      headers: { authorization: `Bearer ${String(entra.body.access_token)}` },
    });
    await postForm(lab.entra.tokenEndpoint, {
      client_id: 'x',
      scope: 'y/.default',
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: awsToken,
    });
    const googleJwt = await stsToken(lab, `https:${lab.google.audience}`);
    secrets.push(googleJwt);
    const google = await postForm(lab.google.stsTokenUrl, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: lab.google.audience,
      subject_token: googleJwt,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    });
    secrets.push(String(google.body.access_token));
    await fetch(`${lab.google.storageApiEndpoint}/storage/v1/b?project=${lab.google.projectId}`, {
      headers: { authorization: `Bearer ${String(google.body.access_token)}` },
    });
    const vaultJwt = await stsToken(lab, 'vault');
    secrets.push(vaultJwt);
    const vault = await requestJson(`${lab.vault.address}/v1/auth/jwt/login`, { role: lab.vault.role, jwt: vaultJwt });
    secrets.push(String((vault.body.auth as { client_token: string }).client_token));
    await requestJson(`${lab.vault.address}/v1/auth/jwt/login`, { role: 'nope', jwt: vaultJwt });
    expect(lines.length).toBeGreaterThan(8);
    expect(lines.some((line) => line.includes('AADSTS700016'))).toBe(true);
    expectNoSecrets(lines, secrets);
  });
});
