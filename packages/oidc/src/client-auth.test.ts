import { describe, expect, it } from 'vitest';
import { applyClientAuth, basicAuthorization, checkClientAuth, type FormFields } from './client-auth.js';

const decode = (header: string) => Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8');

describe('basicAuthorization (RFC 6749 §2.3.1 + Appendix B)', () => {
  it.each([
    ['plain', 's3cret', 'plain:s3cret'],
    ['with:colon', 'a:b', 'with%3Acolon:a%3Ab'],
    ['space id', 'plus+slash/percent%', 'space+id:plus%2Bslash%2Fpercent%25'],
    ['ünïcode', 'pa$$=&?', '%C3%BCn%C3%AFcode:pa%24%24%3D%26%3F'],
    ['unreserved-._*', '~tilde', 'unreserved-._*:%7Etilde'],
  ])('%s / %s → %s before base64', (id, secret, encoded) => {
    expect(decode(basicAuthorization(id, secret))).toBe(encoded);
  });
});

describe('checkClientAuth / applyClientAuth', () => {
  it('puts credentials where each method says', () => {
    const form: FormFields = {};
    const headers: Record<string, string> = {};
    applyClientAuth(checkClientAuth({ method: 'client_secret_post', clientId: 'i', clientSecret: 's' }), form, headers);
    expect(form).toEqual({ client_id: 'i', client_secret: 's' });
    expect(headers).toEqual({});
    const none: FormFields = {};
    applyClientAuth(checkClientAuth({ method: 'none' }), none, headers);
    expect(none).toEqual({});
  });

  it('refuses a secret with method none, and incomplete secrets', () => {
    expect(() => checkClientAuth({ method: 'none', clientId: 'x', clientSecret: 'y' })).toThrow(/method is "none"/);
    expect(() => checkClientAuth({ method: 'client_secret_post', clientId: 'x' })).toThrow(/clientSecret/);
    expect(() => checkClientAuth('basic')).toThrow(/clientAuth must be an object/);
  });
});
