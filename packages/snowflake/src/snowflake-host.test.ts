import { describe, expect, it, vi } from 'vitest';
import { checkSnowflakeHost, normalizeHost, snowflakeHost } from './snowflake-host.js';

describe('snowflakeHost (derived as snowflake-sdk ConnectionConfig does)', () => {
  it.each([
    [{ account: 'myorg-myacct' }, 'myorg-myacct.snowflakecomputing.com'],
    [{ account: 'xy12345.us-east-2.aws' }, 'xy12345.us-east-2.aws.snowflakecomputing.com'],
    [{ account: 'xy12345', region: 'eu-central-1' }, 'xy12345.eu-central-1.snowflakecomputing.com'],
    [{ account: 'xy12345', region: 'us-west-2' }, 'xy12345.snowflakecomputing.com'],
    [{ account: 'xy12345.cn-north-1' }, 'xy12345.cn-north-1.snowflakecomputing.cn'],
    [
      { account: 'a', accessUrl: 'https://a.privatelink.snowflakecomputing.com:443' },
      'a.privatelink.snowflakecomputing.com',
    ],
    [
      { account: 'a', accessUrl: 'http://127.0.0.1:8080', host: 'a.snowflakecomputing.com' },
      'a.snowflakecomputing.com',
    ],
  ])('%o → %s', (options, host) => {
    expect(snowflakeHost(options)).toBe(host);
  });

  it('normalizes like snowflake-sdk: lower case, no port, no trailing dot', () => {
    expect(normalizeHost(' MyOrg-MyAcct.SnowflakeComputing.com.:443 ')).toBe('myorg-myacct.snowflakecomputing.com');
  });
});

describe('checkSnowflakeHost (WORKLOAD_IDENTITY allow-list)', () => {
  it.each([
    'myorg-myacct.snowflakecomputing.com',
    'a.b.snowflakecomputing.cn',
    'a.snowflakecomputing.mil',
    'snowflakecomputing.com',
  ])('accepts %s', (host) => {
    expect(checkSnowflakeHost({ account: 'a', host })).toBe(host);
  });

  it.each([
    'evil-snowflakecomputing.com',
    'snowflakecomputing.com.evil.example',
    '127.0.0.1',
    'myorg.snowflakecomputing.co',
  ])('refuses %s with INVALID_CONFIG naming the fix', (host) => {
    expect(() => checkSnowflakeHost({ account: 'a', host })).toThrowError(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        provider: 'snowflake',
        hint: expect.stringContaining('SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES'),
      }),
    );
  });

  it('refuses an accessUrl host with no host option, and says to set host', () => {
    expect(() => checkSnowflakeHost({ account: 'a', accessUrl: 'http://127.0.0.1:1' })).toThrowError(
      expect.objectContaining({ hint: expect.stringContaining('Set host to your account') }),
    );
  });

  it('accepts suffixes from SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES on a label boundary', () => {
    vi.stubEnv('SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES', ' Example.Internal ,,emulator.test');
    expect(checkSnowflakeHost({ account: 'a', host: 'sf.example.internal' })).toBe('sf.example.internal');
    expect(checkSnowflakeHost({ account: 'a', host: 'emulator.test' })).toBe('emulator.test');
    expect(() => checkSnowflakeHost({ account: 'a', host: 'badexample.internal' })).toThrow();
  });

  it.each([
    ['myorg-myacct.snowflakecomputing.com', 'not a URL or host name'],
    ['https://myorg-myacct', 'not a URL or host name'],
    ['my org', 'account identifier such as'],
    ['', 'account identifier such as'],
  ])('refuses account %j', (account, message) => {
    expect(() => checkSnowflakeHost({ account })).toThrowError(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining(message) }),
    );
  });

  it('refuses an accessUrl that is not an http(s) URL', () => {
    expect(() =>
      checkSnowflakeHost({ account: 'a', accessUrl: 'ftp://x', host: 'a.snowflakecomputing.com' }),
    ).toThrowError(
      expect.objectContaining({ message: expect.stringContaining('accessUrl must be an absolute http(s) URL') }),
    );
  });
});
