/**
 * The fault-injection matrix: every endpoint keyless talks to × every fault, and where each cell is
 * proved. `suite` cells run in the endpoint's reliability file through the shared fault suite
 * (support/fault-suite.ts); `test` cells are tests written for that endpoint; `contract` cells point
 * at an adapter's contract test that already proves the outcome (not duplicated); `na` says why a
 * fault cannot happen there. matrix.test.ts checks the matrix is complete, that every referenced test
 * exists, and that README.md shows this very table.
 */

export const FAULTS = {
  'http-5xx': {
    title: 'HTTP 5xx',
    outcome:
      'retried with jittered back-off (3 attempts, 20 s at most by default), then a retryable `EXCHANGE_FAILED` carrying the status',
  },
  'http-429': {
    title: 'HTTP 429 + Retry-After',
    outcome:
      'the retry waits what `Retry-After` asks (capped at 5 s); still throttled after the last attempt: a retryable `THROTTLED` with `retryAfterMs`',
  },
  timeout: {
    title: 'no answer (time-out)',
    outcome: 'each attempt ends after `requestTimeoutMs` (10 s by default); after the retries, a retryable `TIMEOUT`',
  },
  reset: { title: 'connection reset', outcome: 'retried, then a retryable `NETWORK` error' },
  dropped: {
    title: 'body cut off mid-transfer',
    outcome: 'treated as a network failure: retried, then a retryable `NETWORK` error',
  },
  truncated: {
    title: 'truncated JSON',
    outcome: '`INVALID_RESPONSE` (a 200 is not retried: the same proxy would answer again)',
  },
  malformed: {
    title: 'JSON of the wrong shape',
    outcome: '`INVALID_RESPONSE` naming the missing field, never a token-less success',
  },
  html: {
    title: 'HTML page',
    outcome:
      'a 200 HTML page (captive portal, proxy) is `INVALID_RESPONSE`; a 5xx HTML page is a retryable `EXCHANGE_FAILED`',
  },
  slow: { title: 'slow answer', outcome: 'an answer inside `requestTimeoutMs` is used; nothing is retried' },
  'clock-skew': {
    title: 'clock skew ±5 min',
    outcome:
      'lifetimes are counted on this machine’s clock from when the request left, so a token issued by a clock 5 minutes off is cached for its whole life and not fetched again',
  },
  'expires-mid-request': {
    title: 'token expires mid-request',
    outcome:
      'a token with under 10 s left when the answer arrives is never handed out: it is fetched again; an AWS JWT that expires on its way is refused by the target (`TOKEN_REJECTED`, not retried: it would be refused again) and the next call presents a new one; the verifier rejects a token that expired while its keys were fetched (`expired`)',
  },
  abort: {
    title: 'aborted `signal`',
    outcome:
      'that caller rejects at once with the signal’s reason (an `AbortError`); the shared request goes on and fills the cache for the others',
  },
  'refresh-fails': {
    title: 'refresh fails',
    outcome:
      'a cached token that is still usable keeps being served while the background refresh fails (retried, then paused 5 s); nothing is evicted and no rejection goes unhandled',
  },
  'process-exit': {
    title: 'no handle left open',
    outcome: 'a program exits on its own after its last call, even with a refresh waiting to retry',
  },
} as const;

export type FaultId = keyof typeof FAULTS;

export const ENDPOINTS = {
  'aws-sts': { title: 'AWS STS GetWebIdentityToken', package: 'core', suiteFile: undefined },
  entra: {
    title: 'Entra ID token endpoint',
    package: 'azure',
    suiteFile: 'packages/azure/test/reliability/faults.test.ts',
  },
  'google-sts': {
    title: 'Google STS',
    package: 'gcp',
    suiteFile: 'packages/gcp/test/reliability/faults.test.ts',
  },
  'iam-credentials': {
    title: 'IAM Credentials generateAccessToken',
    package: 'gcp',
    suiteFile: 'packages/gcp/test/reliability/faults.test.ts',
  },
  'snowflake-login': {
    title: 'Snowflake login-request',
    package: 'snowflake',
    suiteFile: undefined,
  },
  'token-exchange': {
    title: 'RFC 8693 token endpoint',
    package: 'oidc',
    suiteFile: 'packages/oidc/test/reliability/faults.test.ts',
  },
  'jwt-bearer': {
    title: 'RFC 7523 token endpoint',
    package: 'oidc',
    suiteFile: 'packages/oidc/test/reliability/faults.test.ts',
  },
  'vault-login': {
    title: 'Vault JWT login',
    package: 'oidc',
    suiteFile: 'packages/oidc/test/reliability/faults.test.ts',
  },
  'verifier-keys': {
    title: 'OIDC discovery + JWKS (verifier)',
    package: 'oidc',
    suiteFile: undefined,
  },
} as const;

export type EndpointId = keyof typeof ENDPOINTS;

export type Cell =
  | { by: 'suite' }
  | { by: 'test'; file: string; title: string }
  | { by: 'contract'; file: string; title: string }
  /** A test that proves a bug: `it.fails` until the adapter is fixed. */
  | { by: 'bug'; file: string; title: string }
  | { by: 'na'; why: string };

const suite: Cell = { by: 'suite' };
const test = (file: string, title: string): Cell => ({ by: 'test', file, title });
const contract = (file: string, title: string): Cell => ({ by: 'contract', file, title });
const na = (why: string): Cell => ({ by: 'na', why });

const CORE_FAULTS = 'packages/core/test/reliability/sts-faults.test.ts';
const STS_GAPS = 'test/reliability/sts-gaps.test.ts';
const EXIT = 'test/reliability/process-exit.test.ts';
const AZURE_CONTRACT = 'packages/azure/test/contract/token-request.test.ts';
const AZURE_ERRORS = 'packages/azure/test/contract/entra-error-cases.ts';
const GCP_STS_CONTRACT = 'packages/gcp/test/contract/google-sts.test.ts';
const GCP_IAM_CONTRACT = 'packages/gcp/test/contract/iam-credentials.test.ts';
const GCP_FAULTS = 'packages/gcp/test/reliability/faults.test.ts';
const SNOWFLAKE_CONTRACT = 'packages/snowflake/test/contract/login.test.ts';
const SNOWFLAKE_POOL = 'packages/snowflake/test/contract/pool.test.ts';
const SNOWFLAKE_FAULTS = 'packages/snowflake/test/reliability/faults.test.ts';
const OIDC_EXCHANGE = 'packages/oidc/test/contract/token-exchange.test.ts';
const OIDC_VAULT = 'packages/oidc/test/contract/vault.test.ts';
const OIDC_VERIFY = 'packages/oidc/test/contract/verify.test.ts';
const OIDC_FAULTS = 'packages/oidc/test/reliability/faults.test.ts';
const NO_SIGNAL_GCP =
  'google-auth-library’s getAccessToken() / getRequestHeaders() take no AbortSignal, so neither does the keyless client';

export const MATRIX: Record<EndpointId, Record<FaultId, Cell>> = {
  'aws-sts': {
    'http-5xx': contract(CORE_FAULTS, '5xx: three attempts, then a retryable EXCHANGE_FAILED; no fourth call'),
    'http-429': contract(CORE_FAULTS, '429 with Retry-After: THROTTLED carrying the delay, retried, then success'),
    timeout: contract(CORE_FAULTS, 'a silent STS: TIMEOUT after the bounded retries'),
    reset: test(STS_GAPS, '[aws-sts × reset]'),
    dropped: test(STS_GAPS, '[aws-sts × dropped]'),
    truncated: contract(CORE_FAULTS, 'a truncated XML body'),
    malformed: contract(CORE_FAULTS, 'a token that is not a JWT'),
    html: contract(CORE_FAULTS, 'an HTML 502 from a proxy: retryable EXCHANGE_FAILED'),
    slow: contract(CORE_FAULTS, 'a slow answer inside the time-out succeeds'),
    'clock-skew': contract(CORE_FAULTS, 'clock skew (STS %s of this machine)'),
    'expires-mid-request': test(STS_GAPS, '[aws-sts × expires-mid-request]'),
    abort: contract(CORE_FAULTS, 'an aborted signal rejects that caller; the STS call completes and fills the cache'),
    'refresh-fails': contract(CORE_FAULTS, 'a failing refresh keeps serving the usable cached token'),
    'process-exit': contract(CORE_FAULTS, 'a program exits on its own while a background refresh waits to retry'),
  },
  entra: {
    'http-5xx': suite,
    'http-429': suite,
    timeout: suite,
    reset: suite,
    dropped: suite,
    truncated: suite,
    malformed: contract(AZURE_ERRORS, 'HTTP 200 without access_token'),
    html: contract(AZURE_ERRORS, 'HTTP 200 that is not JSON'),
    slow: suite,
    'clock-skew': suite,
    'expires-mid-request': suite,
    abort: contract(AZURE_CONTRACT, 'stops one caller’s wait while the shared request goes on for the others'),
    'refresh-fails': suite,
    'process-exit': test(EXIT, '[entra × process-exit]'),
  },
  'google-sts': {
    'http-5xx': suite,
    'http-429': suite,
    timeout: suite,
    reset: suite,
    dropped: suite,
    truncated: suite,
    malformed: contract(GCP_STS_CONTRACT, '200 without access_token → INVALID_RESPONSE'),
    html: contract(GCP_STS_CONTRACT, '200 that is not JSON → INVALID_RESPONSE'),
    slow: suite,
    'clock-skew': suite,
    'expires-mid-request': suite,
    abort: na(NO_SIGNAL_GCP),
    'refresh-fails': suite,
    'process-exit': test(EXIT, '[google-sts × process-exit]'),
  },
  'iam-credentials': {
    'http-5xx': suite,
    'http-429': suite,
    timeout: suite,
    reset: suite,
    dropped: suite,
    truncated: suite,
    malformed: contract(GCP_IAM_CONTRACT, '200 without accessToken → INVALID_RESPONSE'),
    html: suite,
    slow: suite,
    'clock-skew': test(GCP_FAULTS, '[iam-credentials × clock-skew]'),
    'expires-mid-request': suite,
    abort: na(NO_SIGNAL_GCP),
    'refresh-fails': suite,
    'process-exit': test(EXIT, '[iam-credentials × process-exit]'),
  },
  'snowflake-login': {
    'http-5xx': contract(SNOWFLAKE_CONTRACT, 'snowflake-sdk retries 5xx itself (sfRetryMaxLoginRetries)'),
    'http-429': contract(SNOWFLAKE_CONTRACT, 'HTTP 429 → THROTTLED with Retry-After'),
    timeout: test(SNOWFLAKE_FAULTS, '[snowflake-login × timeout]'),
    reset: contract(SNOWFLAKE_CONTRACT, 'a reset connection → retryable NETWORK'),
    dropped: test(SNOWFLAKE_FAULTS, '[snowflake-login × dropped]'),
    truncated: test(SNOWFLAKE_FAULTS, '[snowflake-login × truncated]'),
    malformed: test(SNOWFLAKE_FAULTS, '[snowflake-login × malformed]'),
    html: test(SNOWFLAKE_FAULTS, '[snowflake-login × html]'),
    slow: test(SNOWFLAKE_FAULTS, '[snowflake-login × slow]'),
    'clock-skew': test(SNOWFLAKE_FAULTS, '[snowflake-login × clock-skew]'),
    'expires-mid-request': contract(
      SNOWFLAKE_POOL,
      'refreshes a token that is still cached but too close to expiry for a login (minTokenValiditySeconds)',
    ),
    abort: contract(
      SNOWFLAKE_CONTRACT,
      'an abort during the login rejects at once and closes the session when it opens',
    ),
    'refresh-fails': test(SNOWFLAKE_FAULTS, '[snowflake-login × refresh-fails]'),
    'process-exit': test(EXIT, '[snowflake-login × process-exit]'),
  },
  'token-exchange': {
    'http-5xx': suite,
    'http-429': suite,
    timeout: suite,
    reset: suite,
    dropped: suite,
    truncated: contract(OIDC_EXCHANGE, "'a truncated JSON body'"),
    malformed: contract(OIDC_EXCHANGE, "'a bad expires_in'"),
    html: contract(OIDC_EXCHANGE, "'an HTML page'"),
    slow: suite,
    'clock-skew': suite,
    'expires-mid-request': suite,
    abort: suite,
    'refresh-fails': suite,
    'process-exit': test(EXIT, '[token-exchange × process-exit]'),
  },
  'jwt-bearer': {
    'http-5xx': suite,
    'http-429': suite,
    timeout: suite,
    reset: suite,
    dropped: suite,
    truncated: suite,
    malformed: suite,
    html: suite,
    slow: suite,
    'clock-skew': suite,
    'expires-mid-request': suite,
    abort: suite,
    'refresh-fails': suite,
    'process-exit': test(EXIT, '[jwt-bearer × process-exit]'),
  },
  'vault-login': {
    'http-5xx': suite,
    'http-429': suite,
    timeout: suite,
    reset: suite,
    dropped: suite,
    truncated: contract(OIDC_VAULT, "'a truncated 200'"),
    malformed: contract(OIDC_VAULT, "'a 200 without auth'"),
    html: suite,
    slow: suite,
    'clock-skew': suite,
    'expires-mid-request': suite,
    abort: suite,
    'refresh-fails': suite,
    'process-exit': test(EXIT, '[vault-login × process-exit]'),
  },
  'verifier-keys': {
    'http-5xx': contract(OIDC_VERIFY, 'discovery %s → %s, and the next call tries again'),
    'http-429': test(OIDC_FAULTS, '[verifier-keys × http-429]'),
    timeout: contract(OIDC_VERIFY, 'first JWKS fetch %s → %s'),
    reset: contract(OIDC_VERIFY, 'discovery %s → %s, and the next call tries again'),
    dropped: test(OIDC_FAULTS, '[verifier-keys × dropped]'),
    truncated: test(OIDC_FAULTS, '[verifier-keys × truncated]'),
    malformed: test(OIDC_FAULTS, '[verifier-keys × malformed]'),
    html: contract(OIDC_VERIFY, 'first JWKS fetch %s → %s'),
    slow: test(OIDC_FAULTS, '[verifier-keys × slow]'),
    'clock-skew': test(OIDC_FAULTS, '[verifier-keys × clock-skew]'),
    'expires-mid-request': test(OIDC_FAULTS, '[verifier-keys × expires-mid-request]'),
    abort: na('verification takes no AbortSignal: the key fetch is shared and bounded by requestTimeoutMs'),
    'refresh-fails': contract(
      OIDC_VERIFY,
      'during a JWKS outage cached keys keep working; a new kid fails with a clear, retryable error; no refetch storm',
    ),
    'process-exit': test(EXIT, '[verifier-keys × process-exit]'),
  },
};

/** The faults the shared suite runs for `endpoint`. */
export function suiteFaults(endpoint: EndpointId): FaultId[] {
  return (Object.keys(FAULTS) as FaultId[]).filter((fault) => MATRIX[endpoint][fault].by === 'suite');
}

const SYMBOL: Record<Cell['by'], string> = { suite: 'S', test: 'T', contract: 'C', bug: 'B', na: '–' };

/** The matrix as the markdown table of README.md. */
export function renderMatrix(): string {
  const endpoints = Object.keys(ENDPOINTS) as EndpointId[];
  const header = `| fault | ${endpoints.join(' | ')} |`;
  const rule = `|---|${endpoints.map(() => ':-:').join('|')}|`;
  const rows = (Object.keys(FAULTS) as FaultId[]).map(
    (fault) => `| ${FAULTS[fault].title} | ${endpoints.map((e) => SYMBOL[MATRIX[e][fault].by]).join(' | ')} |`,
  );
  return [header, rule, ...rows].join('\n');
}
