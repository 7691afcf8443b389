import { Storage } from '@google-cloud/storage';
import { isKeylessError } from '@keyless/core';
import { gaxios } from 'google-auth-library';
import nock from 'nock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { makeAwsJwt, stsSuccessXml, TEST_CREDENTIALS } from '../../../../test/support/aws.js';
import { errorText, expectNoSecrets, recordingLogger } from '../../../../test/support/leaks.js';
import { createGoogleAuthClient, type GoogleAuthClientOptions } from '../../src/index.js';
import {
  type Answer,
  AWS_AUDIENCE,
  googleAccessToken,
  iamError,
  iamSuccess,
  mockIam,
  mockSts,
  PERMISSION_DENIED,
  PROVIDER_NAME,
  SERVICE_ACCOUNT,
  stsError,
  stsSuccess,
} from '../google.js';

beforeEach(() => {
  vi.stubEnv('AWS_REGION', '');
  vi.stubEnv('AWS_DEFAULT_REGION', '');
});

describe('no token in any error, hint, detail, cause or log line', () => {
  it('holds for success and every STS and IAM Credentials error path', async () => {
    const jwt = await makeAwsJwt({ audience: AWS_AUDIENCE, lifetime: 3600 });
    const federated = googleAccessToken('federated');
    const saToken = googleAccessToken('service-account');
    const { lines, logger } = recordingLogger();
    const texts: string[] = [];

    const stsAnswers: Answer[] = [
      stsError(
        400,
        'invalid_grant',
        `The audience in ID Token [${AWS_AUDIENCE}] does not match the expected audience.`,
      ),
      stsError(400, 'invalid_grant', "Error connecting to the given credential's issuer."),
      stsError(400, 'invalid_grant', 'ID Token issued at 1790552633 is stale to sign-in.'),
      stsError(400, 'unauthorized_client', 'The given credential is rejected by the attribute condition.'),
      stsError(400, 'invalid_target', 'The target service indicated by the "audience" parameters is invalid.'),
      stsError(400, 'invalid_request', 'The size of mapped attribute google.subject exceeds the 127 bytes limit.'),
      // A service that echoes what it was sent must not get it into the error either.
      stsError(400, 'invalid_grant', `Unparseable subject_token=${jwt}`),
      [429, { error: 'rate_limit_exceeded' }],
      [503, '<html>unavailable</html>'],
      [200, { token_type: 'Bearer' }],
    ];
    const iamAnswers: Answer[] = [
      PERMISSION_DENIED,
      iamError(404, 'NOT_FOUND', `Not found; Gaia id not found for email ${SERVICE_ACCOUNT}`),
      iamError(400, 'INVALID_ARGUMENT', `Bad request with Authorization: Bearer ${federated}`),
      iamError(503, 'UNAVAILABLE', 'The service is currently unavailable.'),
      [200, { expireTime: '2026-01-01T00:00:00Z' }],
    ];

    const awsSts = nock('https://sts.us-east-1.amazonaws.com')
      .post('/')
      .times(stsAnswers.length + iamAnswers.length + 1)
      .reply(200, stsSuccessXml(jwt, new Date(Date.now() + 3600_000)), { 'content-type': 'text/xml' });
    const options = (extra: Partial<GoogleAuthClientOptions> = {}): GoogleAuthClientOptions => ({
      audience: PROVIDER_NAME,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS, retry: false },
      retry: false,
      logger,
      ...extra,
    });

    for (const answer of stsAnswers) {
      const { scope } = mockSts([answer]);
      const error = await createGoogleAuthClient(options())
        .getAccessToken()
        .catch((e: unknown) => e);
      scope.done();
      expect(isKeylessError(error)).toBe(true);
      texts.push(errorText(error));
    }
    for (const answer of iamAnswers) {
      const sts = mockSts([stsSuccess(federated)]);
      const iam = mockIam([answer]);
      const error = await createGoogleAuthClient(options({ serviceAccountEmail: SERVICE_ACCOUNT }))
        .getAccessToken()
        .catch((e: unknown) => e);
      sts.scope.done();
      iam.scope.done();
      expect(isKeylessError(error)).toBe(true);
      texts.push(errorText(error));
    }

    // Success, through a real client library, with debug logging on.
    const sts = mockSts([stsSuccess(federated)]);
    const iam = mockIam([iamSuccess(saToken)]);
    const storageApi = nock('https://storage.example.test')
      .get('/storage/v1/b')
      .query(true)
      .reply(403, { error: { code: 403, message: 'reader@ does not have storage.buckets.list access.' } });
    const storage = new Storage({
      projectId: 'my-project',
      authClient: createGoogleAuthClient(options({ serviceAccountEmail: SERVICE_ACCOUNT })),
      apiEndpoint: 'https://storage.example.test',
      useAuthWithCustomEndpoint: true,
      retryOptions: { autoRetry: false },
    });
    texts.push(errorText(await storage.getBuckets().catch((e: unknown) => e)));
    sts.scope.done();
    iam.scope.done();
    storageApi.done();
    awsSts.done();

    expect(lines.some((line) => line.startsWith('debug'))).toBe(true);
    expectNoSecrets([...lines, ...texts], [jwt, federated, saToken]);
  });

  it('scrubs a failing webIdentityToken provider’s GaxiosError, whose config.data holds the subject token', async () => {
    const jwt = await makeAwsJwt({ audience: AWS_AUDIENCE });
    const { lines, logger } = recordingLogger();
    const gaxiosError = new gaxios.GaxiosError(`Request failed with subject_token=${jwt}`, {
      url: new URL('https://sts.googleapis.com/v1/token'),
      method: 'POST',
      data: `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=${jwt}`,
      headers: new Headers({ authorization: `Bearer ${jwt}` }),
    });
    const authClient = createGoogleAuthClient({
      audience: PROVIDER_NAME,
      webIdentityToken: async () => {
        throw gaxiosError;
      },
      retry: false,
      logger,
    });
    const error = await authClient.getAccessToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXCHANGE_FAILED', provider: 'aws' });
    expect(errorText(gaxiosError)).toContain(jwt); // the raw error does hold it…
    expectNoSecrets([errorText(error), ...lines], [jwt]); // …the KeylessError does not
  });
});
