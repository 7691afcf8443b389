import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapStsError } from '../../src/aws-errors.js';
import { validateAwsWebIdentityTokenOptions } from '../../src/aws-web-identity-token.js';
import { decodeAwsWebIdentityClaims, summarizeToken } from '../../src/claims.js';
import { isKeylessError } from '../../src/errors.js';
import { parseOAuthError, parseRetryAfter, readJsonObject } from '../../src/http.js';
import { redactSecrets } from '../../src/redact.js';

/** Runs `f`; a thrown value must be a KeylessError with one of `codes`. */
function resultOrKeylessError(f: () => unknown, codes: string[]): void {
  try {
    f();
  } catch (error) {
    expect(isKeylessError(error), `threw a non-KeylessError: ${String(error)}`).toBe(true);
    expect(codes).toContain((error as { code: string }).code);
  }
}

const anything = fc.anything({ withBigInt: false, withMap: true, withSet: true, withDate: true, withTypedArray: true });

describe('property: option validation never crashes', () => {
  it('any options object → a valid request or INVALID_CONFIG', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            audience: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 12 }), anything),
            signingAlgorithm: fc.oneof(fc.constantFrom('RS256', 'ES384', 'HS256', 'none'), anything),
            durationSeconds: fc.oneof(fc.integer({ min: -10, max: 5000 }), fc.double(), anything),
            tags: fc.oneof(
              fc.dictionary(fc.string({ maxLength: 140 }), fc.string({ maxLength: 300 }), { maxKeys: 55 }),
              anything,
            ),
            region: fc.oneof(fc.constantFrom('us-east-1', 'aws-global', 'cn-north-1'), fc.string()),
            endpoint: fc.oneof(fc.webUrl(), fc.string()),
            refreshBeforeExpirySeconds: fc.oneof(fc.integer({ min: -5, max: 4000 }), anything),
          },
          { requiredKeys: [] },
        ),
        (options) => {
          resultOrKeylessError(() => validateAwsWebIdentityTokenOptions(options as never), ['INVALID_CONFIG']);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('non-object options → INVALID_CONFIG', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.boolean()), (options) => {
        resultOrKeylessError(() => validateAwsWebIdentityTokenOptions(options as never), ['INVALID_CONFIG']);
      }),
    );
  });
});

describe('property: parsers never crash', () => {
  const jwtLike = fc
    .tuple(fc.base64String(), fc.base64String(), fc.base64String())
    .map(([a, b, c]) => `${a}.${b}.${c}`.replaceAll('=', ''));
  const jsonPayloadJwt = fc
    .tuple(anything, anything)
    .map(
      ([header, payload]) =>
        `${Buffer.from(JSON.stringify(header) ?? 'null').toString('base64url')}.${Buffer.from(JSON.stringify(payload) ?? 'null').toString('base64url')}.sig`,
    );

  it('decodeAwsWebIdentityClaims: claims or INVALID_RESPONSE for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), jwtLike, jsonPayloadJwt), (token) => {
        resultOrKeylessError(() => decodeAwsWebIdentityClaims(token), ['INVALID_RESPONSE']);
        expect(() => summarizeToken(token)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('mapStsError: a KeylessError for anything the SDK could throw', () => {
    const request = { audience: ['a'], signingAlgorithm: 'RS256', durationSeconds: 300, tags: undefined };
    const sdkError = fc.record(
      {
        name: fc.oneof(
          fc.string(),
          fc.constantFrom('AccessDenied', 'Throttling', 'TimeoutError', 'CredentialsProviderError'),
        ),
        code: fc.oneof(fc.string(), fc.constantFrom('ECONNRESET', 'ETIMEDOUT')),
        message: fc.string(),
        $fault: fc.constantFrom('client', 'server', undefined),
        $metadata: fc.record({
          httpStatusCode: fc.option(fc.integer({ min: 0, max: 999 })),
          requestId: fc.option(fc.string()),
        }),
        $response: fc.record({ headers: fc.dictionary(fc.string(), fc.string()) }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(sdkError, anything), (error) => {
        expect(isKeylessError(mapStsError(error, request))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('parseOAuthError, readJsonObject and parseRetryAfter handle any body and header', () => {
    fc.assert(
      fc.property(anything, fc.integer({ min: 100, max: 599 }), fc.option(fc.string()), (json, status, retryAfter) => {
        const response = { status, headers: new Headers(), text: '', json, retryAfterMs: undefined };
        const oauth = parseOAuthError(response);
        if (oauth !== undefined) expect(typeof oauth.error).toBe('string');
        resultOrKeylessError(() => readJsonObject(response, 'oidc', 'the endpoint'), ['INVALID_RESPONSE']);
        const ms = parseRetryAfter(retryAfter);
        if (ms !== undefined) expect(ms).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });

  it('redactSecrets is total and idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), jwtLike), (text) => {
        const once = redactSecrets(text);
        expect(redactSecrets(once)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });
});
