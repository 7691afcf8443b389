import { GetCallerIdentityCommand, GetWebIdentityTokenCommand } from '@aws-sdk/client-sts';
import { fromAwsWebIdentityToken, isKeylessError } from '@keyless/core';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { postForm, requestJson, stsClient, stsToken } from './helpers.js';

let lab: Emulator;
beforeAll(async () => {
  lab = await startEmulator({ trustCertificate: true });
});
afterAll(() => lab.close());
afterEach(() => {
  lab.trust.reset();
  lab.faults.clear();
  lab.stats.reset();
});

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as Error & Record<string, unknown>,
  );

describe('faults', () => {
  it('serverError answers N times in the service’s own shape, then the service answers again', async () => {
    const fault = lab.faults.serverError('sts', { times: 2 });
    const client = stsClient(lab);
    for (let i = 0; i < 2; i++) {
      const error = await errorOf(client.send(new GetCallerIdentityCommand({})));
      expect(error).toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    }
    expect(fault.remaining).toBe(0);
    await expect(client.send(new GetCallerIdentityCommand({}))).resolves.toHaveProperty('Arn');
    expect(lab.stats.get('sts:GetCallerIdentity')).toEqual({ calls: 3, ok: 1, failed: 2 });
    lab.faults.serverError('sts:GetWebIdentityToken', { status: 500 });
    const internal = await errorOf(
      client.send(new GetWebIdentityTokenCommand({ Audience: ['a'], SigningAlgorithm: 'RS256' })),
    );
    expect(internal?.name).toBe('InternalFailure');
  });

  it('throttle sends each service’s throttling answer with Retry-After', async () => {
    lab.faults.throttle('sts', { retryAfterSeconds: 7 });
    const provider = fromAwsWebIdentityToken({
      endpoint: lab.stsEndpoint,
      region: 'us-east-1',
      credentials: lab.credentials,
      audience: 'a',
      retry: false,
    });
    const throttled = await errorOf(provider());
    expect(isKeylessError(throttled) ? [throttled.code, throttled.retryAfterMs] : throttled).toEqual([
      'THROTTLED',
      7000,
    ]);

    lab.faults.throttle('entra', { retryAfterSeconds: 3 });
    const entra = await postForm(lab.entra.tokenEndpoint, { grant_type: 'client_credentials' });
    expect(entra.status).toBe(429);
    expect(entra.headers.get('retry-after')).toBe('3');
    expect(entra.body).toMatchObject({ error: 'temporarily_unavailable', error_codes: [90033] });

    lab.faults.throttle('google');
    const google = await postForm(lab.google.stsTokenUrl, {});
    expect(google.status).toBe(429);
    expect(google.body).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });

    lab.faults.throttle('blob');
    const blob = await fetch(`${lab.blob.accountUrl}?comp=list`);
    expect(blob.status).toBe(503);
    expect(blob.headers.get('x-ms-error-code')).toBe('ServerBusy');
  });

  it('a service-wide fault reaches every endpoint of the service, an endpoint fault only that one', async () => {
    lab.faults.serverError('vault', { times: Number.POSITIVE_INFINITY });
    expect((await requestJson(`${lab.vault.address}/v1/sys/health`)).body).toEqual({ errors: ['Vault is sealed'] });
    expect((await requestJson(`${lab.vault.address}/v1/auth/jwt/login`, {})).status).toBe(503);
    lab.faults.clear('vault');
    lab.faults.serverError('vault:login');
    expect((await requestJson(`${lab.vault.address}/v1/sys/health`)).status).toBe(200);
    expect((await requestJson(`${lab.vault.address}/v1/auth/jwt/login`, {})).status).toBe(503);
  });

  it('a JWKS outage makes verifiers fail until it ends', async () => {
    const token = await stsToken(lab, 'api');
    lab.faults.serverError('issuer:jwks', { times: Number.POSITIVE_INFINITY });
    await expect(jwtVerify(token, createRemoteJWKSet(new URL(lab.jwksUri)))).rejects.toThrow();
    lab.faults.clear();
    await expect(jwtVerify(token, createRemoteJWKSet(new URL(lab.jwksUri)))).resolves.toBeTruthy();
  });

  it('latency delays the answer without changing it (a slowed request finishes after a later fast one)', async () => {
    lab.faults.latency('oidc:discovery', 400);
    const finished: string[] = [];
    const slow = fetch(`${lab.oidc.issuer}/.well-known/openid-configuration`).then(async (r) => {
      finished.push('slow');
      return r.status;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fast = fetch(lab.oidc.jwksUri).then((r) => {
      finished.push('fast');
      return r.status;
    });
    expect(await Promise.all([slow, fast])).toEqual([200, 200]);
    expect(finished).toEqual(['fast', 'slow']);
  });

  it('dropConnection resets the connection: clients see a network error', async () => {
    lab.faults.dropConnection('issuer:openid-configuration');
    await expect(fetch(`${lab.issuer}/.well-known/openid-configuration`)).rejects.toThrow();
    expect((await fetch(`${lab.issuer}/.well-known/openid-configuration`)).status).toBe(200);
    expect(lab.stats.get('issuer:openid-configuration')).toEqual({ calls: 2, ok: 1, failed: 1 });
  });

  it('lists, removes and validates faults', () => {
    const a = lab.faults.latency('*', 10);
    lab.faults.throttle('google:sts-token', { times: 3 });
    expect(lab.faults.list().map((f) => [f.target, f.kind, f.remaining])).toEqual([
      ['*', 'latency', Number.POSITIVE_INFINITY],
      ['google:sts-token', 'throttle', 3],
    ]);
    a.remove();
    expect(lab.faults.list()).toHaveLength(1);
    expect(() => lab.faults.serverError('nowhere' as never)).toThrow(TypeError);
    expect(() => lab.faults.serverError('sts', { status: 404 as never })).toThrow(
      'serverError status must be 500, 502, 503 or 504',
    );
    expect(() => lab.faults.latency('sts', -1)).toThrow(TypeError);
    expect(() => lab.faults.throttle('sts', { times: 0 })).toThrow('times must be a positive integer');
  });
});

describe('stats', () => {
  it('counts calls per endpoint and service, and keeps recent requests with error codes', async () => {
    await stsToken(lab, 'a');
    await stsToken(lab, 'b');
    await errorOf(stsClient(lab).send(new GetWebIdentityTokenCommand({ Audience: ['a'], SigningAlgorithm: 'HS256' })));
    await fetch(lab.jwksUri);
    expect(lab.stats.get('sts:GetWebIdentityToken')).toEqual({ calls: 3, ok: 2, failed: 1 });
    expect(lab.stats.get('sts').calls).toBe(3);
    expect(lab.stats.get().calls).toBe(4);
    expect(lab.stats.snapshot()).toEqual({
      'sts:GetWebIdentityToken': { calls: 3, ok: 2, failed: 1 },
      'issuer:jwks': { calls: 1, ok: 1, failed: 0 },
    });
    expect(lab.stats.recent()[2]).toMatchObject({
      endpoint: 'sts:GetWebIdentityToken',
      method: 'POST',
      path: '/',
      status: 400,
      error: 'ValidationError',
    });
    lab.stats.reset();
    expect(lab.stats.get()).toEqual({ calls: 0, ok: 0, failed: 0 });
  });
});
