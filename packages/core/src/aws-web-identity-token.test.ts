import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { type AwsWebIdentityTokenOptions, fromAwsWebIdentityToken } from './aws-web-identity-token.js';
import { isKeylessError } from './errors.js';

function configError(options: unknown): { code: string; message: string } {
  try {
    fromAwsWebIdentityToken(options as AwsWebIdentityTokenOptions);
  } catch (error) {
    if (isKeylessError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected the factory to throw');
}

describe('fromAwsWebIdentityToken option checks (synchronous, before any I/O)', () => {
  it.each([
    [{}, /audience must be a string/],
    [{ audience: '' }, /audience must be a string of 1\.\.1000 characters, got ""/],
    [{ audience: [] }, /audience must hold 1\.\.10 values, got 0/],
    [{ audience: Array.from({ length: 11 }, (_, i) => `a${i}`) }, /audience must hold 1\.\.10 values, got 11/],
    [{ audience: ['ok', ''] }, /audience\[1\] must be a string/],
    [{ audience: 'x'.repeat(1001) }, /audience must be a string of 1\.\.1000 characters/],
    [{ audience: 'a', durationSeconds: 30 }, /durationSeconds must be an integer 60\.\.3600, got 30/],
    [{ audience: 'a', durationSeconds: 3601 }, /durationSeconds must be an integer 60\.\.3600, got 3601/],
    [{ audience: 'a', durationSeconds: 90.5 }, /durationSeconds must be an integer 60\.\.3600, got 90\.5/],
    [{ audience: 'a', signingAlgorithm: 'HS256' }, /signingAlgorithm must be one of RS256, ES384, got "HS256"/],
    [{ audience: 'a', signingAlgorithm: 'ES256' }, /signingAlgorithm must be one of RS256, ES384/],
    [
      { audience: 'a', tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) },
      /tags must hold at most 50 entries, got 51/,
    ],
    [{ audience: 'a', tags: { ['k'.repeat(129)]: 'v' } }, /tags key "k+\.\.\." must be 1\.\.128 characters/],
    [{ audience: 'a', tags: { k: 'v'.repeat(257) } }, /tags\.k must be a string of 0\.\.256 characters/],
    [{ audience: 'a', tags: { 'bad*key': 'v' } }, /tags key "bad\*key"/],
    [{ audience: 'a', tags: { k: 1 } }, /tags\.k must be a string/],
    [{ audience: 'a', tags: ['x'] }, /tags must be an object/],
    [{ audience: 'a', endpoint: 'not a url' }, /endpoint must be an absolute http\(s\) URL/],
    [{ audience: 'a', endpoint: 'ftp://x' }, /endpoint must be an absolute http\(s\) URL/],
    [{ audience: 'a', region: 'aws-global' }, /global STS endpoint/],
    [{ audience: 'a', region: 'Mars' }, /region must be an AWS region such as us-east-1, got "Mars"/],
    [{ audience: 'a', refreshBeforeExpirySeconds: -1 }, /refreshBeforeExpirySeconds must be a number 0\.\.3600/],
    [{ audience: 'a', client: {} }, /client must be an STSClient/],
    [
      { audience: 'a', client: new STSClient({ region: 'us-east-1' }), region: 'us-east-1' },
      /client cannot be combined with region/,
    ],
  ])('%j → INVALID_CONFIG %s', (options, message) => {
    const error = configError(options);
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(message);
  });

  it('accepts the edges of every range', () => {
    expect(() =>
      fromAwsWebIdentityToken({
        audience: Array.from({ length: 10 }, (_, i) => `a${i}`),
        durationSeconds: 60,
        signingAlgorithm: 'ES384',
        tags: {
          ...Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, ''])),
          ['k'.repeat(128)]: 'v'.repeat(256),
        },
        region: 'us-gov-west-1',
      }),
    ).not.toThrow();
    expect(() =>
      fromAwsWebIdentityToken({ audience: 'a', durationSeconds: 3600, tags: { 'a b:c/d=e+f-g@h_i.j': 'ü 1' } }),
    ).not.toThrow();
  });

  it('checks AWS_REGION when no region option is given', () => {
    process.env.AWS_REGION = 'aws-global';
    try {
      expect(configError({ audience: 'a' })).toMatchObject({ code: 'INVALID_CONFIG' });
    } finally {
      delete process.env.AWS_REGION;
    }
  });
});
