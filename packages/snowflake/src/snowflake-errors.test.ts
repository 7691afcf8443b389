import { describe, expect, it } from 'vitest';
import { errorText } from '../../../test/support/leaks.js';
import { mapSnowflakeError, type SnowflakeLoginContext } from './snowflake-errors.js';

const oidc: SnowflakeLoginContext = {
  provider: 'OIDC',
  account: 'myorg-myacct',
  host: 'myorg-myacct.snowflakecomputing.com',
  presented: {
    iss: 'https://x.tokens.sts.global.api.aws',
    sub: 'arn:aws:iam::1:role/r',
    aud: 'snowflakecomputing.com',
    alg: 'ES384',
  },
};
const aws: SnowflakeLoginContext = {
  provider: 'AWS',
  account: 'myorg-myacct',
  host: 'myorg-myacct.snowflakecomputing.com',
};

function sdkError(name: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(String(fields.message ?? name)), { name, ...fields });
}

describe('mapSnowflakeError', () => {
  it('keeps a KeylessError as it is', () => {
    const first = mapSnowflakeError(sdkError('OperationFailedError', { code: '390144', message: 'x' }), oidc);
    expect(mapSnowflakeError(first, oidc)).toBe(first);
  });

  it('never keeps the HTTP exchange or login data of a snowflake-sdk error (they hold the request with the token)', () => {
    const token =
      'eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJhcm46YXdzOmlhbTo6MTpyb2xlL3IifQ.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl';
    const error = sdkError('RequestFailedError', {
      code: 401002,
      message: 'Request to Snowflake failed.',
      response: { statusCode: 502, body: `{"data":{"TOKEN":"${token}"}}`, request: { data: { TOKEN: token } } },
      data: { TOKEN: token },
    });
    const mapped = mapSnowflakeError(error, oidc);
    expect(mapped.code).toBe('EXCHANGE_FAILED');
    expect(mapped.retryable).toBe(true);
    expect(errorText(mapped)).not.toContain(token.split('.')[1]!);
  });

  it('UnexpectedContentError (an HTML page from a proxy) → retryable INVALID_RESPONSE', () => {
    const mapped = mapSnowflakeError(
      sdkError('UnexpectedContentError', { code: 401003, responseBody: '<html>' }),
      oidc,
    );
    expect(mapped).toMatchObject({ code: 'INVALID_RESPONSE', retryable: true });
  });

  it.each([
    ['ETIMEDOUT', 'TIMEOUT', true],
    ['ECONNABORTED', 'TIMEOUT', true],
    ['ECONNREFUSED', 'NETWORK', true],
    ['CERT_HAS_EXPIRED', 'NETWORK', false],
  ])('NetworkError with %s → %s (retryable %s)', (errno, code, retryable) => {
    const cause = Object.assign(new Error(`connect ${errno}`), { code: errno });
    const mapped = mapSnowflakeError(sdkError('NetworkError', { code: 401001, cause }), oidc);
    expect(mapped).toMatchObject({ code, retryable, provider: 'snowflake' });
    expect(mapped.details.errno).toBe(errno);
  });

  it('ENOTFOUND points at the account', () => {
    const cause = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    const mapped = mapSnowflakeError(sdkError('NetworkError', { cause }), oidc);
    expect(mapped.hint).toContain('check account ("myorg-myacct")');
  });

  it('OCSP/CRL failures → NETWORK, not retryable', () => {
    expect(mapSnowflakeError(sdkError('OCSPError', { code: 412001 }), oidc)).toMatchObject({
      code: 'NETWORK',
      retryable: false,
    });
  });

  it('InvalidParameterError → INVALID_CONFIG with snowflake-sdk’s code', () => {
    const mapped = mapSnowflakeError(
      sdkError('InvalidParameterError', { code: 404010, message: 'Invalid warehouse.' }),
      oidc,
    );
    expect(mapped).toMatchObject({
      code: 'INVALID_CONFIG',
      details: expect.objectContaining({ targetCode: '404010' }),
    });
  });

  it('the SDK host allow-list error → INVALID_CONFIG', () => {
    const mapped = mapSnowflakeError(
      new Error(
        'WORKLOAD_IDENTITY requires a recognized Snowflake host. Got: 127.0.0.1. This allowlist can be extended…',
      ),
      oidc,
    );
    expect(mapped.code).toBe('INVALID_CONFIG');
  });

  describe('provider AWS: errors from the AWS SDK inside snowflake-sdk', () => {
    it.each([
      [
        { name: 'OutboundWebIdentityFederationDisabledException', $metadata: { httpStatusCode: 403 } },
        'FEDERATION_DISABLED',
      ],
      [{ name: 'STSServiceException', Code: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, 'ACCESS_DENIED'],
      [
        { name: 'CredentialsProviderError', message: 'Could not load credentials from any providers' },
        'AWS_CREDENTIALS_MISSING',
      ],
      [{ name: 'Error', message: 'connect EHOSTUNREACH 169.254.169.254:80' }, 'REGION_REQUIRED'],
      [{ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }, 'EXCHANGE_FAILED'],
    ])('%o → %s', (fields, code) => {
      const mapped = mapSnowflakeError(sdkError(String(fields.name), fields), aws);
      expect(mapped.code).toBe(code);
      expect(mapped.provider).toBe('aws');
    });

    it('the ACCESS_DENIED hint names what snowflake-sdk requests', () => {
      const mapped = mapSnowflakeError(sdkError('AccessDenied', {}), aws);
      expect(mapped.hint).toContain('sts:IdentityTokenAudience = snowflakecomputing.com');
      expect(mapped.hint).toContain('sts:SigningAlgorithm = ES384');
    });

    it('a refused login tells the TYPE = AWS user definition', () => {
      const mapped = mapSnowflakeError(
        sdkError('OperationFailedError', { code: '390144', message: 'JWT token is invalid.' }),
        aws,
      );
      expect(mapped.code).toBe('TOKEN_REJECTED');
      expect(mapped.hint).toContain("TYPE = AWS ARN = '<the IAM role ARN>' ISSUER =");
      expect(mapped.details.presented).toBeUndefined();
    });
  });

  it('a 394302 (not yet valid) rejection is retryable: the clocks catch up', () => {
    const mapped = mapSnowflakeError(
      sdkError('OperationFailedError', { code: '394302', message: 'JWT token is not yet valid.' }),
      oidc,
    );
    expect(mapped).toMatchObject({ code: 'TOKEN_REJECTED', retryable: true });
  });

  it('an unknown login code with a token-ish message → TOKEN_REJECTED (matched on the text)', () => {
    const mapped = mapSnowflakeError(
      sdkError('OperationFailedError', {
        code: '390999',
        message: 'The issuer of the presented token is not trusted.',
      }),
      oidc,
    );
    expect(mapped.code).toBe('TOKEN_REJECTED');
  });

  it('a locked or disabled user → ACCESS_DENIED', () => {
    const mapped = mapSnowflakeError(
      sdkError('OperationFailedError', {
        code: '390102',
        message: 'User access disabled. Contact your local system administrator.',
      }),
      oidc,
    );
    expect(mapped.code).toBe('ACCESS_DENIED');
  });

  it('something unrecognised → EXCHANGE_FAILED with snowflake-sdk’s message', () => {
    const mapped = mapSnowflakeError(
      sdkError('ClientError', { code: 405501, message: 'Connection already in progress.' }),
      oidc,
    );
    expect(mapped).toMatchObject({ code: 'EXCHANGE_FAILED', retryable: false });
    expect(mapped.message).toContain('Connection already in progress.');
  });
});
