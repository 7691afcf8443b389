import {
  AWS_CLAIMS_KEY,
  type AwsWebIdentityClaims,
  checkFunction,
  checkNumber,
  checkString,
  clipClaim,
  createLogger,
  formatPresented,
  invalidConfig,
  isKeylessError,
  KeylessError,
  type KeylessErrorDetails,
  type Logger,
  presentedClaims,
  showValue,
} from '@keyless/core';
import {
  decodeJwt,
  decodeProtectedHeader,
  type CryptoKey as JoseCryptoKey,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import { checkIssuer, createDiscovery, type Discovery, type DiscoveryDocument } from './discovery.js';
import { createKeySet, type KeySet } from './remote-key-set.js';
import { checkSecureUrl, isSecureUrl } from './secure-url.js';

/** What STS `GetWebIdentityToken` signs with: only asymmetric algorithms, so HMAC key confusion cannot arise. */
export const AWS_TOKEN_ALGORITHMS = ['RS256', 'ES384'] as const;
export type AwsTokenAlgorithm = (typeof AWS_TOKEN_ALGORITHMS)[number];
// STS GetWebIdentityToken DurationSeconds is at most 3600: an AWS token is never older than that and valid.
const MAX_TOKEN_AGE_SECONDS = 3600;
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
const DEFAULT_JWKS_CACHE_MAX_AGE_SECONDS = 600;
const DEFAULT_JWKS_COOLDOWN_SECONDS = 30;
const DEFAULT_TIMEOUT_MS = 5_000;
// Above any AWS token (50 tags of 128 + 256 characters fit); refuses to parse megabytes of attacker input.
const MAX_TOKEN_LENGTH = 65_536;
const ALWAYS_REQUIRED = ['iss', 'sub', 'aud', 'exp', 'iat'];
const MAX_SHARED_ISSUERS = 32;

type OneOrMany = string | readonly string[];

/**
 * Checks of AWS-specific claims, which sit in the `https://sts.amazonaws.com/` object claim. Each
 * listed value set must contain the token's value; an absent claim fails.
 */
export interface AwsClaimRequirements {
  /** Top-level claims that must be present, besides `iss sub aud exp iat` (always required), e.g. `jti`. */
  names?: readonly string[];
  /** `aws_account`: the caller's AWS account id(s). */
  awsAccount?: OneOrMany;
  /** `org_id`: the caller's AWS Organizations id(s). */
  orgId?: OneOrMany;
  /** `source_region`: where the token was minted. */
  sourceRegion?: OneOrMany;
  /**
   * `principal_tags`: tags of the caller's role or session, set by its administrators. (Request tags
   * are chosen by the caller itself, so they are deliberately not offered as a trust check.)
   */
  principalTags?: Readonly<Record<string, OneOrMany>>;
}

export interface AwsTokenVerifierOptions {
  /** The AWS account's issuer, exactly (`aws iam get-outbound-web-identity-federation-info`). Keys come from its discovery document. */
  issuer: string;
  /** The audience(s) this service accepts; the token's `aud` (string or array) must contain one. */
  audience: OneOrMany;
  /**
   * The caller(s) allowed: a role ARN, a list of them, or a predicate over `sub` (and the verified
   * claims). Default: any principal of the issuer's account.
   */
  subject?: OneOrMany | ((sub: string, claims: AwsWebIdentityClaims) => boolean);
  /** Default both `RS256` and `ES384`. `none` and HMAC algorithms can never be allowed. */
  algorithms?: readonly AwsTokenAlgorithm[];
  /** Accepted clock skew for `exp`, `nbf` and `iat`, 0..300 s. Default 30. */
  clockToleranceSeconds?: number;
  /** Claims that must be present or hold given values (including nested AWS claims). */
  requiredClaims?: AwsClaimRequirements;
  /** The JWKS URL, to skip discovery (it must be on the issuer's origin). Default: `jwks_uri` of discovery. */
  jwksUri?: string;
  /** Cached keys older than this are refreshed in the background, 1..86400 s. Default 600. */
  jwksCacheMaxAgeSeconds?: number;
  /** Least time between two JWKS fetches for an unknown `kid`, or after a failure, 0..3600 s. Default 30. */
  jwksCooldownSeconds?: number;
  /** Time-out of the discovery and JWKS requests. Default 5,000 ms. */
  requestTimeoutMs?: number;
  /** Default: silent. Lines carry claims and kids, never the token. */
  logger?: Partial<Logger>;
}

/** A token that passed every check. */
export interface VerifiedAwsToken {
  claims: AwsWebIdentityClaims;
  protectedHeader: JWTHeaderParameters;
}

export type AwsTokenVerifier = (jwt: string) => Promise<VerifiedAwsToken>;

/** Why a token was rejected: `details.reason` of the `TOKEN_REJECTED` error. */
export type AwsTokenRejectionReason =
  | 'malformed'
  | 'algorithm'
  | 'issuer'
  | 'unknown_key'
  | 'signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'too_old'
  | 'audience'
  | 'subject'
  | 'missing_claim'
  | 'claim_mismatch';

interface ClaimSettings {
  issuer: string;
  audience: string[];
  subject: ((sub: string, claims: AwsWebIdentityClaims) => boolean) | string[] | undefined;
  algorithms: AwsTokenAlgorithm[];
  clockTolerance: number;
  requiredClaims: AwsClaimRequirements;
  log: Logger;
}

interface KeySettings {
  issuer: string;
  jwksUri: URL | undefined;
  cacheMaxAgeMs: number;
  cooldownMs: number;
  timeoutMs: number;
}

/** The issuer's keys: discovery once, then a remote key set. */
interface IssuerKeys {
  keySet(): Promise<KeySet>;
}

/**
 * A verifier of AWS web identity tokens for one issuer: its discovery document and keys are cached
 * in the verifier, so create it once and reuse it. Options are checked now.
 */
export function createAwsTokenVerifier(options: AwsTokenVerifierOptions): AwsTokenVerifier {
  const { claims, keys } = checkVerifierOptions(options);
  const issuerKeys = createIssuerKeys(keys, claims.log);
  return (jwt) => verifyToken(jwt, issuerKeys, claims);
}

const sharedKeys = new Map<string, IssuerKeys>();

/**
 * Verifies an AWS web identity token (signature, issuer, audience, subject, lifetime, claims) and
 * returns its typed claims. Discovery and keys are cached per issuer across calls.
 */
export function verifyAwsWebIdentityToken(jwt: string, options: AwsTokenVerifierOptions): Promise<VerifiedAwsToken> {
  let settings: ReturnType<typeof checkVerifierOptions>;
  try {
    settings = checkVerifierOptions(options);
  } catch (error) {
    return Promise.reject(error);
  }
  const { claims, keys } = settings;
  const id = [keys.issuer, keys.jwksUri?.href ?? '', keys.cacheMaxAgeMs, keys.cooldownMs, keys.timeoutMs].join('\n');
  let issuerKeys = sharedKeys.get(id);
  if (!issuerKeys) {
    if (sharedKeys.size >= MAX_SHARED_ISSUERS) {
      const oldest = sharedKeys.keys().next().value;
      if (oldest !== undefined) sharedKeys.delete(oldest);
    }
    issuerKeys = createIssuerKeys(keys, claims.log);
    sharedKeys.set(id, issuerKeys);
  }
  return verifyToken(jwt, issuerKeys, claims);
}

function checkVerifierOptions(options: AwsTokenVerifierOptions): { claims: ClaimSettings; keys: KeySettings } {
  if (typeof options !== 'object' || options === null) throw invalidConfig('oidc', 'options must be an object');
  const issuer = checkIssuer('issuer', options.issuer);
  const audience = checkList('audience', options.audience);
  if (audience === undefined) {
    throw invalidConfig('oidc', 'audience is required', 'Pass the audience callers request their AWS tokens for.');
  }
  let subject: ClaimSettings['subject'];
  if (typeof options.subject === 'function') subject = checkFunction('oidc', 'subject', options.subject);
  else subject = checkList('subject', options.subject);
  if (!Array.isArray(options.algorithms ?? []) || options.algorithms?.length === 0) {
    throw invalidConfig('oidc', `algorithms must be a non-empty subset of ${AWS_TOKEN_ALGORITHMS.join(', ')}`);
  }
  const algorithms = [...(options.algorithms ?? AWS_TOKEN_ALGORITHMS)];
  for (const alg of algorithms) {
    if (!(AWS_TOKEN_ALGORITHMS as readonly string[]).includes(alg)) {
      throw invalidConfig(
        'oidc',
        `algorithms must be a subset of ${AWS_TOKEN_ALGORITHMS.join(', ')}, got ${showValue(alg)}`,
        'AWS signs with RS256 or ES384 only; none and HMAC algorithms are never accepted.',
      );
    }
  }
  const clockTolerance = checkNumber(
    'oidc',
    'clockToleranceSeconds',
    options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
    0,
    300,
  );
  const requiredClaims = checkRequirements(options.requiredClaims);
  let jwksUri: URL | undefined;
  if (options.jwksUri !== undefined) {
    jwksUri = checkSecureUrl('jwksUri', options.jwksUri);
    if (jwksUri.origin !== new URL(issuer).origin) {
      throw invalidConfig(
        'oidc',
        `jwksUri must be on the issuer's origin ${new URL(issuer).origin}, got ${showValue(options.jwksUri)}`,
      );
    }
  }
  const cacheMaxAge = checkNumber(
    'oidc',
    'jwksCacheMaxAgeSeconds',
    options.jwksCacheMaxAgeSeconds ?? DEFAULT_JWKS_CACHE_MAX_AGE_SECONDS,
    1,
    86_400,
  );
  const cooldown = checkNumber(
    'oidc',
    'jwksCooldownSeconds',
    options.jwksCooldownSeconds ?? DEFAULT_JWKS_COOLDOWN_SECONDS,
    0,
    3600,
  );
  const timeoutMs = Math.round(
    checkNumber('oidc', 'requestTimeoutMs', options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 60_000),
  );
  const log = createLogger(options.logger, 'verify');
  return {
    claims: { issuer, audience, subject, algorithms, clockTolerance, requiredClaims, log },
    keys: { issuer, jwksUri, cacheMaxAgeMs: cacheMaxAge * 1000, cooldownMs: cooldown * 1000, timeoutMs },
  };
}

function checkList(name: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidConfig('oidc', `${name} must be a string or a non-empty array of strings, got ${showValue(value)}`);
  }
  return list.map((item, index) => checkString('oidc', typeof value === 'string' ? name : `${name}[${index}]`, item));
}

function checkRequirements(value: unknown): AwsClaimRequirements {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidConfig(
      'oidc',
      'requiredClaims must be an object { names?, awsAccount?, orgId?, sourceRegion?, principalTags? }',
    );
  }
  const input = value as Record<string, unknown>;
  const known = new Set(['names', 'awsAccount', 'orgId', 'sourceRegion', 'principalTags']);
  for (const key of Object.keys(input)) {
    if (!known.has(key))
      throw invalidConfig('oidc', `requiredClaims.${key} is not a known requirement (${[...known].join(', ')})`);
  }
  const out: { -readonly [K in keyof AwsClaimRequirements]: AwsClaimRequirements[K] } = {};
  const names = checkList('requiredClaims.names', input.names);
  if (names) out.names = names;
  for (const key of ['awsAccount', 'orgId', 'sourceRegion'] as const) {
    const list = checkList(`requiredClaims.${key}`, input[key]);
    if (list) out[key] = list;
  }
  if (input.principalTags !== undefined) {
    const tags = input.principalTags;
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
      throw invalidConfig('oidc', 'requiredClaims.principalTags must be an object of tag names to allowed values');
    }
    out.principalTags = Object.fromEntries(
      Object.entries(tags).map(([tag, allowed]) => [
        tag,
        checkList(`requiredClaims.principalTags.${tag}`, allowed) ?? [],
      ]),
    );
  }
  return out;
}

function createIssuerKeys(settings: KeySettings, log: Logger): IssuerKeys {
  const discovery: Discovery | undefined = settings.jwksUri
    ? undefined
    : createDiscovery({ issuer: settings.issuer, oauthFallback: false, timeoutMs: settings.timeoutMs, log });
  let keySet: KeySet | undefined;
  return {
    async keySet() {
      if (keySet) return keySet;
      const url = settings.jwksUri ?? jwksUriOf(await (discovery as Discovery)(), settings.issuer);
      keySet ??= createKeySet(url, {
        cacheMaxAgeMs: settings.cacheMaxAgeMs,
        cooldownMs: settings.cooldownMs,
        timeoutMs: settings.timeoutMs,
        log,
      });
      return keySet;
    },
  };
}

/** `jwks_uri` of the issuer's document: https (http on loopback), on the issuer's own origin. */
function jwksUriOf(document: DiscoveryDocument, issuer: string): URL {
  const value = document.jwks_uri;
  const origin = new URL(issuer).origin;
  if (!isSecureUrl(value) || new URL(value).origin !== origin) {
    throw new KeylessError({
      code: 'INVALID_RESPONSE',
      provider: 'oidc',
      message: `The discovery document of ${issuer} has no jwks_uri on the issuer's origin ${origin}${typeof value === 'string' ? ` (it names ${JSON.stringify(clipClaim(value))})` : ''}.`,
      hint: 'AWS serves its keys at {issuer}/.well-known/jwks.json. If you trust another location, pass jwksUri.',
      details: { status: 200 },
    });
  }
  return new URL(value);
}

async function verifyToken(jwt: unknown, keys: IssuerKeys, settings: ClaimSettings): Promise<VerifiedAwsToken> {
  if (typeof jwt !== 'string' || jwt.length === 0) {
    throw rejected('malformed', 'The token is missing or not a string.', {}, settings);
  }
  if (jwt.length > MAX_TOKEN_LENGTH) {
    throw rejected('malformed', `The token is longer than ${MAX_TOKEN_LENGTH} characters.`, {}, settings);
  }
  const presented = presentedClaims(jwt);
  let header: JWTHeaderParameters;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(jwt) as JWTHeaderParameters;
    unverified = decodeJwt(jwt);
  } catch {
    throw rejected('malformed', 'The token is not a signed JWT (JWS compact serialization).', presented, settings);
  }
  // Cheap checks first: a token that cannot pass costs no discovery or JWKS request.
  if (typeof header.alg !== 'string' || !(settings.algorithms as string[]).includes(header.alg)) {
    throw rejected(
      'algorithm',
      `The token's alg ${JSON.stringify(clipClaim(String(header.alg)))} is not accepted (accepted: ${settings.algorithms.join(', ')}).`,
      presented,
      settings,
    );
  }
  if (unverified.iss !== settings.issuer) {
    // The keys always come from the configured issuer: a token's own iss is never used to find them.
    throw rejected(
      'issuer',
      `The token's issuer ${JSON.stringify(presented.iss ?? null)} is not the trusted issuer ${settings.issuer}.`,
      presented,
      settings,
    );
  }
  const keySet = await keys.keySet();
  const verifyOptions: JWTVerifyOptions = {
    issuer: settings.issuer,
    audience: settings.audience,
    algorithms: settings.algorithms,
    clockTolerance: settings.clockTolerance,
    maxTokenAge: MAX_TOKEN_AGE_SECONDS,
    requiredClaims: [...ALWAYS_REQUIRED, ...(settings.requiredClaims.names ?? [])],
  };
  let result: { payload: JWTPayload; protectedHeader: JWTHeaderParameters };
  try {
    result = await verifyWithKeySet(jwt, keySet.getKey, verifyOptions);
  } catch (error) {
    throw joseError(error, header, presented, keySet, settings);
  }
  const claims = result.payload as AwsWebIdentityClaims;
  checkSubject(claims, presented, settings);
  checkAwsClaims(claims, presented, settings);
  settings.log.debug(`verified ${formatPresented(presented)} kid=${String(header.kid ?? '-')}`);
  return { claims, protectedHeader: result.protectedHeader };
}

/** jwtVerify, trying each candidate when a token without `kid` matches several keys (jose's documented pattern). */
async function verifyWithKeySet(jwt: string, getKey: JWTVerifyGetKey, options: JWTVerifyOptions) {
  try {
    return await jwtVerify(jwt, getKey, options);
  } catch (error) {
    if ((error as { code?: unknown })?.code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
    let last: unknown = error;
    for await (const key of error as AsyncIterable<JoseCryptoKey>) {
      try {
        return await jwtVerify(jwt, key, options);
      } catch (inner) {
        last = inner;
        if ((inner as { code?: unknown }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw inner;
      }
    }
    throw last;
  }
}

function checkSubject(claims: AwsWebIdentityClaims, presented: Presented, settings: ClaimSettings): void {
  const { subject } = settings;
  if (subject === undefined) return;
  const ok = typeof subject === 'function' ? subject(claims.sub, claims) === true : subject.includes(claims.sub);
  if (!ok) {
    throw rejected(
      'subject',
      `The token's subject ${JSON.stringify(presented.sub ?? null)} is not an allowed caller.`,
      presented,
      settings,
      { expected: Array.isArray(subject) ? { subject } : {} },
    );
  }
}

function checkAwsClaims(claims: AwsWebIdentityClaims, presented: Presented, settings: ClaimSettings): void {
  const required = settings.requiredClaims;
  const aws = (claims[AWS_CLAIMS_KEY] ?? {}) as Record<string, unknown>;
  const checks: [name: string, value: unknown, allowed: OneOrMany | undefined][] = [
    ['aws_account', aws.aws_account, required.awsAccount],
    ['org_id', aws.org_id, required.orgId],
    ['source_region', aws.source_region, required.sourceRegion],
  ];
  const tags = (
    typeof aws.principal_tags === 'object' && aws.principal_tags !== null ? aws.principal_tags : {}
  ) as Record<string, unknown>;
  for (const [tag, allowed] of Object.entries(required.principalTags ?? {})) {
    checks.push([`principal_tags.${tag}`, tags[tag], allowed]);
  }
  for (const [name, value, allowed] of checks) {
    if (allowed === undefined) continue;
    const list = typeof allowed === 'string' ? [allowed] : allowed;
    const claim = `${AWS_CLAIMS_KEY}${name}`;
    if (typeof value !== 'string') {
      throw rejected('missing_claim', `The token has no ${name} in its ${AWS_CLAIMS_KEY} claim.`, presented, settings, {
        claim,
      });
    }
    if (!list.includes(value)) {
      throw rejected(
        'claim_mismatch',
        `The token's ${name} ${JSON.stringify(clipClaim(value))} is not one of ${list.join(', ')}.`,
        presented,
        settings,
        { claim, expected: { [name]: [...list] } },
      );
    }
  }
}

type Presented = NonNullable<KeylessErrorDetails['presented']>;

const HINTS: Record<AwsTokenRejectionReason, (settings: ClaimSettings) => string> = {
  malformed: () => 'Send the JWT from STS GetWebIdentityToken unchanged, as Authorization: Bearer <jwt>.',
  algorithm: (s) =>
    `Only ${s.algorithms.join(' and ')} are accepted; alg none and HMAC (HS*) tokens never are. A caller using another AWS algorithm must request signingAlgorithm ${s.algorithms[0]}, or add it to algorithms.`,
  issuer: () =>
    'Each AWS account has its own issuer: the caller is in another account, or issuer is wrong (aws iam get-outbound-web-identity-federation-info shows it).',
  unknown_key: () =>
    'The token was not signed by a key of the trusted issuer, or by a key newer than the JWKS this verifier can fetch.',
  signature: () => 'The token was altered, or was not signed by the trusted issuer.',
  expired: () =>
    'Callers must use a fresh token (keyless providers refresh before expiry); check the clocks of both hosts.',
  not_yet_valid: () => 'Check the clocks of the caller and this host (clockToleranceSeconds).',
  issued_in_future: () => 'Check the clocks of the caller and this host (clockToleranceSeconds).',
  too_old: () => `AWS tokens live at most ${MAX_TOKEN_AGE_SECONDS} s: this one was issued earlier than that.`,
  audience: (s) =>
    `The caller must request its token with audience ${s.audience.map((a) => JSON.stringify(a)).join(' or ')} (aws.audience / fromAwsWebIdentityToken({ audience })).`,
  subject: () => 'subject lists the role ARNs allowed to call: add the caller’s role, or check which role it runs as.',
  missing_claim: () =>
    'AWS omits context claims that do not apply (org_id outside AWS Organizations, principal_tags without tags): relax requiredClaims or tag the caller.',
  claim_mismatch: () => 'The caller does not meet requiredClaims: check its account, organization, region or tags.',
};

function rejected(
  reason: AwsTokenRejectionReason,
  message: string,
  presented: Presented,
  settings: ClaimSettings,
  extra: KeylessErrorDetails = {},
): KeylessError {
  return new KeylessError({
    code: 'TOKEN_REJECTED',
    provider: 'oidc',
    message,
    hint: HINTS[reason](settings),
    details: {
      reason,
      presented,
      ...extra,
      expected: { issuer: settings.issuer, audience: settings.audience, ...(extra.expected ?? {}) },
    },
  });
}

/** jose's error codes (stable across copies of jose, unlike `instanceof`) → a `KeylessError`. */
function joseError(
  error: unknown,
  header: JWTHeaderParameters,
  presented: Presented,
  keySet: KeySet,
  settings: ClaimSettings,
): KeylessError {
  const kid = header.kid === undefined ? '(none)' : JSON.stringify(clipClaim(String(header.kid)));
  if (isKeylessError(error)) {
    // Fetching the JWKS failed while looking for a key that is not cached.
    const cached = keySet.cachedKeys();
    return new KeylessError({
      code: error.code,
      provider: 'oidc',
      message:
        cached > 0
          ? `The token's key ${kid} is not among the ${cached} cached keys of ${settings.issuer}, and the JWKS could not be fetched again: ${error.message}`
          : `Could not load the keys of ${settings.issuer}: ${error.message}`,
      ...(error.hint ? { hint: error.hint } : {}),
      retryable: error.retryable,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      details: { ...error.details, presented },
      cause: error,
    });
  }
  const { code, claim, reason } = error as { code?: unknown; claim?: unknown; reason?: unknown };
  const s = settings;
  const tolerance = `clock tolerance ${s.clockTolerance} s`;
  switch (code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return rejected(
        'algorithm',
        `The token's alg is not accepted (accepted: ${s.algorithms.join(', ')}).`,
        presented,
        s,
      );
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return rejected('malformed', 'The token is not a well-formed signed JWT.', presented, s);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return rejected('signature', `The token's signature does not verify with the issuer's key ${kid}.`, presented, s);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return rejected(
        'unknown_key',
        keySet.canRefetch()
          ? `No key ${kid} for ${String(header.alg)} in the JWKS of ${s.issuer}.`
          : `No key ${kid} for ${String(header.alg)} in the JWKS of ${s.issuer}, fetched moments ago (it is fetched again for an unknown kid at most every cool-down period).`,
        presented,
        s,
        { kid: header.kid === undefined ? null : clipClaim(String(header.kid)) },
      );
    case 'ERR_JWT_EXPIRED':
      return claim === 'iat'
        ? rejected(
            'too_old',
            `The token was issued more than ${MAX_TOKEN_AGE_SECONDS} s ago (${tolerance}).`,
            presented,
            s,
          )
        : rejected('expired', `The token expired (${tolerance}).`, presented, s);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimError(String(claim), String(reason), presented, s, tolerance);
    case 'ERR_JWKS_TIMEOUT':
      return new KeylessError({
        code: 'TIMEOUT',
        provider: 'oidc',
        message: `The JWKS of ${s.issuer} did not answer in time.`,
        cause: error,
        details: { presented },
      });
    default:
      // ERR_JOSE_NOT_SUPPORTED, ERR_JWK_INVALID, ERR_JWKS_INVALID, a too-short RSA key…: the issuer's key is unusable.
      return new KeylessError({
        code: 'INVALID_RESPONSE',
        provider: 'oidc',
        message: `The key ${kid} published by ${s.issuer} cannot verify ${String(header.alg)} tokens.`,
        hint: 'Check jwksUri / the issuer: its JWKS must hold RSA (2048+ bits) or P-384 public keys.',
        cause: error,
        details: { presented },
      });
  }
}

function claimError(
  claim: string,
  reason: string,
  presented: Presented,
  settings: ClaimSettings,
  tolerance: string,
): KeylessError {
  if (reason === 'missing') {
    return rejected('missing_claim', `The token has no ${claim} claim.`, presented, settings, { claim });
  }
  if (reason === 'invalid') {
    return rejected('malformed', `The token's ${claim} claim has the wrong type.`, presented, settings, { claim });
  }
  switch (claim) {
    case 'iss':
      return rejected(
        'issuer',
        `The token's issuer is not the trusted issuer ${settings.issuer}.`,
        presented,
        settings,
      );
    case 'aud':
      return rejected(
        'audience',
        `The token's audience ${JSON.stringify(presented.aud ?? null)} does not include ${settings.audience.map((a) => JSON.stringify(a)).join(' or ')}.`,
        presented,
        settings,
      );
    case 'sub':
      return rejected(
        'subject',
        `The token's subject ${JSON.stringify(presented.sub ?? null)} is not an allowed caller.`,
        presented,
        settings,
      );
    case 'nbf':
      return rejected(
        'not_yet_valid',
        `The token is not valid yet (nbf is in the future, ${tolerance}).`,
        presented,
        settings,
      );
    case 'iat':
      return rejected(
        'issued_in_future',
        `The token was issued in the future (iat, ${tolerance}).`,
        presented,
        settings,
      );
    default:
      return rejected('malformed', `The token's ${claim} claim is invalid.`, presented, settings, { claim });
  }
}
