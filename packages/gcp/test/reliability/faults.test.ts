/**
 * Google STS and IAM Credentials × the fault matrix (test/reliability/matrix.ts): the shared fault
 * suite drives the keyless AuthClient, with core's JWT provider, against a scripted loopback Google;
 * plus the IAM-specific clock-skew cell (expireTime is on Google's clock).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeSts } from '../../../../test/reliability/support/fake-sts.js';
import { accessToken, faultSuite, until } from '../../../../test/reliability/support/fault-suite.js';
import { type ScriptedServer, startScriptedServer } from '../../../../test/reliability/support/scripted-server.js';
import { createGoogleAuthClient, type GoogleAuthClientOptions } from '../../src/index.js';

const PROVIDER_NAME =
  '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-oidc';
const SERVICE_ACCOUNT = 'reader@my-project.iam.gserviceaccount.com';
const STS_PATH = '/v1/token';
const IAM_PATH = `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`;

function stsSuccess(token: string, lifetime: number) {
  return {
    status: 200,
    body: {
      access_token: token,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: lifetime,
    },
  };
}

function iamSuccess(token: string, lifetime: number, skewSeconds = 0) {
  const expireTime = new Date(Date.now() + (lifetime + skewSeconds) * 1000);
  return { status: 200, body: { accessToken: token, expireTime: expireTime.toISOString().replace('.000Z', 'Z') } };
}

function client(options: Partial<GoogleAuthClientOptions> & { origin: string }) {
  const { origin, ...rest } = options;
  const authClient = createGoogleAuthClient({ audience: PROVIDER_NAME, tokenUrl: `${origin}${STS_PATH}`, ...rest });
  return { get: async () => (await authClient.getAccessToken()).token! };
}

faultSuite({
  endpoint: 'google-sts',
  provider: 'gcp',
  path: STS_PATH,
  create: ({ origin, sts, retry, requestTimeoutMs, logger }) =>
    client({ origin, aws: { client: sts }, retry, logger, ...(requestTimeoutMs ? { requestTimeoutMs } : {}) }),
  success: stsSuccess,
  lifetime: 3599,
  malformed: { status: 200, body: { access_token: ['not', 'a', 'string'], expires_in: 3599 } },
  malformedRetryable: true,
  presented: (request) => new URLSearchParams(request.body).get('subject_token') ?? undefined,
  presentedLifetime: 3600,
  expired: {
    reply: {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'ID Token issued at 1790552633 is stale to sign-in.' },
    },
    code: 'TOKEN_REJECTED',
  },
});

faultSuite({
  endpoint: 'iam-credentials',
  provider: 'gcp',
  path: IAM_PATH,
  // Google STS always issues a federated token; the faults hit generateAccessToken.
  prepare: (server) => server.always(STS_PATH, () => stsSuccess(accessToken('ya29.d'), 3599)),
  create: ({ origin, sts, retry, requestTimeoutMs, logger }) =>
    client({
      origin,
      serviceAccountEmail: SERVICE_ACCOUNT,
      serviceAccountImpersonationUrl: `${origin}${IAM_PATH}`,
      aws: { client: sts },
      retry,
      logger,
      ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
    }),
  success: (token, lifetime) => iamSuccess(token, lifetime),
  lifetime: 3600,
  malformed: { status: 200, body: { accessToken: 'ya29.c.no-expiry' } },
  malformedRetryable: true,
  // generateAccessToken is authorised by the federated token.
  presented: (request) => request.headers.authorization?.replace(/^Bearer /, ''),
  presentedLifetime: 3599,
  expired: {
    reply: {
      status: 401,
      body: {
        error: {
          code: 401,
          message: 'Request had invalid authentication credentials. Expected OAuth 2 access token.',
          status: 'UNAUTHENTICATED',
        },
      },
    },
    code: 'EXCHANGE_FAILED',
  },
});

describe('IAM Credentials: cells of its own', () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await server?.close();
    server = undefined;
  });

  it.each([
    ['ahead of', 300],
    ['behind', -300],
  ])(
    '[iam-credentials × clock-skew] Google’s clock 5 minutes %s this machine: the earlier of expireTime and the requested lifetime counts',
    async (_name, skew) => {
      vi.useFakeTimers({ toFake: ['Date'] });
      server = await startScriptedServer();
      server.always(STS_PATH, () => stsSuccess(accessToken('ya29.d'), 3599));
      const [first, second] = [accessToken('ya29.c'), accessToken('ya29.c')];
      server.answer(
        IAM_PATH,
        () => iamSuccess(first, 3600, skew),
        () => iamSuccess(second, 3600, skew),
      );
      const sts = fakeSts();
      const subject = client({
        origin: server.origin,
        serviceAccountEmail: SERVICE_ACCOUNT,
        serviceAccountImpersonationUrl: `${server.origin}${IAM_PATH}`,
        aws: { client: sts.client },
        retry: false,
      });
      const started = Date.now();
      expect(await subject.get()).toBe(first);
      // Served from memory until its refresh window, whichever way Google's clock is off.
      vi.setSystemTime(started + 2_900_000);
      expect(await subject.get()).toBe(first);
      expect(server.requestsTo(IAM_PATH)).toHaveLength(1);
      // 3585 s in: a token that expires by Google's clock (behind: 3300 s from our request) is never
      // served; one from a clock ahead counts from our own request (3600 s) and has 15 s left.
      vi.setSystemTime(started + 3_585_000);
      expect(await subject.get()).toBe(skew < 0 ? second : first);
      // (Ahead, that call also started the background refresh.)
      await until(() => server!.requestsTo(IAM_PATH).length === 2);
    },
  );
});
