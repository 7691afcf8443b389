import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeAwsJwt, parseForm, stsSuccessXml, TEST_CREDENTIALS } from '../../../../test/support/aws.js';
import { createGoogleAuthClient } from '../../src/index.js';
import {
  AWS_AUDIENCE,
  googleAccessToken,
  iamSuccess,
  jwtProvider,
  mockIam,
  mockSts,
  PROVIDER_NAME,
  SERVICE_ACCOUNT,
  stsSuccess,
} from '../google.js';

const AWS_STS = 'https://sts.us-east-1.amazonaws.com';

/** AWS STS answering GetWebIdentityToken with a JWT of `lifetime` seconds, counting calls. */
async function mockAwsSts(lifetime: number) {
  const token = await makeAwsJwt({ audience: AWS_AUDIENCE, lifetime });
  const forms: Record<string, string>[] = [];
  const scope = nock(AWS_STS)
    .post('/')
    .reply(async (req: Request) => {
      forms.push(parseForm(await req.text()));
      return [200, stsSuccessXml(token, new Date(Date.now() + lifetime * 1000)), { 'content-type': 'text/xml' }];
    });
  return { token, forms, scope };
}

beforeEach(() => {
  vi.stubEnv('AWS_REGION', '');
  vi.stubEnv('AWS_DEFAULT_REGION', '');
});
afterEach(() => {
  vi.useRealTimers();
});

describe('caching', () => {
  it('serves 100 concurrent callers with one AWS call, one STS exchange and one impersonation', async () => {
    const aws = await mockAwsSts(300);
    const saToken = googleAccessToken('service-account');
    const sts = mockSts([stsSuccess(googleAccessToken('federated'))]);
    const iam = mockIam([iamSuccess(saToken)]);
    const authClient = createGoogleAuthClient({
      audience: PROVIDER_NAME,
      serviceAccountEmail: SERVICE_ACCOUNT,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS, retry: false },
      retry: false,
    });

    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        i % 2 === 0
          ? authClient.getAccessToken().then((r) => r.token)
          : authClient.getRequestHeaders().then((h) => h.get('authorization')),
      ),
    );

    aws.scope.done();
    sts.scope.done();
    iam.scope.done();
    expect(aws.forms).toHaveLength(1);
    expect(sts.captured).toHaveLength(1);
    expect(iam.captured).toHaveLength(1);
    expect(new Set(results)).toEqual(new Set([saToken, `Bearer ${saToken}`]));
    // What keyless asked AWS for: the provider's name with https:, RS256, and an hour (the federated
    // token lives no longer than the JWT).
    expect(aws.forms[0]).toMatchObject({
      Action: 'GetWebIdentityToken',
      'Audience.member.1': AWS_AUDIENCE,
      SigningAlgorithm: 'RS256',
      DurationSeconds: '3600',
    });
    expect(new URLSearchParams(sts.captured[0]!.body).get('subject_token')).toBe(aws.token);
  });

  it('reuses the cached AWS JWT for a later Google refresh instead of minting a new one', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const aws = await mockAwsSts(3600);
    const first = googleAccessToken('federated');
    const second = googleAccessToken('federated');
    const sts = mockSts([stsSuccess(first, 600), stsSuccess(second, 600)]);
    const authClient = createGoogleAuthClient({
      audience: PROVIDER_NAME,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS, durationSeconds: 3600, retry: false },
      retry: false,
    });

    expect((await authClient.getAccessToken()).token).toBe(first);
    vi.advanceTimersByTime(595_000); // 5 s left: under the 10 s minimum, so callers wait for a new token
    expect((await authClient.getAccessToken()).token).toBe(second);

    aws.scope.done();
    sts.scope.done();
    expect(aws.forms).toHaveLength(1);
    expect(aws.forms[0]!.DurationSeconds).toBe('3600');
    expect(sts.captured.map((c) => new URLSearchParams(c.body).get('subject_token'))).toEqual([aws.token, aws.token]);
  });

  it('serves the cached token inside the refresh window and refreshes it once in the background', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const jwt = await jwtProvider();
    const first = googleAccessToken('federated');
    const second = googleAccessToken('federated');
    const sts = mockSts([stsSuccess(first, 3600), stsSuccess(second, 3600)]);
    const authClient = createGoogleAuthClient({
      audience: PROVIDER_NAME,
      webIdentityToken: jwt.provider,
      retry: false,
    });

    expect((await authClient.getAccessToken()).token).toBe(first);
    vi.advanceTimersByTime(3_400_000); // 200 s left: inside the 300 s window
    const during = await Promise.all(Array.from({ length: 10 }, () => authClient.getAccessToken()));
    expect(during.every((r) => r.token === first)).toBe(true);
    await vi.waitFor(() => expect(sts.captured).toHaveLength(2));
    await vi.waitFor(async () => expect((await authClient.getAccessToken()).token).toBe(second));
    sts.scope.done();
  });

  it('renews the service account token with the cached federated token while it has a minute left', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const jwt = await jwtProvider();
    const firstSa = googleAccessToken('service-account');
    const secondSa = googleAccessToken('service-account');
    const sts = mockSts([stsSuccess(googleAccessToken('federated'), 3600)]);
    const iam = mockIam([iamSuccess(firstSa, 600), iamSuccess(secondSa, 600)]);
    const authClient = createGoogleAuthClient({
      audience: PROVIDER_NAME,
      serviceAccountEmail: SERVICE_ACCOUNT,
      tokenLifetimeSeconds: 600,
      webIdentityToken: jwt.provider,
      retry: false,
    });

    expect((await authClient.getAccessToken()).token).toBe(firstSa);
    vi.advanceTimersByTime(595_000);
    expect((await authClient.getAccessToken()).token).toBe(secondSa);

    sts.scope.done();
    iam.scope.done();
    expect(sts.captured).toHaveLength(1);
    expect(iam.captured).toHaveLength(2);
    expect(jwt.calls.count).toBe(1);
  });

  it('never refreshes the federated token in the background: it only serves the next impersonation', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const jwt = await jwtProvider();
    const sts = mockSts([stsSuccess(googleAccessToken('federated'), 700), stsSuccess(googleAccessToken('federated'))]);
    const iam = mockIam([
      iamSuccess(googleAccessToken('service-account'), 600),
      iamSuccess(googleAccessToken('service-account'), 600),
    ]);
    const authClient = createGoogleAuthClient({
      audience: PROVIDER_NAME,
      serviceAccountEmail: SERVICE_ACCOUNT,
      tokenLifetimeSeconds: 600,
      webIdentityToken: jwt.provider,
      retry: false,
    });

    await authClient.getAccessToken();
    vi.advanceTimersByTime(595_000); // the federated token has 105 s left: enough for one more impersonation
    await authClient.getAccessToken();
    await new Promise((resolve) => setTimeout(resolve, 50));

    iam.scope.done();
    expect(sts.captured).toHaveLength(1);
  });

  it('emits a tokens event for each new token, as google-auth-library clients do', async () => {
    const jwt = await jwtProvider();
    const federated = googleAccessToken('federated');
    const sts = mockSts([stsSuccess(federated)]);
    const authClient = createGoogleAuthClient({
      audience: PROVIDER_NAME,
      webIdentityToken: jwt.provider,
      retry: false,
    });
    const events: unknown[] = [];
    authClient.on('tokens', (tokens) => events.push(tokens));
    await authClient.getAccessToken();
    await authClient.getAccessToken();
    sts.scope.done();
    expect(events).toEqual([
      expect.objectContaining({ access_token: federated, token_type: 'Bearer', expiry_date: expect.any(Number) }),
    ]);
  });
});
