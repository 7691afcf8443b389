/**
 * Fault injection for the STS hop: each fault has a required outcome (bounded retries then a typed
 * error; a usable cached token keeps being served; no unhandled rejection; no handle left open).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nock from 'nock';
import { describe, expect, it, vi } from 'vitest';
import { makeAwsJwt, stsErrorXml, stsSuccessXml, TEST_CREDENTIALS } from '../../../../test/support/aws.js';
import { faults, withLoopbackServer } from '../../../../test/support/loopback.js';
import { fromAwsWebIdentityToken, type KeylessError } from '../../src/index.js';

const STS = 'https://sts.us-east-1.amazonaws.com';
const base = { region: 'us-east-1', credentials: TEST_CREDENTIALS, audience: 'a' };
const fast = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

async function success(options: { iat?: number; lifetime?: number } = {}) {
  const token = await makeAwsJwt({ audience: 'a', ...options });
  return stsSuccessXml(token, new Date(Date.now() + (options.lifetime ?? 300) * 1000));
}

describe('STS faults', () => {
  it('5xx: three attempts, then a retryable EXCHANGE_FAILED; no fourth call', async () => {
    const scope = nock(STS)
      .post('/')
      .times(3)
      .reply(503, stsErrorXml('ServiceUnavailable', 'try later', 'Receiver'));
    const extra = nock(STS)
      .post('/')
      .reply(200, await success());
    const error = (await fromAwsWebIdentityToken({ ...base, retry: fast })().catch((e: unknown) => e)) as KeylessError;
    scope.done();
    expect(extra.isDone()).toBe(false);
    expect(error).toMatchObject({ code: 'EXCHANGE_FAILED', retryable: true, details: { status: 503 } });
  });

  it('429 with Retry-After: THROTTLED carrying the delay, retried, then success', async () => {
    const scope = nock(STS)
      .post('/')
      .reply(429, stsErrorXml('Throttling', 'Rate exceeded'), { 'retry-after': '0' })
      .post('/')
      .reply(200, await success());
    const token = await fromAwsWebIdentityToken({ ...base, retry: fast })();
    scope.done();
    expect(token.claims.aud).toBe('a');
  });

  it.each([
    ['an HTML error page', 200, '<html><body>Gateway</body></html>'],
    [
      'a truncated XML body',
      200,
      '<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult><WebIdentityTo',
    ],
    ['a token that is not a JWT', 200, stsSuccessXml('not-a-jwt', new Date(Date.now() + 300_000))],
    ['an empty body', 200, ''],
  ])('%s: a typed error, never a crash', async (_name, status, body) => {
    const scope = nock(STS).post('/').times(3).reply(status, body);
    const error = (await fromAwsWebIdentityToken({ ...base, retry: fast })().catch((e: unknown) => e)) as KeylessError;
    expect(error.name).toBe('KeylessError');
    expect(['INVALID_RESPONSE', 'EXCHANGE_FAILED']).toContain(error.code);
    nock.cleanAll();
    expect(scope).toBeDefined();
  });

  it('an HTML 502 from a proxy: retryable EXCHANGE_FAILED', async () => {
    nock(STS).post('/').times(3).reply(502, '<html>Bad Gateway</html>', { 'content-type': 'text/html' });
    const error = (await fromAwsWebIdentityToken({ ...base, retry: fast })().catch((e: unknown) => e)) as KeylessError;
    expect(error).toMatchObject({ code: 'EXCHANGE_FAILED', retryable: true });
  });

  it('a slow answer inside the time-out succeeds', async () => {
    const xml = await success();
    await withLoopbackServer(
      (_req, res) => {
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/xml' }).end(xml), 150);
      },
      async (endpoint) => {
        const token = await fromAwsWebIdentityToken({ ...base, endpoint, requestTimeoutMs: 5_000 })();
        expect(token.claims.aud).toBe('a');
      },
    );
  });

  it('a silent STS: TIMEOUT after the bounded retries', async () => {
    await withLoopbackServer(faults.silent, async (endpoint) => {
      const error = await fromAwsWebIdentityToken({
        ...base,
        endpoint,
        requestTimeoutMs: 50,
        retry: { ...fast, maxAttempts: 2 },
      })().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    });
  });

  it.each([
    ['5 minutes ahead', 300],
    ['5 minutes behind', -300],
  ])('clock skew (STS %s of this machine): the token is fresh for its whole lifetime', async (_name, skew) => {
    const iat = Math.floor(Date.now() / 1000) + skew;
    nock(STS)
      .post('/')
      .reply(200, await success({ iat, lifetime: 300 }));
    const token = await fromAwsWebIdentityToken({ ...base })();
    const left = token.expiresAt.getTime() - Date.now();
    expect(left).toBeGreaterThan(290_000);
    expect(left).toBeLessThanOrEqual(300_000);
  });

  it('a failing refresh keeps serving the usable cached token', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      nock(STS)
        .post('/')
        .reply(200, await success({ lifetime: 300 }));
      const provider = fromAwsWebIdentityToken({ ...base, retry: fast });
      const first = await provider();
      const failing = nock(STS)
        .post('/')
        .times(3)
        .reply(500, stsErrorXml('InternalFailure', 'boom', 'Receiver'));
      // 200 s in: inside the refresh window, so the token is served at once while the refresh fails.
      vi.setSystemTime(Date.now() + 200_000);
      expect((await provider()).token).toBe(first.token);
      await new Promise((resolve) => setTimeout(resolve, 100));
      failing.done();
      expect((await provider()).token).toBe(first.token);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an aborted signal rejects that caller; the STS call completes and fills the cache', async () => {
    const xml = await success();
    await withLoopbackServer(
      (_req, res) => {
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/xml' }).end(xml), 200);
      },
      async (endpoint) => {
        const provider = fromAwsWebIdentityToken({ ...base, endpoint });
        const controller = new AbortController();
        const aborted = provider({ signal: controller.signal });
        const other = provider();
        setTimeout(() => controller.abort(), 20);
        await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
        const token = await other;
        expect((await provider()).token).toBe(token.token);
      },
    );
  });
});

describe('process lifetime', () => {
  const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

  it.skipIf(!existsSync(dist))('a program exits on its own while a background refresh waits to retry', async () => {
    const xml = await success({ lifetime: 60 });
    let calls = 0;
    await withLoopbackServer(
      // The first call succeeds; the background refresh then meets a 503 asking for a 30 s pause, so a
      // referenced back-off timer would hold the program open far beyond the 15 s allowed below.
      (_req, res) => {
        calls += 1;
        if (calls === 1) {
          res.writeHead(200, { 'content-type': 'text/xml' }).end(xml);
        } else {
          res
            .writeHead(503, { 'content-type': 'text/xml', 'retry-after': '30' })
            .end(stsErrorXml('ServiceUnavailable', 'later', 'Receiver'));
        }
      },
      async (endpoint) => {
        const script = `
          const { fromAwsWebIdentityToken } = await import(${JSON.stringify(dist)});
          const p = fromAwsWebIdentityToken({ audience: 'a', region: 'us-east-1', endpoint: ${JSON.stringify(endpoint)},
            credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, 
            retry: { maxAttempts: 3, maxDelayMs: 60000, maxElapsedMs: 120000 } });
          const first = await p();
          // Jump 40 s ahead: inside the 30 s refresh window of the 60 s token, so this call starts a
          // background refresh.
          const realNow = Date.now;
          Date.now = () => realNow() + 40000;
          const second = await p();
          await new Promise((r) => setTimeout(r, 300));
          console.log(first.token === second.token ? 'served from cache' : 'different token');`;
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        const code = await new Promise<number | null>((resolve, reject) => {
          const timer = setTimeout(() => {
            child.kill();
            reject(new Error('the child process did not exit on its own within 15 s'));
          }, 15_000);
          child.on('exit', (exitCode) => {
            clearTimeout(timer);
            resolve(exitCode);
          });
        });
        expect(out.trim()).toBe('served from cache');
        expect(code).toBe(0);
        expect(calls).toBe(2);
      },
    );
  });
});
