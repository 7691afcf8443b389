import { checkOneOf, checkString, invalidConfig } from '@keyless/core';

/** Client authentication methods at the token endpoint (RFC 6749 §2.3.1, OIDC Core §9 names). */
export const CLIENT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

/**
 * How the client authenticates to the token endpoint, if it must. Most token-exchange servers that
 * trust an external issuer need none: the AWS JWT is the credential.
 */
export type ClientAuth =
  /** A public client: `client_id` in the form when given (RFC 6749 §3.2.1). */
  | { method: 'none'; clientId?: string }
  /** `Authorization: Basic` of the form-urlencoded id and secret (RFC 6749 §2.3.1). */
  | { method: 'client_secret_basic'; clientId: string; clientSecret: string }
  /** `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1, discouraged there). */
  | { method: 'client_secret_post'; clientId: string; clientSecret: string };

export type FormFields = Record<string, string | readonly string[] | undefined>;

/** Checks a `clientAuth` option; throws `INVALID_CONFIG` naming the field. */
export function checkClientAuth(value: unknown, name = 'clientAuth'): ClientAuth | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidConfig('oidc', `${name} must be an object { method, clientId, clientSecret }`);
  }
  const record = value as Record<string, unknown>;
  const method = checkOneOf('oidc', `${name}.method`, record.method, CLIENT_AUTH_METHODS);
  if (method === 'none') {
    if (record.clientSecret !== undefined) {
      throw invalidConfig(
        'oidc',
        `${name}.clientSecret is set but ${name}.method is "none"`,
        'Use method client_secret_basic or client_secret_post to send a secret.',
      );
    }
    return record.clientId === undefined
      ? { method }
      : { method, clientId: checkString('oidc', `${name}.clientId`, record.clientId) };
  }
  return {
    method,
    clientId: checkString('oidc', `${name}.clientId`, record.clientId),
    clientSecret: checkString('oidc', `${name}.clientSecret`, record.clientSecret),
  };
}

/** Adds the client's credentials to a token request. */
export function applyClientAuth(auth: ClientAuth | undefined, form: FormFields, headers: Record<string, string>): void {
  if (!auth) return;
  switch (auth.method) {
    case 'none':
      if (auth.clientId !== undefined) form.client_id = auth.clientId;
      return;
    case 'client_secret_post':
      form.client_id = auth.clientId;
      form.client_secret = auth.clientSecret;
      return;
    case 'client_secret_basic':
      headers.authorization = basicAuthorization(auth.clientId, auth.clientSecret);
      return;
  }
}

/**
 * RFC 6749 §2.3.1: the id and the secret are each encoded with application/x-www-form-urlencoded
 * (Appendix B) before they are joined with `:` and base64-encoded. Many clients skip that step and
 * break on secrets containing `:`, `+`, `%` or non-ASCII characters.
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const pair = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

function formUrlEncode(value: string): string {
  // URLSearchParams implements the WHATWG application/x-www-form-urlencoded serializer (space → '+').
  return new URLSearchParams([['', value]]).toString().slice(1);
}
