import {
  checkString,
  clipClaim,
  env,
  formatPresented,
  type HttpResponse,
  httpStatusError,
  invalidConfig,
  isKeylessError,
  KeylessError,
  type KeylessErrorCode,
  type KeylessErrorDetails,
  presentedClaims,
  readJsonObject,
  redactValues,
  resolveWebIdentityToken,
  sendHttpRequest,
  showValue,
} from '@keyless/core';
import { scrubResponse } from './oauth-error.js';
import { checkSecureUrl } from './secure-url.js';
import {
  type AccessTokenProvider,
  cachedProvider,
  checkProviderOptions,
  fallbackExpiry,
  type TokenProviderOptions,
} from './token-endpoint.js';
import type { AccessToken } from './token-response.js';
import { withDetails } from './token-response.js';

// Vault JWT auth method API: POST /v1/auth/<mount>/login with { role, jwt }; the method is usually mounted at `jwt`.
const DEFAULT_MOUNT = 'jwt';
const MOUNT_PATTERN = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;
const SERVICE = 'Vault';

export interface VaultJwtLoginOptions extends TokenProviderOptions {
  /** Vault's address, e.g. `https://vault.example.com:8200`. Else `VAULT_ADDR`. */
  address?: string;
  /** The JWT auth role to log in with. */
  role: string;
  /** Where the JWT auth method is enabled (the part after `auth/`). Default `jwt`. */
  mount?: string;
  /** Vault Enterprise / HCP namespace, sent as `X-Vault-Namespace`. Else `VAULT_NAMESPACE`. */
  namespace?: string;
}

/** A Vault client token, with what Vault said about it. */
export interface VaultToken extends AccessToken {
  /** `auth.client_token`. Treat it as a secret. */
  accessToken: string;
  tokenType: 'Vault';
  /** `auth.accessor`: names the token for lookup and revocation without being able to use it. */
  accessor: string;
  /** `auth.policies`. */
  policies: string[];
  /** `auth.token_policies`. */
  tokenPolicies: string[];
  /** `auth.identity_policies`. */
  identityPolicies: string[];
  /** `auth.renewable`. keyless logs in again rather than renewing. */
  renewable: boolean;
  /** `auth.lease_duration`: the token's TTL in seconds when it was issued. */
  leaseDurationSeconds: number;
  /** `auth.entity_id`. */
  entityId?: string;
  /** `auth.token_type`: `service` or `batch`. */
  vaultTokenType?: string;
  /** `auth.metadata` (the role, and the role's `claim_mappings`). */
  metadata: Record<string, string>;
}

/**
 * A cached provider of a Vault client token from the JWT auth method, logging in with the
 * AWS-signed JWT. Options are checked now; nothing is fetched until the first call.
 */
export function fromVaultJwtLogin(options: VaultJwtLoginOptions): AccessTokenProvider<VaultToken> {
  const settings = checkProviderOptions(options, 'vault');
  const address = vaultAddress(options.address ?? env('VAULT_ADDR'));
  const role = checkString('oidc', 'role', options.role);
  const mount = checkMount(options.mount ?? DEFAULT_MOUNT);
  const namespace =
    options.namespace === undefined ? env('VAULT_NAMESPACE') : checkString('oidc', 'namespace', options.namespace);
  const subject = resolveWebIdentityToken('oidc', options, {
    // One retry layer: the token cache retries a failed STS call, so the JWT provider does not.
    retry: false,
    audienceHelp: 'use one of the Vault role’s bound_audiences',
    logger: settings.logger,
  });
  const url = new URL(`${address}/v1/auth/${mount}/login`);
  const context: VaultContext = {
    role,
    mount,
    namespace,
    algorithm: options.aws?.signingAlgorithm ?? 'RS256',
  };

  const login = async (): Promise<VaultToken> => {
    const jwt = await subject();
    const presented = presentedClaims(jwt.token);
    settings.log.debug(
      `logging in to ${url.origin}${url.pathname} as role ${role}${namespace ? ` in namespace ${namespace}` : ''} with ${formatPresented(presented)}`,
    );
    const started = Date.now();
    const response = await sendHttpRequest({
      url,
      method: 'POST',
      json: { role, jwt: jwt.token },
      headers: {
        // Vault's CLI sends this on every request; listeners may require it (SSRF protection).
        'x-vault-request': 'true',
        ...(namespace ? { 'x-vault-namespace': namespace } : {}),
      },
      provider: 'oidc',
      service: SERVICE,
      timeoutMs: settings.timeoutMs,
    });
    if (response.status < 200 || response.status >= 300) {
      throw vaultError(scrubResponse(response, [jwt.token]), presented, context);
    }
    const body = readVaultBody(response, presented);
    for (const warning of stringList(body.warnings)) {
      settings.log.warn(`Vault warning: ${clipClaim(redactValues(warning, [jwt.token]))}`);
    }
    return readVaultToken(body, response.status, presented, started, fallbackExpiry(settings, started, jwt));
  };

  return cachedProvider(login, settings, 'vault', (token) =>
    `accessor=${token.accessor} policies=${token.policies.join(',')} ttl=${token.leaseDurationSeconds}`.trim(),
  );
}

interface VaultContext {
  role: string;
  mount: string;
  namespace: string | undefined;
  algorithm: string;
}

function vaultAddress(value: unknown): string {
  if (value === undefined) throw invalidConfig('oidc', 'address is required', 'Pass address or set VAULT_ADDR.');
  const url = checkSecureUrl('address', value);
  if (url.search !== '') throw invalidConfig('oidc', `address must not contain a query, got ${showValue(value)}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function checkMount(value: unknown): string {
  const mount = typeof value === 'string' ? value.replace(/^\/+|\/+$/g, '') : value;
  if (typeof mount !== 'string' || !MOUNT_PATTERN.test(mount)) {
    throw invalidConfig('oidc', `mount must be a Vault path such as jwt or aws/jwt, got ${showValue(value)}`);
  }
  if (mount.startsWith('auth/')) {
    throw invalidConfig(
      'oidc',
      `mount is the path after auth/, got ${showValue(value)}`,
      `Pass mount: ${JSON.stringify(mount.slice('auth/'.length))}.`,
    );
  }
  return mount;
}

function readVaultBody(response: HttpResponse, presented: KeylessErrorDetails['presented']): Record<string, unknown> {
  try {
    return readJsonObject(response, 'oidc', SERVICE);
  } catch (error) {
    throw isKeylessError(error) ? withDetails(error, { presented }) : error;
  }
}

function readVaultToken(
  body: Record<string, unknown>,
  status: number,
  presented: KeylessErrorDetails['presented'],
  started: number,
  fallbackExpiresAt: number,
): VaultToken {
  const auth = body.auth as Record<string, unknown> | null | undefined;
  if (typeof auth !== 'object' || auth === null || typeof auth.client_token !== 'string' || auth.client_token === '') {
    throw new KeylessError({
      code: 'INVALID_RESPONSE',
      provider: 'oidc',
      message: `Vault answered HTTP ${status} without auth.client_token.`,
      hint: 'Check address: it must be Vault’s API address, not a proxy or the UI.',
      details: { status, presented },
    });
  }
  const lease = typeof auth.lease_duration === 'number' && auth.lease_duration >= 0 ? auth.lease_duration : 0;
  // A lease of 0 means "no expiry" (root-like tokens); keyless never treats a token as eternal.
  const expiresAt = lease > 0 ? started + lease * 1000 : fallbackExpiresAt;
  const token: VaultToken = {
    accessToken: auth.client_token,
    tokenType: 'Vault',
    expiresAt: new Date(expiresAt),
    accessor: typeof auth.accessor === 'string' ? auth.accessor : '',
    policies: stringList(auth.policies),
    tokenPolicies: stringList(auth.token_policies),
    identityPolicies: stringList(auth.identity_policies),
    renewable: auth.renewable === true,
    leaseDurationSeconds: lease,
    metadata: stringRecord(auth.metadata),
  };
  if (typeof auth.entity_id === 'string' && auth.entity_id !== '') token.entityId = auth.entity_id;
  if (typeof auth.token_type === 'string') token.vaultTokenType = auth.token_type;
  return token;
}

interface Rule {
  pattern: RegExp;
  code: KeylessErrorCode;
  hint: (context: VaultContext, presented: string, match: RegExpMatchArray) => string;
}

const pointerNote = 'Nested AWS claims are JSON pointers, e.g. /https:~1~1sts.amazonaws.com~1/aws_account.';

// Messages of the Vault JWT auth plugin (path_login.go, claims.go, go-oidc), most specific first.
const RULES: readonly Rule[] = [
  {
    pattern: /role "?[^"]*"? could not be found/,
    code: 'INVALID_CONFIG',
    hint: (c) =>
      `No role ${JSON.stringify(c.role)} at auth/${c.mount}${c.namespace ? ` in namespace ${c.namespace}` : ''}: check role (Vault lowercases role names), mount and namespace.`,
  },
  { pattern: /missing role/, code: 'INVALID_CONFIG', hint: () => 'Pass role, or set default_role on the auth method.' },
  {
    pattern: /oidc role_type is not allowed/,
    code: 'INVALID_CONFIG',
    hint: (c) => `Role ${c.role} is an OIDC (browser) role: create a role with role_type="jwt".`,
  },
  {
    pattern: /could not load configuration/,
    code: 'INVALID_CONFIG',
    hint: (c) =>
      `Configure auth/${c.mount}/config: oidc_discovery_url = the AWS account issuer, bound_issuer = the same, jwt_supported_algs = ["RS256"] (add "ES384" if you use it).`,
  },
  {
    pattern: /audience claim found in JWT but no audiences bound/,
    code: 'TOKEN_REJECTED',
    hint: (c, p) => `Set bound_audiences on role ${c.role} to the JWT's audience (aws.audience). Presented: ${p}.`,
  },
  {
    pattern:
      /aud claim does not match any bound audience|invalid audience \(aud\) claim|does not match any expected audience/,
    code: 'TOKEN_REJECTED',
    hint: (c, p) => `Role ${c.role}'s bound_audiences must include aws.audience (the JWT's aud). Presented: ${p}.`,
  },
  {
    pattern: /sub claim does not match bound subject/,
    code: 'TOKEN_REJECTED',
    hint: (c, p) => `Role ${c.role}'s bound_subject must be the caller's role ARN (the JWT's sub). Presented: ${p}.`,
  },
  {
    pattern: /claim "([^"]+)" (?:is missing|does not match any associated bound claim values)/,
    code: 'TOKEN_REJECTED',
    hint: (c, p, m) =>
      `Role ${c.role}'s bound_claims[${JSON.stringify(m[1])}] does not match this JWT. ${pointerNote} Presented: ${p}.`,
  },
  {
    pattern: /claim "([^"]+)" (?:not found in token|could not be converted)/,
    code: 'TOKEN_REJECTED',
    hint: (c, _p, m) =>
      `Role ${c.role}'s user_claim (or groups_claim, claim_mappings) names ${JSON.stringify(m[1])}, which this JWT lacks as a string: use "sub" (the role ARN). ${pointerNote}`,
  },
  {
    pattern: /unsupported (?:signing )?alg|signed with unsupported algorithm|supported_algs/i,
    code: 'TOKEN_REJECTED',
    hint: (c) =>
      `Vault does not accept ${c.algorithm}: add ${JSON.stringify(c.algorithm)} to jwt_supported_algs on auth/${c.mount}/config (the default is RS256 only), or set aws.signingAlgorithm to RS256.`,
  },
  {
    pattern: /issued by a different provider|issuer/i,
    code: 'TOKEN_REJECTED',
    hint: (c, p) =>
      `oidc_discovery_url (and bound_issuer, if set) on auth/${c.mount}/config must be the AWS account's issuer exactly. Presented: ${p}.`,
  },
  {
    pattern: /expired|not valid yet|before the nbf|issued in the future/i,
    code: 'TOKEN_REJECTED',
    hint: (c) =>
      `Vault saw the JWT as expired or not yet valid: check the clocks of this host and Vault (role ${c.role}'s clock_skew_leeway).`,
  },
  {
    pattern: /signature|keyset|jwks|verif/i,
    code: 'TOKEN_REJECTED',
    hint: (c) =>
      `Vault could not verify the JWT's signature: oidc_discovery_url on auth/${c.mount}/config must be the AWS account's issuer (Vault reads its JWKS from there).`,
  },
  {
    pattern: /cidr/i,
    code: 'ACCESS_DENIED',
    hint: (c) => `This host's address is outside role ${c.role}'s token_bound_cidrs.`,
  },
];

/** Maps a Vault `{ errors: [...] }` answer (or any non-2xx) to a `KeylessError`. */
function vaultError(
  response: HttpResponse,
  presented: NonNullable<KeylessErrorDetails['presented']>,
  context: VaultContext,
): KeylessError {
  const errors = vaultMessages(response.json);
  const said = errors.length > 0 ? `: ${errors.join('; ')}` : '';
  const details: KeylessErrorDetails = { status: response.status, presented, ...(errors.length ? { errors } : {}) };
  const p = formatPresented(presented);
  const make = (code: KeylessErrorCode, message: string, hint: string, retryable?: boolean) =>
    new KeylessError({
      code,
      provider: 'oidc',
      message,
      hint,
      details,
      ...(retryable === undefined ? {} : { retryable }),
      ...(response.retryAfterMs === undefined ? {} : { retryAfterMs: response.retryAfterMs }),
    });
  if (response.status === 429) {
    return withDetails(
      httpStatusError(response, 'oidc', SERVICE),
      details,
      'Vault’s rate limit quota was hit: share one provider across the process, or raise the quota.',
    );
  }
  if (response.status >= 500) {
    const sealed = errors.some((e) => /sealed/i.test(e));
    const discovery = errors.some((e) => /provider|discovery/i.test(e));
    return make(
      'EXCHANGE_FAILED',
      `Vault answered HTTP ${response.status}${said}.`,
      sealed
        ? 'Vault is sealed: unseal it, or point address at an unsealed node.'
        : discovery
          ? `Vault could not use oidc_discovery_url on auth/${context.mount}/config: it must be the AWS account's issuer, reachable from Vault.`
          : 'Vault had a server-side problem; keyless retries.',
      true,
    );
  }
  if (errors.length === 0 && (typeof response.json !== 'object' || response.json === null)) {
    return withDetails(invalidBody(response), { presented });
  }
  if (response.status === 403) {
    return make(
      'ACCESS_DENIED',
      `Vault denied the login (HTTP 403)${said}.`,
      `Check role ${context.role}'s token_bound_cidrs, the namespace${context.namespace ? ` (${context.namespace})` : ''}, and any Sentinel or endpoint-governing policy on auth/${context.mount}/login.`,
    );
  }
  if (response.status === 404 || errors.some((e) => /no handler for route|unsupported path/i.test(e))) {
    return make(
      'INVALID_CONFIG',
      `Vault has no login endpoint at auth/${context.mount}${said}.`,
      `Check mount (where the JWT auth method is enabled: vault auth list) and namespace${context.namespace ? ` (${context.namespace})` : ''}.`,
    );
  }
  // The algorithm actually presented beats the configured one (a webIdentityToken may sign with either).
  const ruleContext = { ...context, algorithm: presented.alg ?? context.algorithm };
  for (const message of errors) {
    for (const rule of RULES) {
      const match = message.match(rule.pattern);
      if (match) {
        const verb = rule.code === 'TOKEN_REJECTED' ? 'refused the AWS JWT' : 'refused the login';
        return make(rule.code, `Vault ${verb} (HTTP ${response.status})${said}.`, rule.hint(ruleContext, p, match));
      }
    }
  }
  return make('EXCHANGE_FAILED', `Vault answered HTTP ${response.status}${said}.`, `Presented: ${p}.`);
}

function invalidBody(response: HttpResponse): KeylessError {
  try {
    readJsonObject(response, 'oidc', SERVICE);
  } catch (error) {
    if (isKeylessError(error)) return error;
  }
  return new KeylessError({
    code: 'INVALID_RESPONSE',
    provider: 'oidc',
    message: `Vault answered HTTP ${response.status} with an unreadable body.`,
    details: { status: response.status },
  });
}

function vaultMessages(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  return stringList((body as { errors?: unknown }).errors)
    .slice(0, 5)
    .map((message) => clipClaim(message));
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
