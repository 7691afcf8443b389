import nock from 'nock';
import { describe, expect, it, vi } from 'vitest';
import { makeAwsJwt, stsSuccessXml, TEST_CREDENTIALS } from '../../../test/support/aws.js';
import { clipClaim, formatPresented, presentedClaims } from './claims.js';
import { resolveWebIdentityToken } from './web-identity-source.js';

const good = { token: 'a.b.c', expiresAt: new Date(Date.now() + 60_000), claims: {} as never };

describe('resolveWebIdentityToken', () => {
  it('refuses aws together with webIdentityToken', () => {
    expect(() => resolveWebIdentityToken('azure', { aws: {}, webIdentityToken: async () => good })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        provider: 'azure',
        message: 'Pass either aws or webIdentityToken, not both',
      }),
    );
  });

  it('requires an audience when the target has no default', () => {
    expect(() => resolveWebIdentityToken('oidc', {}, { audienceHelp: 'the audience the server trusts' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        message: 'aws.audience is required: the audience the server trusts',
      }),
    );
  });

  it('validates the aws options with the target defaults applied', () => {
    expect(() => resolveWebIdentityToken('gcp', { aws: { durationSeconds: 5 } }, { audience: 'x' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        provider: 'aws',
        message: 'aws.durationSeconds must be an integer 60..3600, got 5',
      }),
    );
    expect(() =>
      resolveWebIdentityToken('gcp', { aws: { region: 'us-east-1' } }, { audience: 'x', durationSeconds: 900 }),
    ).not.toThrow();
  });

  it('keeps the target defaults when aws holds undefined values', async () => {
    let form: URLSearchParams | undefined;
    const token = await makeAwsJwt({ audience: 'snowflakecomputing.com', alg: 'ES384' });
    const scope = nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .reply(async (req: Request) => {
        form = new URLSearchParams(await req.text());
        return [200, stsSuccessXml(token, new Date(Date.now() + 300_000))];
      });
    const provider = resolveWebIdentityToken(
      'snowflake',
      { aws: { audience: undefined, signingAlgorithm: undefined, region: 'us-east-1', credentials: TEST_CREDENTIALS } },
      { audience: 'snowflakecomputing.com', signingAlgorithm: 'ES384' },
    );
    await provider();
    scope.done();
    expect(form?.get('Audience.member.1')).toBe('snowflakecomputing.com');
    expect(form?.get('SigningAlgorithm')).toBe('ES384');
  });

  it('passes through a user provider, checking what it returns', async () => {
    const source = vi.fn(async () => good);
    const provider = resolveWebIdentityToken('snowflake', { webIdentityToken: source });
    await expect(provider({ forceRefresh: true })).resolves.toBe(good);
    expect(source).toHaveBeenCalledWith({ forceRefresh: true });
    const broken = resolveWebIdentityToken('snowflake', { webIdentityToken: async () => ({ token: '' }) as never });
    await expect(broken()).rejects.toMatchObject({ code: 'INVALID_CONFIG', provider: 'snowflake' });
  });

  it('wraps a failure of the user provider that is not a KeylessError, scrubbed', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl';
    const provider = resolveWebIdentityToken('gcp', {
      webIdentityToken: async () => {
        throw new Error(`upstream said no to ${jwt}`);
      },
    });
    const error = await provider().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'EXCHANGE_FAILED',
      provider: 'aws',
      message: expect.stringContaining('webIdentityToken provider failed'),
    });
    expect(JSON.stringify({ m: (error as Error).message, c: String((error as Error).cause) })).not.toContain(
      'eyJzdWIiOiJ4In0',
    );
    const aborted = resolveWebIdentityToken('gcp', {
      webIdentityToken: async () => Promise.reject(new DOMException('stop', 'AbortError')),
    });
    await expect(aborted()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses an algorithm the target does not accept', () => {
    expect(() =>
      resolveWebIdentityToken(
        'gcp',
        { aws: { signingAlgorithm: 'ES384' } },
        { audience: 'x', allowedAlgorithms: ['RS256'], algorithmHelp: 'Google STS' },
      ),
    ).toThrow(expect.objectContaining({ message: 'aws.signingAlgorithm must be RS256 (Google STS), got "ES384"' }));
  });

  it('refuses a webIdentityToken that is not a function', () => {
    expect(() => resolveWebIdentityToken('azure', { webIdentityToken: 'eyJ' as never })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        message: expect.stringContaining('webIdentityToken must be a function'),
      }),
    );
  });
});

describe('presentedClaims', () => {
  it('bounds attacker-controlled claim values', () => {
    const payload = Buffer.from(
      JSON.stringify({ iss: 'i'.repeat(500), sub: 's', aud: Array.from({ length: 9 }, (_, i) => `a${i}`) }),
    ).toString('base64url');
    const header = Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url');
    const presented = presentedClaims(`${header}.${payload}.sig`);
    expect(presented.iss).toHaveLength(200);
    expect(presented.aud).toHaveLength(5);
    expect(formatPresented({ sub: 's', alg: 'RS256' })).toBe('sub=s alg=RS256');
    expect(clipClaim('a\nb\u2028c')).toBe('a?b?c');
    expect(formatPresented({})).toBe('an unreadable token');
  });
});
