/**
 * The STS cells of the fault matrix that packages/core/test/reliability/sts-faults.test.ts leaves open
 * (see matrix.ts): a reset connection, a body cut off mid-transfer, and a JWT that arrives nearly
 * expired. Real AWS SDK client, against a scripted loopback STS.
 */
import { fromAwsWebIdentityToken } from '@keyless/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeAwsJwt, stsSuccessXml, TEST_CREDENTIALS } from '../support/aws.js';
import { rejection } from './support/fault-suite.js';
import { type ScriptedServer, startScriptedServer, times } from './support/scripted-server.js';

const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
const XML = { 'content-type': 'text/xml' };

let server: ScriptedServer | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await server?.close();
  server = undefined;
});

function provider(endpoint: string) {
  return fromAwsWebIdentityToken({
    audience: 'a',
    region: 'us-east-1',
    endpoint,
    credentials: TEST_CREDENTIALS,
    retry: FAST,
    requestTimeoutMs: 2_000,
  });
}

async function success(lifetime = 300) {
  const token = await makeAwsJwt({ audience: 'a', lifetime });
  return {
    token,
    reply: { status: 200, body: stsSuccessXml(token, new Date(Date.now() + lifetime * 1000)), headers: XML },
  };
}

describe('STS faults the core suite leaves open', () => {
  it('[aws-sts × reset] a reset connection on every attempt: three attempts, then a retryable NETWORK', async () => {
    server = await startScriptedServer();
    server.answer('/', ...times(3, 'reset'));
    const error = await rejection(provider(server.origin)());
    expect(error).toMatchObject({ code: 'NETWORK', provider: 'aws', retryable: true });
    expect(server.requests).toHaveLength(3);
  });

  it('[aws-sts × dropped] the answer cut off mid-body: retried, then a retryable NETWORK; a later success is used', async () => {
    server = await startScriptedServer();
    server.answer('/', ...times(3, 'dropped'));
    const error = await rejection(provider(server.origin)());
    expect(error).toMatchObject({ provider: 'aws', retryable: true });
    expect(error.code).toBe('NETWORK');
    expect(server.requests).toHaveLength(3);
    const { token, reply } = await success();
    server.answer('/', 'dropped', reply);
    expect((await provider(server.origin)()).token).toBe(token);
  });

  it('[aws-sts × expires-mid-request] a JWT with 5 s left when the answer arrives is never handed out: fetched again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    server = await startScriptedServer();
    const short = await success(20);
    const good = await success();
    server.answer(
      '/',
      () => {
        // The answer takes 15 s to arrive: the 20 s token has 5 s left, under core's 10 s minimum.
        vi.setSystemTime(Date.now() + 15_000);
        return short.reply;
      },
      good.reply,
    );
    const token = await provider(server.origin)();
    expect(token.token).toBe(good.token);
    expect(server.requests).toHaveLength(2);
  });
});
