import { env, invalidConfig } from '@keyless/core';

/**
 * Hosts snowflake-sdk sends a WORKLOAD_IDENTITY attestation to (snowflake-sdk 3.3.0
 * `lib/url_util.js` SNOWFLAKE_DOMAINS, `authentication/auth_workload_identity/host_allowlist.js`).
 * Anything else is refused before the attestation is minted, so that a redirected host cannot
 * collect it.
 */
export const SNOWFLAKE_DOMAINS = ['snowflakecomputing.com', 'snowflakecomputing.cn', 'snowflakecomputing.mil'] as const;
/** Comma-separated extra host suffixes the allow-list accepts (same env variable as snowflake-sdk). */
export const ALLOWED_HOST_SUFFIXES_ENV = 'SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES';

// snowflake-sdk's own account check (`Util.isCorrectSubdomain`).
const ACCOUNT_PATTERN = /^\w+([.-]\w+)*$/;

export interface SnowflakeHostOptions {
  account: string;
  host?: string | undefined;
  accessUrl?: string | undefined;
  region?: string | undefined;
}

/**
 * The host snowflake-sdk will check against its WORKLOAD_IDENTITY allow-list, derived the way its
 * `ConnectionConfig` does: `host`, else the host name of `accessUrl`, else built from `account`
 * (and the legacy `region`, or a region after a dot in `account`).
 */
export function snowflakeHost(options: SnowflakeHostOptions): string {
  if (options.host !== undefined) return options.host;
  if (options.accessUrl !== undefined) return new URL(options.accessUrl).hostname;
  const dot = options.account.indexOf('.');
  const account = dot > 0 ? options.account.slice(0, dot) : options.account;
  const region = dot > 0 ? options.account.slice(dot + 1) : options.region || undefined;
  if (region === undefined || region === 'us-west-2') return `${account}.snowflakecomputing.com`;
  return /^cn-/i.test(region)
    ? `${account}.${region}.snowflakecomputing.cn`
    : `${account}.${region}.snowflakecomputing.com`;
}

/** Lower case, without port and trailing dot (snowflake-sdk `normalizeHost`). */
export function normalizeHost(host: string): string {
  let out = host.trim().toLowerCase();
  const colon = out.indexOf(':');
  if (colon !== -1) out = out.slice(0, colon);
  return out.endsWith('.') ? out.slice(0, -1) : out;
}

/** The suffixes accepted besides Snowflake's own domains, from `SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES`. */
export function extraAllowedHostSuffixes(): string[] {
  const raw = env(ALLOWED_HOST_SUFFIXES_ENV);
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map(normalizeHost)
    .filter((suffix) => suffix.length > 0);
}

/**
 * Checks `account` and the host snowflake-sdk will connect to, before any token is minted. Throws
 * `INVALID_CONFIG` with the fix; returns the normalized host.
 */
export function checkSnowflakeHost(options: SnowflakeHostOptions): string {
  const { account } = options;
  if (/snowflakecomputing\.|^https?:/i.test(account)) {
    throw invalidConfig(
      'snowflake',
      `account must be the account identifier, not a URL or host name, got ${JSON.stringify(account)}`,
      'Pass the identifier (e.g. account: "myorg-myaccount", or the account locator with its region), and the full host as host if you need one.',
    );
  }
  if (!ACCOUNT_PATTERN.test(account)) {
    throw invalidConfig(
      'snowflake',
      `account must be a Snowflake account identifier such as "myorg-myaccount" (letters, digits, _, - and .), got ${JSON.stringify(account)}`,
    );
  }
  if (options.accessUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(options.accessUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw invalidConfig(
        'snowflake',
        `accessUrl must be an absolute http(s) URL, got ${JSON.stringify(options.accessUrl)}`,
      );
    }
  }
  const host = normalizeHost(snowflakeHost(options));
  const allowed = [...SNOWFLAKE_DOMAINS, ...extraAllowedHostSuffixes()];
  if (!allowed.some((suffix) => host === suffix || host.endsWith(`.${suffix}`))) {
    throw invalidConfig(
      'snowflake',
      `WORKLOAD_IDENTITY only logs in to Snowflake hosts (${SNOWFLAKE_DOMAINS.join(', ')} and their sub-domains), and this connection goes to "${host}".`,
      options.host === undefined && options.accessUrl !== undefined
        ? `Set host to your account's host (e.g. myorg-myaccount.snowflakecomputing.com) next to accessUrl, or, for a private endpoint you trust, add its suffix to ${ALLOWED_HOST_SUFFIXES_ENV} (comma-separated, no leading dot).`
        : `Set host to your account's snowflakecomputing.com host, or, for a private endpoint you trust, add its suffix to ${ALLOWED_HOST_SUFFIXES_ENV} (comma-separated, no leading dot).`,
    );
  }
  return host;
}
