import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { faults, withLoopbackServer } from '../../../test/support/loopback.js';
import { httpStatusError, parseOAuthError, parseRetryAfter, readJsonObject, sendHttpRequest } from './http.js';

const service = 'the test token endpoint';

describe('sendHttpRequest', () => {
  it('posts a form with repeated fields and no undefined ones', async () => {
    let seen: Record<string, string[]> = {};
    const scope = nock('https://idp.example.com')
      .post('/token', (body: Record<string, string | string[]>) => {
        seen = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
        return true;
      })
      .matchHeader('content-type', 'application/x-www-form-urlencoded')
      .matchHeader('accept', 'application/json')
      .reply(200, { access_token: 'at', expires_in: 60 });
    const response = await sendHttpRequest({
      url: 'https://idp.example.com/token',
      form: { grant_type: 'x', resource: ['r1', 'r2'], scope: undefined },
      provider: 'oidc',
      service,
    });
    scope.done();
    expect(seen).toEqual({ grant_type: ['x'], resource: ['r1', 'r2'] });
    expect(response).toMatchObject({ status: 200, json: { access_token: 'at', expires_in: 60 } });
  });

  it('sends JSON bodies', async () => {
    const scope = nock('https://vault.example.com')
      .post('/v1/auth/jwt/login', { role: 'r', jwt: 'j' })
      .matchHeader('content-type', 'application/json')
      .reply(200, { auth: {} });
    await sendHttpRequest({
      url: 'https://vault.example.com/v1/auth/jwt/login',
      json: { role: 'r', jwt: 'j' },
      provider: 'oidc',
      service,
    });
    scope.done();
  });

  it('rejects with NETWORK when the connection is reset', async () => {
    await withLoopbackServer(faults.reset, async (origin) => {
      await expect(
        sendHttpRequest({ url: `${origin}/token`, form: {}, provider: 'oidc', service }),
      ).rejects.toMatchObject({
        code: 'NETWORK',
        retryable: true,
        message: expect.stringContaining('Could not reach the test token endpoint at http://127.0.0.1:'),
      });
    });
  });

  // Time-outs and aborts run against a silent loopback server: a nock delay that fetch abandons
  // trips an assertion inside undici.
  it('rejects with TIMEOUT when the answer is slower than timeoutMs', async () => {
    await withLoopbackServer(faults.silent, async (origin) => {
      await expect(
        sendHttpRequest({ url: `${origin}/token`, form: {}, timeoutMs: 50, provider: 'oidc', service }),
      ).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
    });
  });

  it("rejects with the caller's abort reason", async () => {
    await withLoopbackServer(faults.silent, async (origin) => {
      const controller = new AbortController();
      const pending = sendHttpRequest({
        url: `${origin}/token`,
        form: {},
        signal: controller.signal,
        provider: 'oidc',
        service,
      });
      setTimeout(() => controller.abort(), 20);
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    });
  });

  it('keeps a non-JSON body as text only and reads Retry-After', async () => {
    nock('https://idp.example.com')
      .post('/token')
      .reply(503, '<html>busy</html>', { 'retry-after': '7', 'content-type': 'text/html' });
    const response = await sendHttpRequest({
      url: 'https://idp.example.com/token',
      form: {},
      provider: 'oidc',
      service,
    });
    expect(response).toMatchObject({ status: 503, json: undefined, retryAfterMs: 7000 });
    expect(() => readJsonObject(response, 'oidc', service)).toThrow(
      expect.objectContaining({ code: 'INVALID_RESPONSE', retryable: true }),
    );
  });
});

describe('answer helpers', () => {
  const answer = (status: number, json: unknown, retryAfterMs?: number) => ({
    status,
    headers: new Headers(),
    text: JSON.stringify(json),
    json,
    retryAfterMs,
  });

  it('parses RFC 6749 error bodies and ignores others', () => {
    expect(parseOAuthError(answer(400, { error: 'invalid_grant', error_description: 'bad' }))).toMatchObject({
      error: 'invalid_grant',
    });
    expect(parseOAuthError(answer(400, { message: 'x' }))).toBeUndefined();
    expect(parseOAuthError(answer(400, ['error']))).toBeUndefined();
  });

  it('maps 429 to THROTTLED with Retry-After, 5xx to retryable EXCHANGE_FAILED, 4xx to final EXCHANGE_FAILED', () => {
    expect(httpStatusError(answer(429, {}, 3000), 'oidc', service)).toMatchObject({
      code: 'THROTTLED',
      retryable: true,
      retryAfterMs: 3000,
    });
    expect(httpStatusError(answer(502, {}), 'oidc', service)).toMatchObject({
      code: 'EXCHANGE_FAILED',
      retryable: true,
    });
    expect(
      httpStatusError(answer(400, { error: 'invalid_request', error_description: 'no' }), 'oidc', service),
    ).toMatchObject({
      code: 'EXCHANGE_FAILED',
      retryable: false,
      message: 'The test token endpoint answered HTTP 400: invalid_request (no).',
      details: { status: 400, targetCode: 'invalid_request' },
    });
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    expect(parseRetryAfter(inTenSeconds)).toBeGreaterThan(8_000);
  });
});

describe('checkUrl', () => {
  it("allowHttp 'loopback' accepts https anywhere and http only on loopback hosts", async () => {
    const { checkUrl } = await import('./validate.js');
    expect(checkUrl('azure', 'authorityHost', 'https://login.example.com', { allowHttp: 'loopback' }).host).toBe(
      'login.example.com',
    );
    for (const host of ['127.0.0.1:8080', 'localhost', '[::1]:9']) {
      expect(() => checkUrl('azure', 'authorityHost', `http://${host}/x`, { allowHttp: 'loopback' })).not.toThrow();
    }
    expect(() => checkUrl('azure', 'authorityHost', 'http://login.example.com', { allowHttp: 'loopback' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        message: expect.stringContaining('authorityHost must use https'),
      }),
    );
    expect(() => checkUrl('oidc', 'tokenEndpoint', 'http://x.example', { allowHttp: false })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('must be an absolute https URL') }),
    );
  });
});
