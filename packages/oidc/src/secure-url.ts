import { checkUrl, invalidConfig, showValue } from '@keyless/core';

/**
 * An absolute URL a token may be sent to: core's https-except-loopback rule (the JWT is a bearer
 * credential), plus no user info and no fragment (RFC 6749 §3.2 forbids a fragment in the token
 * endpoint URL).
 */
export function checkSecureUrl(name: string, value: unknown): URL {
  const url = checkUrl('oidc', name, value, { allowHttp: 'loopback' });
  if (url.username !== '' || url.password !== '') {
    throw invalidConfig('oidc', `${name} must not contain a user name or password`);
  }
  if (url.hash !== '') throw invalidConfig('oidc', `${name} must not contain a fragment (#…), got ${showValue(value)}`);
  return url;
}

/** Whether `value` is a URL that {@link checkSecureUrl} would accept (for URLs read from a server). */
export function isSecureUrl(value: unknown): value is string {
  try {
    checkSecureUrl('url', value);
    return true;
  } catch {
    return false;
  }
}
