/**
 * Entra ID token endpoint × the fault matrix (test/reliability/matrix.ts): the shared fault suite
 * drives AwsFederatedCredential, with core's JWT provider, against a scripted loopback Entra.
 */
import { beforeEach, vi } from 'vitest';
import { faultSuite } from '../../../../test/reliability/support/fault-suite.js';
import { AwsFederatedCredential } from '../../src/index.js';

const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = '00001111-aaaa-2222-bbbb-3333cccc4444';
const SCOPE = 'https://storage.azure.com/.default';

beforeEach(() => {
  for (const name of ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_AUTHORITY_HOST']) vi.stubEnv(name, '');
});

faultSuite({
  endpoint: 'entra',
  provider: 'azure',
  path: `/${TENANT_ID}/oauth2/v2.0/token`,
  create: ({ origin, sts, retry, requestTimeoutMs, logger }) => {
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      authorityHost: origin,
      aws: { client: sts },
      retry,
      logger,
      ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    });
    return {
      get: async (signal) => (await credential.getToken(SCOPE, signal ? { abortSignal: signal } : {})).token,
    };
  },
  success: (token, lifetime) => ({
    status: 200,
    body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token },
  }),
  lifetime: 3599,
  malformed: { status: 200, body: { token_type: 'Bearer', expires_in: 3599, access_token: 42 } },
  malformedRetryable: true,
  presented: (request) => new URLSearchParams(request.body).get('client_assertion') ?? undefined,
  presentedLifetime: 300,
  expired: {
    reply: {
      status: 400,
      body: {
        error: 'invalid_client',
        error_description: 'AADSTS700024: Client assertion is not within its valid time range. Trace ID: 1',
        error_codes: [700024],
      },
    },
    code: 'TOKEN_REJECTED',
  },
});
