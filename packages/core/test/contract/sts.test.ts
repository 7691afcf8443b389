import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  makeAwsJwt,
  parseForm,
  stsErrorXml,
  stsSuccessXml,
  TEST_CREDENTIALS,
  TEST_ISSUER,
  TEST_ROLE_ARN,
} from '../../../../test/support/aws.js';
import { errorText, expectNoSecrets, recordingLogger } from '../../../../test/support/leaks.js';
import { faults, withLoopbackServer } from '../../../../test/support/loopback.js';
import { fromAwsWebIdentityToken, isKeylessError, type KeylessError } from '../../src/index.js';

interface Captured {
  url: string;
  headers: Record<string, string>;
  form: Record<string, string>;
}

type Answer = [status: number, xml: string, headers?: Record<string, string>];

/**
 * Answers one GetWebIdentityToken at `origin` like STS and records the request. (nock 15 calls a
 * reply function with one argument, the Fetch `Request`.)
 */
function mockSts(origin: string, answer: Answer) {
  const captured: Captured[] = [];
  const scope = nock(origin)
    .post('/')
    .reply(async (req: Request) => {
      captured.push({
        url: req.url,
        headers: Object.fromEntries(req.headers.entries()),
        form: parseForm(await req.text()),
      });
      return [answer[0], answer[1], { 'content-type': 'text/xml', 'x-amzn-requestid': 'req-123', ...answer[2] }];
    });
  return { scope, captured };
}

async function issued(
  options: { audience?: string; alg?: 'RS256' | 'ES384'; lifetime?: number } = {},
): Promise<Answer> {
  const lifetime = options.lifetime ?? 300;
  const token = await makeAwsJwt({ audience: options.audience ?? 'a', alg: options.alg ?? 'RS256', lifetime });
  return [200, stsSuccessXml(token, new Date(Date.now() + lifetime * 1000))];
}

const base = { region: 'us-east-1', credentials: TEST_CREDENTIALS, retry: false as const };

beforeEach(() => {
  vi.stubEnv('AWS_REGION', '');
  vi.stubEnv('AWS_DEFAULT_REGION', '');
});
afterEach(() => {
  nock.cleanAll();
});

describe('GetWebIdentityToken request', () => {
  it('sends the exact awsQuery form, SigV4-signed for sts in the region, to the regional endpoint', async () => {
    const { scope, captured } = mockSts(
      'https://sts.us-east-1.amazonaws.com',
      await issued({ audience: 'api://AzureADTokenExchange', alg: 'ES384', lifetime: 900 }),
    );
    const provider = fromAwsWebIdentityToken({
      ...base,
      audience: ['api://AzureADTokenExchange', 'second'],
      signingAlgorithm: 'ES384',
      durationSeconds: 900,
      tags: { team: 'a b', env: 'prod' },
    });
    const result = await provider();
    scope.done();
    expect(captured).toHaveLength(1);
    const [request] = captured;
    expect(request!.form).toEqual({
      Action: 'GetWebIdentityToken',
      Version: '2011-06-15',
      'Audience.member.1': 'api://AzureADTokenExchange',
      'Audience.member.2': 'second',
      SigningAlgorithm: 'ES384',
      DurationSeconds: '900',
      'Tags.member.1.Key': 'team',
      'Tags.member.1.Value': 'a b',
      'Tags.member.2.Key': 'env',
      'Tags.member.2.Value': 'prod',
    });
    expect(request!.url).toBe('https://sts.us-east-1.amazonaws.com/');
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/us-east-1\/sts\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(result.claims.iss).toBe(TEST_ISSUER);
    expect(result.claims.sub).toBe(TEST_ROLE_ARN);
    expect(result.claims['https://sts.amazonaws.com/']?.aws_account).toBe('123456789012');
  });

  it('always sends DurationSeconds (default 300) and RS256, and omits Tags when there are none', async () => {
    const { scope, captured } = mockSts('https://sts.us-east-1.amazonaws.com', await issued());
    const result = await fromAwsWebIdentityToken({ ...base, audience: 'https://example.com' })();
    scope.done();
    expect(captured[0]!.form).toEqual({
      Action: 'GetWebIdentityToken',
      Version: '2011-06-15',
      'Audience.member.1': 'https://example.com',
      SigningAlgorithm: 'RS256',
      DurationSeconds: '300',
    });
    expect(result.expiresAt.getTime() - Date.now()).toBeGreaterThan(290_000);
    expect(result.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(300_000);
  });

  it.each([
    ['eu-west-1', 'https://sts.eu-west-1.amazonaws.com'],
    ['cn-north-1', 'https://sts.cn-north-1.amazonaws.com.cn'],
    ['us-gov-west-1', 'https://sts.us-gov-west-1.amazonaws.com'],
  ])('calls the regional endpoint of the right partition for %s', async (region, origin) => {
    const { scope, captured } = mockSts(origin, await issued());
    await fromAwsWebIdentityToken({ ...base, region, audience: 'a' })();
    scope.done();
    expect(captured[0]!.headers.authorization).toContain(`/${region}/sts/aws4_request`);
  });

  it('stays regional in us-east-1 even with AWS_STS_REGIONAL_ENDPOINTS=legacy', async () => {
    vi.stubEnv('AWS_STS_REGIONAL_ENDPOINTS', 'legacy');
    const { scope } = mockSts('https://sts.us-east-1.amazonaws.com', await issued());
    await fromAwsWebIdentityToken({ ...base, audience: 'a' })();
    scope.done();
  });

  it('takes the region from AWS_REGION, then AWS_DEFAULT_REGION', async () => {
    vi.stubEnv('AWS_DEFAULT_REGION', 'eu-central-1');
    const first = mockSts('https://sts.eu-central-1.amazonaws.com', await issued());
    await fromAwsWebIdentityToken({ credentials: TEST_CREDENTIALS, audience: 'a' })();
    first.scope.done();
    vi.stubEnv('AWS_REGION', 'ap-southeast-2');
    const second = mockSts('https://sts.ap-southeast-2.amazonaws.com', await issued());
    await fromAwsWebIdentityToken({ credentials: TEST_CREDENTIALS, audience: 'a' })();
    second.scope.done();
  });

  it('uses a custom endpoint when given', async () => {
    const { scope } = mockSts('https://vpce-1234.sts.us-east-1.vpce.amazonaws.com', await issued());
    await fromAwsWebIdentityToken({
      ...base,
      endpoint: 'https://vpce-1234.sts.us-east-1.vpce.amazonaws.com',
      audience: 'a',
    })();
    scope.done();
  });

  it('caches: a second call makes no request', async () => {
    const { scope, captured } = mockSts('https://sts.us-east-1.amazonaws.com', await issued());
    const provider = fromAwsWebIdentityToken({ ...base, audience: 'a' });
    const [a, b] = await Promise.all([provider(), provider()]);
    const c = await provider();
    scope.done();
    expect(captured).toHaveLength(1);
    expect(a.token).toBe(b.token);
    expect(c.token).toBe(a.token);
  });

  it('counts the lifetime from the token, so a skewed local clock does not make it look expired', async () => {
    // STS's clock is 10 minutes behind ours: its absolute Expiration is already past on our clock.
    const iat = Math.floor(Date.now() / 1000) - 600;
    const token = await makeAwsJwt({ audience: 'a', iat, lifetime: 300 });
    const { scope } = mockSts('https://sts.us-east-1.amazonaws.com', [
      200,
      stsSuccessXml(token, new Date((iat + 300) * 1000)),
    ]);
    const result = await fromAwsWebIdentityToken({ ...base, audience: 'a' })();
    scope.done();
    expect(result.expiresAt.getTime() - Date.now()).toBeGreaterThan(290_000);
  });
});

describe('GetWebIdentityToken errors', () => {
  async function failWith(
    status: number,
    xml: string,
    options: Partial<Parameters<typeof fromAwsWebIdentityToken>[0]> = {},
  ) {
    const { scope } = mockSts('https://sts.us-east-1.amazonaws.com', [status, xml]);
    const error = await fromAwsWebIdentityToken({
      ...base,
      audience: 'api://AzureADTokenExchange',
      ...options,
    })().catch((e: unknown) => e);
    scope.done();
    expect(isKeylessError(error)).toBe(true);
    return error as KeylessError;
  }

  it('maps OutboundWebIdentityFederationDisabledException to FEDERATION_DISABLED with how to enable it', async () => {
    const error = await failWith(
      403,
      stsErrorXml('OutboundWebIdentityFederationDisabledException', 'Outbound web identity federation is disabled'),
    );
    expect(error).toMatchObject({ code: 'FEDERATION_DISABLED', provider: 'aws', retryable: false });
    expect(error.hint).toContain('enable-outbound-web-identity-federation');
    expect(error.details).toMatchObject({
      status: 403,
      targetCode: 'OutboundWebIdentityFederationDisabledException',
      requestId: 'req-123',
    });
  });

  it('maps AccessDenied to ACCESS_DENIED naming the action and the condition keys with the requested values', async () => {
    const error = await failWith(
      403,
      stsErrorXml('AccessDenied', `User: ${TEST_ROLE_ARN} is not authorized to perform: sts:GetWebIdentityToken`),
      { tags: { team: 'x' }, durationSeconds: 900 },
    );
    expect(error.code).toBe('ACCESS_DENIED');
    expect(error.hint).toContain('sts:GetWebIdentityToken');
    expect(error.hint).toContain('sts:TagGetWebIdentityToken');
    expect(error.hint).toContain('sts:IdentityTokenAudience = api://AzureADTokenExchange');
    expect(error.hint).toContain('sts:SigningAlgorithm = RS256');
    expect(error.hint).toContain('sts:DurationSeconds = 900');
  });

  it('maps JWTPayloadSizeExceededException to INVALID_CONFIG about tags', async () => {
    const error = await failWith(400, stsErrorXml('JWTPayloadSizeExceededException', 'payload too large'));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.hint).toMatch(/tags/);
  });

  it('maps SessionDurationEscalationException to INVALID_CONFIG about durationSeconds', async () => {
    const error = await failWith(403, stsErrorXml('SessionDurationEscalationException', 'too long'), {
      durationSeconds: 3600,
    });
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain('durationSeconds 3600');
  });

  it('maps throttling to a retryable THROTTLED, honouring Retry-After', async () => {
    const { scope } = mockSts('https://sts.us-east-1.amazonaws.com', [
      400,
      stsErrorXml('Throttling', 'Rate exceeded'),
      { 'retry-after': '2' },
    ]);
    const error = (await fromAwsWebIdentityToken({ ...base, audience: 'a' })().catch(
      (e: unknown) => e,
    )) as KeylessError;
    scope.done();
    expect(error).toMatchObject({ code: 'THROTTLED', retryable: true, retryAfterMs: 2000 });
  });

  it('maps rejected credentials to AWS_CREDENTIALS_MISSING', async () => {
    const error = await failWith(
      403,
      stsErrorXml('ExpiredToken', 'The security token included in the request is expired'),
    );
    expect(error.code).toBe('AWS_CREDENTIALS_MISSING');
  });

  it('maps a 5xx to a retryable EXCHANGE_FAILED', async () => {
    const error = await failWith(503, stsErrorXml('ServiceUnavailable', 'Service unavailable', 'Receiver'));
    expect(error).toMatchObject({ code: 'EXCHANGE_FAILED', retryable: true, details: { status: 503 } });
  });

  it('maps a connection reset to NETWORK', async () => {
    await withLoopbackServer(faults.reset, async (endpoint) => {
      const error = await fromAwsWebIdentityToken({ ...base, audience: 'a', endpoint })().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'NETWORK', retryable: true });
    });
  });

  it('maps a request time-out to TIMEOUT', async () => {
    await withLoopbackServer(faults.silent, async (endpoint) => {
      const error = await fromAwsWebIdentityToken({
        ...base,
        audience: 'a',
        endpoint,
        requestTimeoutMs: 100,
      })().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    });
  });

  it('maps a 200 without a token to INVALID_RESPONSE', async () => {
    const error = await failWith(
      200,
      '<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult></GetWebIdentityTokenResult></GetWebIdentityTokenResponse>',
    );
    expect(error.code).toBe('INVALID_RESPONSE');
  });

  it('retries a retryable failure and then succeeds', async () => {
    const [status, xml] = await issued();
    const scope = nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .reply(500, stsErrorXml('InternalFailure', 'oops', 'Receiver'))
      .post('/')
      .reply(status, xml);
    const result = await fromAwsWebIdentityToken({ ...base, audience: 'a', retry: { baseDelayMs: 1 } })();
    scope.done();
    expect(result.token.split('.')).toHaveLength(3);
  });

  it('reports AWS_CREDENTIALS_MISSING when the default chain finds nothing', async () => {
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ]) {
      vi.stubEnv(name, '');
    }
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/keyless/config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/keyless/credentials');
    const error = (await fromAwsWebIdentityToken({ region: 'us-east-1', audience: 'a', retry: false })().catch(
      (e: unknown) => e,
    )) as KeylessError;
    expect(error).toMatchObject({ code: 'AWS_CREDENTIALS_MISSING', provider: 'aws' });
    expect(error.hint).toContain('AWS_PROFILE');
  });

  it('reports REGION_REQUIRED when no region is configured anywhere', async () => {
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/keyless/config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/keyless/credentials');
    const error = (await fromAwsWebIdentityToken({ credentials: TEST_CREDENTIALS, audience: 'a' })().catch(
      (e: unknown) => e,
    )) as KeylessError;
    expect(error).toMatchObject({ code: 'REGION_REQUIRED' });
    expect(error.hint).toContain('AWS_REGION');
  });
});

describe('secrets never reach errors or logs', () => {
  it('keeps the JWT, the secret key and the session token out of every log line and error', async () => {
    const credentials = {
      ...TEST_CREDENTIALS,
      sessionToken: 'IQoJb3JpZ2luX2VjEKn//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexamplesessiontoken==',
    };
    const { lines, logger } = recordingLogger();
    const [status, xml] = await issued();
    const token = /<WebIdentityToken>([^<]+)</.exec(xml)![1]!;
    const errors: unknown[] = [];
    const ok = nock('https://sts.us-east-1.amazonaws.com').post('/').reply(status, xml);
    const provider = fromAwsWebIdentityToken({ ...base, credentials, audience: 'a', logger });
    await provider();
    await provider({ forceRefresh: true }).catch((e: unknown) => errors.push(e));
    ok.done();
    for (const [code, answer] of [
      ['AccessDenied', 403],
      ['OutboundWebIdentityFederationDisabledException', 403],
      ['Throttling', 400],
      ['InternalFailure', 500],
    ] as const) {
      // An STS that echoes the token back in its error message must not leak it either.
      nock('https://sts.us-east-1.amazonaws.com')
        .post('/')
        .reply(answer, stsErrorXml(code, `denied for ${token}`));
      await fromAwsWebIdentityToken({ ...base, credentials, audience: 'a', logger })().catch((e: unknown) =>
        errors.push(e),
      );
    }
    expect(errors).toHaveLength(5);
    expect(lines.some((line) => line.includes('new token, expires in'))).toBe(true);
    expectNoSecrets(
      [...lines, ...errors.map((e) => errorText(e))],
      [token, credentials.secretAccessKey, credentials.sessionToken],
    );
  });
});
