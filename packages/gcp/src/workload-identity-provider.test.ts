import { describe, expect, it } from 'vitest';
import { principalIdentifier, workloadIdentityProvider } from './workload-identity-provider.js';

const NAME =
  '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-oidc';
const PARTS = {
  name: NAME,
  iamHost: 'iam.googleapis.com',
  projectNumber: '123456789012',
  location: 'global',
  poolId: 'aws-pool',
  providerId: 'aws-oidc',
};

function configError(message: string) {
  return expect.objectContaining({
    code: 'INVALID_CONFIG',
    provider: 'gcp',
    message: expect.stringContaining(message),
  });
}

describe('workloadIdentityProvider', () => {
  it('parses the full resource name', () => {
    expect(workloadIdentityProvider({ audience: NAME })).toEqual(PARTS);
  });

  it('accepts the https: form and the projects/… short form, and canonicalises them', () => {
    expect(workloadIdentityProvider({ audience: `https:${NAME}` }).name).toBe(NAME);
    expect(workloadIdentityProvider({ audience: NAME.replace('//iam.googleapis.com/', '') }).name).toBe(NAME);
  });

  it('builds the name from the parts, location defaulting to global', () => {
    expect(
      workloadIdentityProvider({ projectNumber: '123456789012', poolId: 'aws-pool', providerId: 'aws-oidc' }),
    ).toEqual(PARTS);
    expect(
      workloadIdentityProvider({ projectNumber: 123456789012, poolId: 'aws-pool', providerId: 'aws-oidc' }).name,
    ).toBe(NAME);
  });

  it.each([
    [{}, 'the workload identity provider is missing'],
    [{ audience: NAME, poolId: 'aws-pool' }, 'audience cannot be combined with poolId'],
    [{ projectNumber: '1', poolId: 'aws-pool' }, 'providerId is required'],
    [{ audience: 'aws-oidc' }, "audience must be the provider's resource name"],
    [{ audience: NAME.replace('123456789012', 'my-project') }, 'the project in audience must be a project number'],
    [
      { projectNumber: 'my-project', poolId: 'aws-pool', providerId: 'aws-oidc' },
      'projectNumber must be a project number',
    ],
    [{ projectNumber: '1', poolId: 'AWS Pool', providerId: 'aws-oidc' }, 'poolId must be a workload identity pool id'],
    [{ projectNumber: '1', poolId: 'aws-pool', providerId: 'gcp-oidc' }, 'providerId must be a provider id'],
    [{ projectNumber: '1', poolId: 'aws-pool', providerId: 'aws' }, 'providerId must be a provider id of 4..32'],
    [
      { audience: '//iam.googleapis.com/locations/global/workforcePools/staff/providers/okta' },
      'audience names a workforce pool provider',
    ],
  ])('refuses %j with INVALID_CONFIG naming the option', (options, message) => {
    expect(() => workloadIdentityProvider(options)).toThrow(configError(message));
  });

  it('says where to find the project number', () => {
    try {
      workloadIdentityProvider({ projectNumber: 'my-project', poolId: 'aws-pool', providerId: 'aws-oidc' });
      expect.unreachable();
    } catch (error) {
      expect((error as { hint: string }).hint).toContain('gcloud projects describe');
    }
  });
});

describe('principalIdentifier', () => {
  it('names one subject of the pool', () => {
    expect(
      principalIdentifier(workloadIdentityProvider({ audience: NAME }), 'arn:aws:iam::123456789012:role/app'),
    ).toBe(
      'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/subject/arn:aws:iam::123456789012:role/app',
    );
  });
});
