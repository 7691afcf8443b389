import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TEST_CREDENTIALS } from '../../../../test/support/aws.js';
import { AwsFederatedCredential } from '../../src/index.js';
import {
  accessToken,
  CLIENT_ID,
  countingProvider,
  entraSuccess,
  mockEntra,
  mockSts,
  OTHER_TENANT_ID,
  STORAGE_SCOPE,
  TENANT_ID,
} from './entra-mock.js';

const T0 = Date.parse('2026-11-21T12:00:00Z');

beforeEach(() => {
  for (const name of [
    'AZURE_TENANT_ID',
    'AZURE_CLIENT_ID',
    'AZURE_AUTHORITY_HOST',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
  ]) {
    vi.stubEnv(name, '');
  }
});
afterEach(() => {
  nock.cleanAll();
  vi.useRealTimers();
});

describe('the Entra token cache', () => {
  it('serves 200 concurrent getToken calls with one STS call and one Entra call', async () => {
    const sts = mockSts(1);
    const token = accessToken();
    const entra = mockEntra([entraSuccess(token)]);
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS },
    });

    const results = await Promise.all(Array.from({ length: 200 }, () => credential.getToken(STORAGE_SCOPE)));

    sts.scope.done();
    entra.scope.done();
    expect(sts.forms).toHaveLength(1);
    expect(entra.requests).toHaveLength(1);
    expect(new Set(results.map((r) => r.token))).toEqual(new Set([token]));

    // Later calls are memory reads: no interceptor is left, so any request would fail.
    const again = await Promise.all(Array.from({ length: 200 }, () => credential.getToken([STORAGE_SCOPE])));
    expect(again.every((r) => r.token === token)).toBe(true);
    expect(sts.forms).toHaveLength(1);
    expect(entra.requests).toHaveLength(1);
  });

  it('answers a cached getToken without touching the JWT provider', async () => {
    const provider = await countingProvider();
    const { scope } = mockEntra([entraSuccess(accessToken())]);
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      webIdentityToken: provider,
    });
    await credential.getToken(STORAGE_SCOPE);
    scope.done();
    for (let i = 0; i < 50; i++) await credential.getToken(STORAGE_SCOPE);
    expect(provider.calls).toBe(1);
  });

  it('keeps separate entries per scopes, tenant, claims and CAE', async () => {
    const provider = await countingProvider();
    const home = mockEntra(Array.from({ length: 6 }, () => entraSuccess(accessToken())));
    const other = mockEntra([entraSuccess(accessToken())], { tenantId: OTHER_TENANT_ID });
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      webIdentityToken: provider,
      additionallyAllowedTenants: ['*'],
    });
    const claims = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}';
    const calls = [
      () => credential.getToken(STORAGE_SCOPE),
      () => credential.getToken('https://vault.azure.net/.default'),
      () => credential.getToken(STORAGE_SCOPE, { tenantId: OTHER_TENANT_ID }),
      () => credential.getToken(STORAGE_SCOPE, { enableCae: true }),
    ];
    const first = [];
    for (const call of calls) first.push((await call()).token);
    const withClaims = (await credential.getToken('https://vault.azure.net/.default', { claims })).token;
    expect(new Set([...first, withClaims]).size).toBe(5);
    expect(home.requests).toHaveLength(4);
    expect(other.requests).toHaveLength(1);

    // Same keys again: memory reads. (The vault entry is left out: the claims challenge marked it for refresh.)
    expect((await calls[0]!()).token).toBe(first[0]);
    expect((await calls[2]!()).token).toBe(first[2]);
    expect((await calls[3]!()).token).toBe(first[3]);
    expect(home.requests).toHaveLength(4);

    // Claims always fetch anew, and the same claims do not share a cached token.
    const withClaimsAgain = (await credential.getToken('https://vault.azure.net/.default', { claims })).token;
    expect(withClaimsAgain).not.toBe(withClaims);
    expect(home.requests).toHaveLength(5);
    expect(home.requests.map((r) => r.form.claims ?? null)).toEqual([
      null,
      null,
      '{"access_token":{"xms_cc":{"values":["cp1"]}}}',
      claims,
      claims,
    ]);
    other.scope.done();
  });

  it('after a CAE claims challenge, refreshes the token cached without claims on its next use', async () => {
    const tokens = [accessToken(), accessToken(), accessToken()];
    const { scope, requests } = mockEntra(tokens.map((t) => entraSuccess(t)));
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      webIdentityToken: await countingProvider(),
    });
    const caeOptions = { enableCae: true };
    expect((await credential.getToken(STORAGE_SCOPE, caeOptions)).token).toBe(tokens[0]);
    const claims = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}';
    expect((await credential.getToken(STORAGE_SCOPE, { ...caeOptions, claims })).token).toBe(tokens[1]);
    // The resource refused tokens[0]: the next plain call must not hand it out again.
    const next = await Promise.all([
      credential.getToken(STORAGE_SCOPE, caeOptions),
      credential.getToken(STORAGE_SCOPE, caeOptions),
    ]);
    expect(next.map((t) => t.token)).toEqual([tokens[2], tokens[2]]);
    expect((await credential.getToken(STORAGE_SCOPE, caeOptions)).token).toBe(tokens[2]);
    scope.done();
    expect(requests).toHaveLength(3);
  });

  it('is fresh until the refresh window, then refreshes in the background, and waits only near expiry', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const tokens = [accessToken(), accessToken(), accessToken()];
    const { scope, requests } = mockEntra(tokens.map((t) => entraSuccess(t)));
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      webIdentityToken: await countingProvider({ lifetime: 3600 }),
    });
    const first = await credential.getToken(STORAGE_SCOPE);
    expect(first.refreshAfterTimestamp).toBe(T0 + 3299_000);

    vi.setSystemTime(T0 + 3298_000); // fresh: 301 s left
    expect((await credential.getToken(STORAGE_SCOPE)).token).toBe(tokens[0]);
    expect(requests).toHaveLength(1);

    vi.setSystemTime(T0 + 3300_000); // inside the 300 s window: old token at once, one background refresh
    expect((await credential.getToken(STORAGE_SCOPE)).token).toBe(tokens[0]);
    await vi.waitFor(() => expect(requests).toHaveLength(2));
    await vi.waitFor(async () => expect((await credential.getToken(STORAGE_SCOPE)).token).toBe(tokens[1]));

    vi.setSystemTime(T0 + 3300_000 + 3599_000 - 5_000); // 5 s left: below the 10 s minimum, callers wait
    expect((await credential.getToken(STORAGE_SCOPE)).token).toBe(tokens[2]);
    scope.done();
  });

  it('shares one JWT between the tenants and scopes it serves', async () => {
    const sts = mockSts(1);
    const entra = mockEntra([entraSuccess(accessToken()), entraSuccess(accessToken())]);
    const credential = new AwsFederatedCredential({
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      aws: { region: 'us-east-1', credentials: TEST_CREDENTIALS },
    });
    await Promise.all([credential.getToken(STORAGE_SCOPE), credential.getToken('https://vault.azure.net/.default')]);
    sts.scope.done();
    entra.scope.done();
    expect(entra.requests[0]!.form.client_assertion).toBe(entra.requests[1]!.form.client_assertion);
  });
});
