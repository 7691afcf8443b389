import {
  AWS_CLAIMS_KEY,
  type AwsContextClaims,
  type AwsWebIdentityTokenOptions,
  type CachedTokenProvider,
  checkNumber,
  createLogger,
  createTokenCache,
  formatTokenSummary,
  invalidConfig,
  type Logger,
  type RetryOptions,
  resolveWebIdentityToken,
  showValue,
  summarizeToken,
  type TokenSummary,
  type WebIdentityToken,
  type WebIdentityTokenProvider,
} from '@keyless/core';
import type { Credentials, IdentityPoolClient, IdentityPoolClientOptions } from 'google-auth-library';
import { type GoogleAuthLibraryModule, loadGoogleAuthLibrary } from './google-auth-library.js';
import type { ExchangeContext } from './google-errors.js';
import { exchangeForFederatedToken, type FederatedToken, SUBJECT_TOKEN_TYPE } from './google-sts.js';
import { DEFAULT_AWS_DURATION_SECONDS, type GoogleTargetOptions, resolveGoogleTarget } from './google-target.js';
import { generateServiceAccountToken } from './iam-credentials.js';

// google-auth-library's default scope for external accounts; IAM Credentials requires cloud-platform
// (or iam) on the federated token that calls generateAccessToken (BaseExternalAccountClient).
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
// A federated token only authorises one generateAccessToken call, so it is reused while it has a
// minute left and never refreshed in the background.
const FEDERATED_MIN_VALIDITY_SECONDS = 60;

export interface GoogleAuthClientOptions extends GoogleTargetOptions {
  /** OAuth scopes of the Google access token. Default `https://www.googleapis.com/auth/cloud-platform`. */
  scopes?: string | string[];
  /** Project the client reports (`GoogleAuth.getProjectId()`, client libraries' default project). */
  projectId?: string;
  /** Sent as `x-goog-user-project` for billing and quota. */
  quotaProjectId?: string;
  /**
   * Options of the AWS JWT keyless gets (`fromAwsWebIdentityToken`). `audience` defaults to the
   * provider's resource name with the `https:` prefix; `signingAlgorithm` must be RS256;
   * `durationSeconds` defaults to 3600 (a federated token lives no longer than the JWT).
   */
  aws?: Partial<AwsWebIdentityTokenOptions>;
  /** A provider of the AWS JWT you already have (then `aws` is not allowed). */
  webIdentityToken?: WebIdentityTokenProvider;
  /** Time-out of one request to Google STS or IAM Credentials. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** Retries of throttling, network and 5xx failures. Default: 3 attempts with jittered back-off. */
  retry?: RetryOptions | false;
  /** Default: silent. Lines carry claims and lifetimes, never a token. */
  logger?: Partial<Logger>;
}

interface GoogleAccessToken {
  accessToken: string;
  expiresAt: Date;
  serviceAccountEmail: string | undefined;
  presented: TokenSummary;
}

interface PresentedFederatedToken extends FederatedToken {
  /** What was presented to get it (claims only), for the hints of the impersonation step. */
  context: ExchangeContext;
}

type TokenCacheFactory = (client: IdentityPoolClient) => CachedTokenProvider<GoogleAccessToken>;
type KeylessClientClass = new (options: IdentityPoolClientOptions, tokens: TokenCacheFactory) => IdentityPoolClient;

/**
 * A google-auth-library `AuthClient` that gets Google access tokens for this AWS workload through
 * workload identity federation: the AWS-signed JWT (STS GetWebIdentityToken, cached by
 * `@keyless/core`) is traded at Google STS, then optionally for a service account token.
 *
 * Hand it to any Google client library (`new Storage({ authClient })`) or to
 * `new GoogleAuth({ authClient })`. Options are validated now; nothing is fetched until the first token.
 */
export function createGoogleAuthClient(options: GoogleAuthClientOptions): IdentityPoolClient {
  return createGoogleAuthClientFrom(loadGoogleAuthLibrary().module, options);
}

/**
 * Builds the client on a given copy of google-auth-library (tests check each supported major).
 *
 * Why a subclass of `IdentityPoolClient` whose token source is keyless's own exchange, rather than
 * google-auth-library's exchange with a subject-token supplier:
 * - it stays a real external-account client (`instanceof BaseExternalAccountClient`), so `GoogleAuth`
 *   finds the service account for `getCredentials()` / signed URLs, `getProjectId()` and the
 *   `request()` / `forceRefreshOnFailure` logic work unchanged, and client libraries accept it;
 * - the STS and IAM Credentials calls go through `@keyless/core` (`sendHttpRequest`), so failures become
 *   typed `KeylessError`s built from the answer's status and body. google-auth-library would turn them
 *   into a plain `Error("Error code invalid_grant: …")` or a `GaxiosError` whose `config.data` holds the
 *   subject token, and its STS hop ignores `transporter` (still true in 11.3.4);
 * - one `createTokenCache` holds the Google token: many concurrent callers share one exchange, the
 *   token is refreshed in the background before it expires, retries are bounded and jittered; the AWS
 *   JWT comes from core's own cache, so a Google refresh never re-mints a JWT that is still good.
 */
export function createGoogleAuthClientFrom(
  library: GoogleAuthLibraryModule,
  options: GoogleAuthClientOptions,
): IdentityPoolClient {
  if (typeof options !== 'object' || options === null) throw invalidConfig('gcp', 'options must be an object');
  const target = resolveGoogleTarget(options);
  const scopes = checkScopes(options.scopes);
  const defaultAwsAudience = `https:${target.provider.name}`;
  const tokenSource = options.webIdentityToken === undefined ? 'aws' : 'webIdentityToken';
  const webIdentityToken = resolveWebIdentityToken('gcp', options, {
    // One retry layer: the token cache retries a failed STS call, so the JWT provider does not.
    retry: false,
    audience: defaultAwsAudience,
    signingAlgorithm: 'RS256',
    // A federated token never outlives the subject token (observed: expires_in = min(the JWT's remaining
    // life, 3600)), so a 300 s JWT would mean an exchange every few minutes.
    durationSeconds: DEFAULT_AWS_DURATION_SECONDS,
    allowedAlgorithms: ['RS256'],
    algorithmHelp: 'Google STS documents RS256 and ES256; AWS signs RS256 or ES384',
    logger: options.logger,
  });
  const getJwt = () => webIdentityToken();
  const timeoutMs =
    options.requestTimeoutMs === undefined
      ? undefined
      : checkNumber('gcp', 'requestTimeoutMs', options.requestTimeoutMs, 1, 600_000);
  for (const name of ['projectId', 'quotaProjectId'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      throw invalidConfig('gcp', `${name} must be a non-empty string, got ${showValue(value)}`);
    }
  }
  const log = createLogger(options.logger, 'gcp');
  const impersonation = target.impersonation;

  const context = (jwt: WebIdentityToken): ExchangeContext => ({
    provider: target.provider,
    presented: summarizeToken(jwt.token),
    awsClaims: awsClaims(jwt),
    tokenSource,
    defaultAwsAudience,
    tokenUrl: target.tokenUrl,
    scopes,
    impersonation,
  });

  const exchange = async (): Promise<PresentedFederatedToken> => {
    const jwt = await getJwt();
    const request = context(jwt);
    const federated = await exchangeForFederatedToken({
      tokenUrl: target.tokenUrl,
      audience: target.provider.name,
      // generateAccessToken needs cloud-platform on the caller; the user's scopes go on the SA token.
      scopes: impersonation ? [CLOUD_PLATFORM_SCOPE] : scopes,
      subjectToken: jwt.token,
      timeoutMs,
      context: request,
    });
    log.debug(`Google STS issued a federated token for ${formatTokenSummary(request.presented)}`);
    return { ...federated, context: request };
  };
  const federatedTokens = impersonation
    ? createTokenCache(exchange, {
        provider: 'gcp',
        name: 'gcp:sts',
        refreshBeforeExpirySeconds: 0,
        minValiditySeconds: FEDERATED_MIN_VALIDITY_SECONDS,
        retry: false,
        ...(options.logger ? { logger: options.logger } : {}),
      })
    : undefined;

  const fetchAccessToken = async (): Promise<GoogleAccessToken> => {
    if (!impersonation || !federatedTokens) {
      const federated = await exchange();
      return {
        accessToken: federated.accessToken,
        expiresAt: federated.expiresAt,
        serviceAccountEmail: undefined,
        presented: federated.context.presented,
      };
    }
    const federated = await federatedTokens();
    const token = await generateServiceAccountToken({
      impersonation,
      federatedToken: federated.accessToken,
      scopes,
      timeoutMs,
      context: federated.context,
    });
    log.debug(`IAM Credentials issued a token for ${impersonation.serviceAccountEmail}`);
    return {
      ...token,
      serviceAccountEmail: impersonation.serviceAccountEmail,
      presented: federated.context.presented,
    };
  };

  const tokens: TokenCacheFactory = (client) =>
    createTokenCache(
      async () => {
        const token = await fetchAccessToken();
        // AuthClient's contract: listeners learn about every new token (as google-auth-library emits it).
        client.emit('tokens', {
          refresh_token: null,
          expiry_date: token.expiresAt.getTime(),
          access_token: token.accessToken,
          token_type: 'Bearer',
          id_token: null,
        } satisfies Credentials);
        return token;
      },
      {
        provider: 'gcp',
        name: 'gcp',
        ...(options.retry === undefined ? {} : { retry: options.retry }),
        ...(options.logger ? { logger: options.logger } : {}),
        describe: (token) =>
          token.serviceAccountEmail
            ? `(service account ${token.serviceAccountEmail}, ${formatTokenSummary(token.presented)})`
            : `(federated, ${formatTokenSummary(token.presented)})`,
      },
    );

  const KeylessClient = clientClass(library);
  return new KeylessClient(
    {
      type: 'external_account',
      audience: target.provider.name,
      subject_token_type: SUBJECT_TOKEN_TYPE,
      token_url: target.tokenUrl,
      universe_domain: target.universeDomain,
      scopes,
      ...(impersonation
        ? {
            service_account_impersonation_url: impersonation.url,
            service_account_impersonation: { token_lifetime_seconds: impersonation.lifetimeSeconds },
          }
        : {}),
      ...(options.projectId ? { project_id: options.projectId } : {}),
      ...(options.quotaProjectId ? { quota_project_id: options.quotaProjectId } : {}),
      // Only read if something bypasses the overridden token methods: it still yields the cached JWT.
      subject_token_supplier: { getSubjectToken: async () => (await getJwt()).token },
    },
    tokens,
  );
}

const classes = new WeakMap<GoogleAuthLibraryModule, KeylessClientClass>();

/** One subclass per copy of google-auth-library, so that `instanceof` holds within that copy. */
function clientClass(library: GoogleAuthLibraryModule): KeylessClientClass {
  const existing = classes.get(library);
  if (existing) return existing;
  class KeylessGoogleAuthClient extends library.IdentityPoolClient {
    readonly #tokens: CachedTokenProvider<GoogleAccessToken>;

    constructor(options: IdentityPoolClientOptions, tokens: TokenCacheFactory) {
      super(options);
      this.#tokens = tokens(this);
    }

    /** The cached Google access token; refreshed before it expires, one exchange for all callers. */
    override async getAccessToken(): ReturnType<IdentityPoolClient['getAccessToken']> {
      const token = await this.#tokens();
      return { token: token.accessToken, res: null };
    }

    /** Called by `request()` on a 401/403 with `forceRefreshOnFailure`: a new token, same cache. */
    protected override async refreshAccessTokenAsync(): Promise<Credentials> {
      const token = await this.#tokens({ forceRefresh: true });
      return { access_token: token.accessToken, expiry_date: token.expiresAt.getTime(), token_type: 'Bearer' };
    }
  }
  Object.defineProperty(KeylessGoogleAuthClient, 'name', { value: 'KeylessGoogleAuthClient' });
  classes.set(library, KeylessGoogleAuthClient);
  return KeylessGoogleAuthClient;
}

function awsClaims(jwt: WebIdentityToken): AwsContextClaims | undefined {
  const claims = (jwt.claims as Record<string, unknown> | undefined)?.[AWS_CLAIMS_KEY];
  return typeof claims === 'object' && claims !== null ? (claims as AwsContextClaims) : undefined;
}

function checkScopes(value: unknown): string[] {
  if (value === undefined) return [CLOUD_PLATFORM_SCOPE];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && /^\S+$/.test(s))) {
    throw invalidConfig(
      'gcp',
      `scopes must be a scope or a non-empty array of scopes (strings without spaces), got ${showValue(value)}`,
    );
  }
  return [...list];
}
