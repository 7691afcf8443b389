import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import snowflake from 'snowflake-sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { snowflakeJwt, tokensInTurn } from '../support/helpers.js';

const run = promisify(execFile);
const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

/**
 * Runs in a fresh Node process against the build: records every module whose path mentions
 * snowflake-sdk or @aws-sdk/client-sts (import and require alike, via module.registerHooks), calls
 * snowflakeConnectionOptions, then connectSnowflake (against a closed local port) as the positive
 * control that the recorder does see snowflake-sdk when it loads.
 */
const ESM_SCRIPT = `
import { registerHooks } from 'node:module';
const seen = [];
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    if (/snowflake-sdk|client-sts/.test(result.url)) seen.push(result.url);
    return result;
  },
});
const keyless = await import(process.env.KEYLESS_ENTRY);
const webIdentityToken = async () => ({ token: process.env.JWT, expiresAt: new Date(Date.now() + 300000), claims: {} });
const base = { account: 'myorg-myacct', host: 'myorg-myacct.snowflakecomputing.com', webIdentityToken };
const options = await keyless.snowflakeConnectionOptions(base);
const afterOptions = [...seen];
const error = await keyless.connectSnowflake({ ...base, accessUrl: 'http://127.0.0.1:9', sfRetryMaxLoginRetries: 0 }).catch((e) => e);
console.log('REPORT ' + JSON.stringify({ afterOptions, tokenSet: options.token === process.env.JWT, afterConnect: seen, errorCode: error.code }));
`;

const CJS_SCRIPT = `
const loaded = () => Object.keys(require.cache).filter((k) => /snowflake-sdk|client-sts/.test(k));
const keyless = require(process.env.KEYLESS_ENTRY);
const webIdentityToken = async () => ({ token: process.env.JWT, expiresAt: new Date(Date.now() + 300000), claims: {} });
const base = { account: 'myorg-myacct', host: 'myorg-myacct.snowflakecomputing.com', webIdentityToken };
(async () => {
  const options = await keyless.snowflakeConnectionOptions(base);
  const afterOptions = loaded();
  const error = await keyless.connectSnowflake({ ...base, accessUrl: 'http://127.0.0.1:9', sfRetryMaxLoginRetries: 0 }).catch((e) => e);
  console.log('REPORT ' + JSON.stringify({ afterOptions, tokenSet: options.token === process.env.JWT, afterConnect: loaded(), errorCode: error.code }));
})();
`;

interface Report {
  afterOptions: string[];
  tokenSet: boolean;
  afterConnect: string[];
  errorCode: string;
}

async function inChild(kind: 'esm' | 'cjs'): Promise<Report> {
  const entry = `${dist}${kind === 'esm' ? 'index.js' : 'index.cjs'}`;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run pnpm --filter @keyless/snowflake build first`);
  const args = kind === 'esm' ? ['--input-type=module', '-e', ESM_SCRIPT] : ['-e', CJS_SCRIPT];
  // snowflake-sdk logs to ./snowflake.log by default: keep that out of the checkout.
  const { stdout } = await run(process.execPath, args, {
    cwd: scratch,
    env: {
      PATH: process.env.PATH ?? '',
      KEYLESS_ENTRY: kind === 'esm' ? new URL(`file://${entry}`).href : entry,
      JWT: await snowflakeJwt(),
      SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    timeout: 30_000,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
  if (!line) throw new Error(`no report from the child process:\n${stdout}`);
  return JSON.parse(line.slice('REPORT '.length)) as Report;
}

let scratch = '';
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'keyless-snowflake-'));
  snowflake.configure({ logLevel: 'OFF' });
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('snowflake-sdk is loaded lazily', () => {
  it.each(['esm', 'cjs'] as const)(
    '%s build: importing @keyless/snowflake and snowflakeConnectionOptions load neither snowflake-sdk nor the STS client',
    async (kind) => {
      const report = await inChild(kind);
      expect(report.tokenSet).toBe(true);
      expect(report.afterOptions).toEqual([]);
      // Positive control: the first connection loads it (and fails on the closed port, as NETWORK).
      expect(report.afterConnect.some((p) => p.includes('snowflake-sdk'))).toBe(true);
      expect(report.errorCode).toBe('NETWORK');
    },
  );

  it('sources: snowflakeConnectionOptions never calls the loader; connectSnowflake does, once', async () => {
    vi.resetModules();
    const load = vi.fn();
    vi.doMock('../../src/load-snowflake-sdk.js', async (importOriginal) => {
      const actual = await importOriginal<typeof import('../../src/load-snowflake-sdk.js')>();
      load.mockImplementation(actual.loadSnowflakeSdk);
      return { ...actual, loadSnowflakeSdk: load };
    });
    const { snowflakeConnectionOptions, connectSnowflake } = await import('../../src/index.js');
    const base = { account: 'myorg-myacct', host: 'myorg-myacct.snowflakecomputing.com' };
    await snowflakeConnectionOptions({ ...base, webIdentityToken: tokensInTurn(await snowflakeJwt()).provider });
    expect(load).not.toHaveBeenCalled();
    await connectSnowflake({
      ...base,
      accessUrl: 'http://127.0.0.1:9',
      sfRetryMaxLoginRetries: 0,
      webIdentityToken: tokensInTurn(await snowflakeJwt()).provider,
    }).catch(() => undefined);
    expect(load).toHaveBeenCalledTimes(1);
    vi.doUnmock('../../src/load-snowflake-sdk.js');
  });
});
