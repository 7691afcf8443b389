import { isKeylessError, type KeylessError, type WebIdentityTokenProvider } from '@keyless/core';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsFederatedCredential, type AwsFederatedCredentialOptions } from './aws-federated-credential.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '00001111-aaaa-2222-bbbb-3333cccc4444';
const never: WebIdentityTokenProvider = () => new Promise(() => {});
const base = { tenantId: TENANT, clientId: CLIENT };

beforeEach(() => {
  for (const name of [
    'AZURE_TENANT_ID',
    'AZURE_CLIENT_ID',
    'AZURE_AUTHORITY_HOST',
    'AZURE_IDENTITY_DISABLE_MULTITENANTAUTH',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
  ]) {
    vi.stubEnv(name, '');
  }
});

function constructionError(options: unknown): KeylessError {
  try {
    new AwsFederatedCredential(options as AwsFederatedCredentialOptions);
  } catch (error) {
    if (isKeylessError(error)) return error;
    throw error;
  }
  throw new Error('expected the constructor to throw');
}

async function getTokenError(promise: Promise<unknown>): Promise<KeylessError> {
  try {
    await promise;
  } catch (error) {
    if (isKeylessError(error)) return error;
    throw error;
  }
  throw new Error('expected getToken to reject');
}

describe('AwsFederatedCredential options (checked in the constructor, before any I/O)', () => {
  it.each([
    [null, /options must be an object/],
    [{ clientId: CLIENT }, /tenantId is required: pass tenantId or set AZURE_TENANT_ID/],
    [{ tenantId: TENANT }, /clientId is required: pass clientId or set AZURE_CLIENT_ID/],
    [{ ...base, tenantId: 'x/y' }, /tenantId must be a directory \(tenant\) ID or a domain name/],
    [{ ...base, tenantId: '' }, /tenantId must be a string of 1\.\.256 characters/],
    [{ ...base, clientId: 7 }, /clientId must be a string of 1\.\.256 characters, got 7/],
    [{ ...base, authorityHost: 'http://login.example' }, /authorityHost must use https/],
    [{ ...base, authorityHost: 'nope' }, /authorityHost must be an absolute https URL/],
    [
      { ...base, additionallyAllowedTenants: 'x' },
      /additionallyAllowedTenants must be an array of tenant IDs or "\*", got "x"/,
    ],
    [
      { ...base, additionallyAllowedTenants: ['ok', 'bad/one'] },
      /additionallyAllowedTenants\[1\] must be a directory \(tenant\) ID/,
    ],
    [{ ...base, webIdentityToken: never, aws: {} }, /Pass either aws or webIdentityToken, not both/],
    [{ ...base, webIdentityToken: 'jwt' }, /webIdentityToken must be a function, got "jwt"/],
    [{ ...base, aws: 'us-east-1' }, /aws must be an object of fromAwsWebIdentityToken options/],
    [{ ...base, aws: { durationSeconds: 30 } }, /^aws\.durationSeconds must be an integer 60\.\.3600, got 30$/],
    [
      { ...base, aws: { signingAlgorithm: 'ES256' } },
      /^aws\.signingAlgorithm must be one of RS256, ES384, got "ES256"$/,
    ],
    [{ ...base, aws: { audience: '' } }, /^aws\.audience must be a string of 1\.\.1000 characters/],
    [{ ...base, aws: { endpoint: 'nope' } }, /^aws\.endpoint must be an absolute http\(s\) URL/],
    [
      { ...base, aws: { region: 'aws-global' } },
      /region is "aws-global", but GetWebIdentityToken is not served by the global STS endpoint/,
    ],
    [{ ...base, requestTimeoutMs: 0 }, /requestTimeoutMs must be a number 1\.\.600000, got 0/],
    [{ ...base, refreshBeforeExpirySeconds: -1 }, /refreshBeforeExpirySeconds must be a number 0\.\.3600, got -1/],
    [{ ...base, logger: 'console' }, /logger must be an object with debug, info, warn and error methods/],
    [{ ...base, disableInstanceDiscovery: 'yes' }, /disableInstanceDiscovery must be a boolean, got "yes"/],
    [
      { ...base, proxyOptions: { host: 'proxy' } },
      /proxyOptions is a ClientAssertionCredential option that does not apply to AwsFederatedCredential: .*NODE_USE_ENV_PROXY=1/,
    ],
    [
      { ...base, tokenCachePersistenceOptions: { enabled: true } },
      /tokenCachePersistenceOptions is a ClientAssertionCredential option .*in memory only/,
    ],
    [{ ...base, httpClient: {} }, /httpClient is a ClientAssertionCredential option that does not apply/],
    [
      { ...base, tenantID: TENANT },
      /tenantID is not an option of AwsFederatedCredential \(options: tenantId, clientId, /,
    ],
  ])('%j → INVALID_CONFIG %s', (options, message) => {
    const error = constructionError(options);
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(message);
  });

  it('reports azure for its own options and aws for the AWS token options', () => {
    expect(constructionError({ ...base, requestTimeoutMs: 0 }).provider).toBe('azure');
    expect(constructionError({ ...base, aws: { durationSeconds: 30 } }).provider).toBe('aws');
  });

  it('names AZURE_TENANT_ID when its value is bad', () => {
    vi.stubEnv('AZURE_TENANT_ID', 'bad tenant');
    expect(constructionError({ clientId: CLIENT }).message).toMatch(
      /^AZURE_TENANT_ID must be a directory \(tenant\) ID/,
    );
  });

  it('accepts the Azure-style options that need no MSAL, and options set to undefined', () => {
    expect(
      () =>
        new AwsFederatedCredential({
          ...base,
          authorityHost: 'https://login.microsoftonline.us',
          additionallyAllowedTenants: ['*', 'contoso.com'],
          disableInstanceDiscovery: true,
          webIdentityToken: never,
          aws: undefined,
          retry: false,
          requestTimeoutMs: 600_000,
          refreshBeforeExpirySeconds: 0,
          logger: console,
        }),
    ).not.toThrow();
    // No region needed at construction: it is resolved (env, shared config) on first use.
    expect(() => new AwsFederatedCredential(base)).not.toThrow();
  });

  it('exposes tenantId, clientId and the normalized authorityHost', () => {
    const credential = new AwsFederatedCredential({
      ...base,
      authorityHost: 'https://login.microsoftonline.us/',
      webIdentityToken: never,
    });
    expect(credential).toMatchObject({
      tenantId: TENANT,
      clientId: CLIENT,
      authorityHost: 'https://login.microsoftonline.us',
    });
  });
});

describe('getToken arguments', () => {
  const credential = () =>
    new AwsFederatedCredential({ ...base, webIdentityToken: never, additionallyAllowedTenants: ['contoso.com'] });

  it.each([
    ['', /scopes must be a non-empty string or array of non-empty strings .*got ""/],
    [[], /scopes must be a non-empty string or array/],
    [['', ' '], /scopes must be a non-empty string or array/],
    [[42], /scopes must be a non-empty string or array .*got an array/],
    [undefined, /scopes must be a non-empty string or array .*got undefined/],
  ])('refuses scopes %j', async (scopes, message) => {
    const error = await getTokenError(credential().getToken(scopes as string[]));
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', provider: 'azure' });
    expect(error.message).toMatch(message);
  });

  it('refuses a tenant that additionallyAllowedTenants does not list, naming the option', async () => {
    const error = await getTokenError(credential().getToken('https://x/.default', { tenantId: 'fabrikam.com' }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toBe(
      `getToken asked for tenant fabrikam.com, but this credential is configured for tenant ${TENANT} and additionallyAllowedTenants does not list it`,
    );
    expect(error.hint).toMatch(/Add "fabrikam\.com" to additionallyAllowedTenants \(or "\*" for any tenant\)/);
  });

  it('refuses a malformed tenant from getToken', async () => {
    const error = await getTokenError(credential().getToken('https://x/.default', { tenantId: '../x' }));
    expect(error.message).toMatch(/getToken tenantId must be a directory \(tenant\) ID/);
  });

  it('ignores the getToken tenant when AZURE_IDENTITY_DISABLE_MULTITENANTAUTH is set, like @azure/identity', async () => {
    vi.stubEnv('AZURE_IDENTITY_DISABLE_MULTITENANTAUTH', 'true');
    const calls: unknown[] = [];
    const c = new AwsFederatedCredential({
      ...base,
      webIdentityToken: () => {
        calls.push(1);
        return new Promise(() => {});
      },
    });
    void c.getToken('https://x/.default', { tenantId: 'fabrikam.com' });
    await vi.waitFor(() => expect(calls).toHaveLength(1));
  });

  it('refuses proof-of-possession requests and non-string or non-JSON claims', async () => {
    const pop = await getTokenError(
      credential().getToken('https://x/.default', {
        proofOfPossessionOptions: { nonce: 'n', resourceRequestMethod: 'GET', resourceRequestUrl: 'https://x' },
      }),
    );
    expect(pop.message).toMatch(/proofOfPossessionOptions are not supported/);
    const claims = await getTokenError(
      credential().getToken('https://x/.default', { claims: 42 as unknown as string }),
    );
    expect(claims.message).toMatch(/getToken claims must be a string/);
    const json = await getTokenError(
      credential().getToken('https://x/.default', { claims: 'not json', enableCae: true }),
    );
    expect(json.message).toMatch(/getToken claims must be a JSON object/);
  });
});
