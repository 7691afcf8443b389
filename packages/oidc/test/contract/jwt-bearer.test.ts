import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { fromJwtBearer, JWT_BEARER_GRANT_TYPE } from '../../src/index.js';
import { awsJwt, formEntries, mockEndpoint, rejectionOf, staticJwt, TEST_ROLE_ARN, tokenBody } from '../fixtures.js';

const AS = 'https://login.example.com';
const ENDPOINT = `${AS}/oauth/token`;

afterEach(() => {
  nock.cleanAll();
});

describe('fromJwtBearer (RFC 7523 §2.1)', () => {
  it('POSTs grant_type=jwt-bearer with the AWS JWT as assertion, scope and client_id', async () => {
    const jwt = await awsJwt({ audience: ENDPOINT });
    const { scope, captured } = mockEndpoint(AS, '/oauth/token', [
      [200, tokenBody('at', { issued_token_type: undefined })],
    ]);
    const token = await fromJwtBearer({
      tokenEndpoint: ENDPOINT,
      scope: ['openid', 'api.read'],
      clientId: 'reporting-app',
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    scope.done();
    expect(captured[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(formEntries(captured[0])).toEqual([
      ['grant_type', JWT_BEARER_GRANT_TYPE],
      ['assertion', jwt],
      ['scope', 'openid api.read'],
      ['client_id', 'reporting-app'],
    ]);
    expect(token).toMatchObject({ accessToken: 'at', tokenType: 'Bearer' });
  });

  it('sends only grant_type and assertion by default; client_secret_basic is supported', async () => {
    const jwt = await awsJwt({ audience: ENDPOINT });
    const { scope, captured } = mockEndpoint(AS, '/oauth/token', [
      [200, tokenBody('a')],
      [200, tokenBody('b')],
    ]);
    await fromJwtBearer({ tokenEndpoint: ENDPOINT, webIdentityToken: staticJwt(jwt).provider, retry: false })();
    await fromJwtBearer({
      tokenEndpoint: ENDPOINT,
      clientAuth: { method: 'client_secret_basic', clientId: 'c', clientSecret: 's' },
      webIdentityToken: staticJwt(jwt).provider,
      retry: false,
    })();
    scope.done();
    expect(formEntries(captured[0])).toEqual([
      ['grant_type', JWT_BEARER_GRANT_TYPE],
      ['assertion', jwt],
    ]);
    expect(captured[1]!.headers.authorization).toBe(`Basic ${Buffer.from('c:s').toString('base64')}`);
  });

  it('discovers the token endpoint from the issuer', async () => {
    const jwt = await awsJwt();
    const scope = nock(AS)
      .get('/.well-known/openid-configuration')
      .reply(200, { issuer: AS, token_endpoint: ENDPOINT })
      .post('/oauth/token')
      .reply(200, tokenBody('at'));
    await fromJwtBearer({ issuer: AS, webIdentityToken: staticJwt(jwt).provider, retry: false })();
    scope.done();
  });

  it('invalid_grant is TOKEN_REJECTED with the presented claims and the RFC 7523 audience rule in the hint', async () => {
    const jwt = await awsJwt({ audience: 'wrong' });
    const { scope } = mockEndpoint(AS, '/oauth/token', [
      [400, { error: 'invalid_grant', error_description: 'Audience validation failed' }],
    ]);
    const error = await rejectionOf(
      fromJwtBearer({ tokenEndpoint: ENDPOINT, webIdentityToken: staticJwt(jwt).provider, retry: false })(),
    );
    scope.done();
    expect(error).toMatchObject({ code: 'TOKEN_REJECTED', provider: 'oidc', retryable: false });
    expect(error.details).toMatchObject({
      status: 400,
      targetCode: 'invalid_grant',
      presented: { aud: 'wrong', sub: TEST_ROLE_ARN },
    });
    expect(error.hint).toContain('aud=wrong');
    expect(error.hint).toContain('token endpoint URL');
    expect(error.message).toContain('Audience validation failed');
  });

  it('unsupported_grant_type is INVALID_CONFIG; invalid_client names clientId', async () => {
    const jwt = await awsJwt();
    mockEndpoint(AS, '/oauth/token', [
      [400, { error: 'unsupported_grant_type' }],
      [401, { error: 'invalid_client' }],
    ]);
    const base = { tokenEndpoint: ENDPOINT, webIdentityToken: staticJwt(jwt).provider, retry: false as const };
    const grant = await rejectionOf(fromJwtBearer(base)());
    expect(grant.code).toBe('INVALID_CONFIG');
    expect(grant.message).toContain(JWT_BEARER_GRANT_TYPE);
    const client = await rejectionOf(fromJwtBearer({ ...base, clientId: 'x' })());
    expect(client.code).toBe('INVALID_CONFIG');
    expect(client.hint).toContain('clientId');
  });

  it('checks options before any I/O', () => {
    const webIdentityToken = staticJwt('x').provider;
    expect(() => fromJwtBearer({ tokenEndpoint: ENDPOINT })).toThrow(/aws.audience is required/);
    expect(() =>
      fromJwtBearer({
        tokenEndpoint: ENDPOINT,
        webIdentityToken,
        clientId: 'a',
        clientAuth: { method: 'none', clientId: 'b' },
      }),
    ).toThrow(/either clientId or clientAuth/);
    expect(() => fromJwtBearer({ tokenEndpoint: ENDPOINT, webIdentityToken, clientId: '' })).toThrow(
      /^clientId must be a string/,
    );
    expect(() => fromJwtBearer({ tokenEndpoint: ENDPOINT, webIdentityToken, extraParams: { assertion: 'x' } })).toThrow(
      /extraParams.assertion is set by keyless/,
    );
  });
});
