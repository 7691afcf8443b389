import {
  type HttpResponse,
  isKeylessError,
  KeylessError,
  type Logger,
  readJsonObject,
  sendHttpRequest,
} from '@keyless/core';
import {
  createRemoteJWKSet,
  customFetch,
  type ExportedJWKSCache,
  type FetchImplementation,
  type JWTVerifyGetKey,
  jwksCache,
} from 'jose';
import { endpointStatusError } from './discovery.js';
import { capitalize } from './token-response.js';

const SERVICE = 'the issuer’s JWKS endpoint';

export interface KeySetSettings {
  /** Cached keys older than this are refreshed in the background (they stay in use meanwhile). */
  cacheMaxAgeMs: number;
  /** After a fetch (successful or not), no fetch for an unknown `kid` before this has passed. */
  cooldownMs: number;
  timeoutMs: number;
  log: Logger;
}

export interface KeySet {
  /** A jose key resolver. Errors: jose's (no matching key…) or a `KeylessError` from fetching the set. */
  getKey: JWTVerifyGetKey;
  /** How many keys are cached (0 before the first fetch). */
  cachedKeys(): number;
  /** Whether an unknown `kid` would be looked up now (false inside a cool-down). */
  canRefetch(): boolean;
}

/**
 * The issuer's keys, through jose's `createRemoteJWKSet` (its key matching, single flight and
 * `cooldownDuration` for unknown `kid`s), with three changes to its defaults:
 *
 * - stale-if-error: jose would block on an expired cache and fail every verification while the JWKS
 *   is unreachable; here old keys stay in use and the refresh runs in the background;
 * - a failed fetch starts a cool-down too, so an outage does not turn every token into a request;
 * - fetches go through core's `sendHttpRequest` (time-out, `KeylessError`s naming the endpoint).
 */
export function createKeySet(url: URL, settings: KeySetSettings): KeySet {
  // jose records the last good set and its time here (`uat`): keyless reads them, never writes them.
  const cache = {} as Partial<ExportedJWKSCache>;
  let lastFailure: { at: number; error: KeylessError } | undefined;

  const failureCoolingDown = () => lastFailure !== undefined && Date.now() - lastFailure.at < settings.cooldownMs;

  const fetchJwks: FetchImplementation = async (href, init) => {
    if (lastFailure && failureCoolingDown()) {
      const ago = Math.round((Date.now() - lastFailure.at) / 1000);
      throw new KeylessError({
        code: lastFailure.error.code,
        provider: 'oidc',
        message: `The JWKS at ${href} could not be fetched ${ago} s ago (${lastFailure.error.message}); it is not fetched again for ${settings.cooldownMs / 1000} s after a failure.`,
        retryable: true,
        details: lastFailure.error.details,
      });
    }
    try {
      const response = await sendHttpRequest({
        url: href,
        method: 'GET',
        headers: { accept: 'application/json, application/jwk-set+json' },
        signal: init.signal,
        timeoutMs: settings.timeoutMs,
        provider: 'oidc',
        service: SERVICE,
      });
      const keys = readKeys(response);
      lastFailure = undefined;
      settings.log.debug(`fetched ${href}: kid ${keys.join(', ') || '(none)'}`);
      return new Response(response.text, { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (error) {
      const failure = toKeylessError(error, href);
      lastFailure = { at: Date.now(), error: failure };
      throw failure;
    }
  };

  const remote = createRemoteJWKSet(url, {
    // keyless decides when old keys are refreshed (below); jose only fetches for the first use and unknown kids.
    cacheMaxAge: Number.POSITIVE_INFINITY,
    cooldownDuration: settings.cooldownMs,
    // keyless's own time-out fires first and names the endpoint; jose's is a backstop.
    timeoutDuration: settings.timeoutMs + 1000,
    [customFetch]: fetchJwks,
    [jwksCache]: cache as Record<string, never>,
  });

  const refreshIfOld = () => {
    if (cache.uat === undefined || remote.reloading || failureCoolingDown()) return;
    if (Date.now() - cache.uat < settings.cacheMaxAgeMs) return;
    settings.log.debug(`JWKS older than ${settings.cacheMaxAgeMs / 1000} s: refreshing it in the background`);
    remote.reload().catch((error: unknown) => {
      settings.log.warn(
        `JWKS refresh failed; still verifying with the ${cachedKeys()} cached keys (${error instanceof Error ? error.message : String(error)})`,
      );
    });
  };

  const cachedKeys = () => cache.jwks?.keys.length ?? 0;

  return {
    getKey: async (header, token) => {
      refreshIfOld();
      return remote(header, token);
    },
    cachedKeys,
    canRefetch: () => !remote.coolingDown && !failureCoolingDown(),
  };
}

/** The `kid`s of a valid JWK Set answer; anything else is a `KeylessError`. */
function readKeys(response: HttpResponse): string[] {
  if (response.status !== 200) throw endpointStatusError(response, SERVICE);
  const body = readJsonObject(response, 'oidc', SERVICE);
  if (!Array.isArray(body.keys) || !body.keys.every((key) => typeof key === 'object' && key !== null)) {
    throw new KeylessError({
      code: 'INVALID_RESPONSE',
      provider: 'oidc',
      message: `${capitalize(SERVICE)} answered with JSON that is not a JWK Set (no keys array).`,
      hint: 'Check the issuer: its jwks_uri must serve a JWK Set (RFC 7517 §5).',
      details: { status: response.status },
    });
  }
  return body.keys.map((key: { kid?: unknown }) => (typeof key.kid === 'string' ? key.kid : '?'));
}

function toKeylessError(error: unknown, href: string): KeylessError {
  if (isKeylessError(error)) return error;
  const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
  return new KeylessError({
    code: timedOut ? 'TIMEOUT' : 'NETWORK',
    provider: 'oidc',
    message: timedOut ? `The JWKS at ${href} did not answer in time.` : `Could not fetch the JWKS at ${href}.`,
    cause: error,
  });
}
