import { IdentityPoolClient } from 'google-auth-library';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createGoogleAuthClient, type GoogleAuthClientOptions } from './google-auth-client.js';

const NAME =
  '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-oidc';
const SA = 'reader@my-project.iam.gserviceaccount.com';
const token = async () => ({ token: 'x', expiresAt: new Date(), claims: {} as never });

function configError(message: string) {
  return expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining(message) });
}

beforeEach(() => {
  vi.stubEnv('AWS_REGION', 'us-east-1');
});

describe('createGoogleAuthClient options', () => {
  it('returns an external-account client describing the provider, without any I/O', () => {
    const client = createGoogleAuthClient({
      audience: NAME,
      serviceAccountEmail: SA,
      scopes: 'https://www.googleapis.com/auth/devstorage.read_only',
      projectId: 'my-project',
      quotaProjectId: 'billing',
    });
    expect(client).toBeInstanceOf(IdentityPoolClient);
    expect(client.getServiceAccountEmail()).toBe(SA);
    expect(client.projectNumber).toBe('123456789012');
    expect(client.projectId).toBe('my-project');
    expect(client.quotaProjectId).toBe('billing');
    expect(client.universeDomain).toBe('googleapis.com');
    expect(client.scopes).toEqual(['https://www.googleapis.com/auth/devstorage.read_only']);
  });

  it.each<[Partial<GoogleAuthClientOptions>, string]>([
    [{ aws: {}, webIdentityToken: token }, 'Pass either aws or webIdentityToken, not both'],
    [{ webIdentityToken: 'token' as never }, 'webIdentityToken must be a function'],
    [{ aws: { signingAlgorithm: 'ES384' } }, 'aws.signingAlgorithm must be RS256'],
    [{ aws: { durationSeconds: 30 } }, 'durationSeconds must be an integer 60..3600, got 30'],
    [{ scopes: [] }, 'scopes must be a scope or a non-empty array'],
    [{ scopes: ['a b'] }, 'scopes must be a scope or a non-empty array'],
    [{ serviceAccountEmail: 'reader' }, 'serviceAccountEmail must be a service account email'],
    [{ tokenLifetimeSeconds: 1800 }, 'tokenLifetimeSeconds only applies to service account impersonation'],
    [
      { serviceAccountEmail: SA, tokenLifetimeSeconds: 60 },
      'tokenLifetimeSeconds must be an integer 600..43200, got 60',
    ],
    [
      { serviceAccountImpersonationUrl: 'https://iamcredentials.googleapis.com/v1/x' },
      'serviceAccountImpersonationUrl must end in',
    ],
    [
      {
        serviceAccountEmail: SA,
        serviceAccountImpersonationUrl: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/other@p.iam.gserviceaccount.com:generateAccessToken`,
      },
      'serviceAccountImpersonationUrl names other@p.iam.gserviceaccount.com but serviceAccountEmail is',
    ],
    [{ tokenUrl: 'sts.googleapis.com' }, 'tokenUrl must be an absolute http(s) URL'],
    [{ universeDomain: 'https://googleapis.com' }, 'universeDomain must be a domain name'],
    [{ requestTimeoutMs: 0 }, 'requestTimeoutMs must be a number 1..600000, got 0'],
    [{ projectId: '' }, 'projectId must be a non-empty string'],
    [{ audience: 'aws-oidc' }, "audience must be the provider's resource name"],
  ])('refuses %j with INVALID_CONFIG naming the option', (extra, message) => {
    expect(() => createGoogleAuthClient({ audience: NAME, ...extra })).toThrow(configError(message));
  });

  it('refuses a missing provider', () => {
    expect(() => createGoogleAuthClient({})).toThrow(configError('the workload identity provider is missing'));
  });
});
