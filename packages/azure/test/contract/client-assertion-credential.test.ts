/**
 * The same Entra mock, driven by @azure/identity's ClientAssertionCredential (a devDependency, for
 * comparison only): it proves the fixtures are what MSAL accepts, that keyless sends the fields MSAL
 * sends, and records the MSAL behaviour keyless avoids (PROTOCOLS §3.5, §3.6).
 */
import { ClientAssertionCredential } from '@azure/identity';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsFederatedCredential } from '../../src/index.js';
import {
  accessToken,
  CLIENT_ID,
  countingProvider,
  entraSuccess,
  mockEntra,
  STORAGE_SCOPE,
  TENANT_ID,
} from './entra-mock.js';

beforeEach(() => {
  for (const name of ['AZURE_AUTHORITY_HOST', 'AZURE_REGIONAL_AUTHORITY_NAME', 'MSAL_FORCE_REGION'])
    vi.stubEnv(name, '');
});
afterEach(() => {
  nock.cleanAll();
});

describe('ClientAssertionCredential against the same Entra mock', () => {
  it('sends the same protocol fields as keyless, and calls the assertion callback twice per getToken', async () => {
    const provider = await countingProvider();
    const token = accessToken();
    const msal = mockEntra([entraSuccess(token)]);
    let assertionCalls = 0;
    const reference = new ClientAssertionCredential(TENANT_ID, CLIENT_ID, async () => {
      assertionCalls++;
      return (await provider()).token;
    });

    const result = await reference.getToken(STORAGE_SCOPE);
    await reference.getToken(STORAGE_SCOPE);
    msal.scope.done();
    expect(result.token).toBe(token);
    expect(msal.requests).toHaveLength(1);
    expect(assertionCalls).toBe(4);

    const ours = mockEntra([entraSuccess(accessToken())]);
    await new AwsFederatedCredential({ tenantId: TENANT_ID, clientId: CLIENT_ID, webIdentityToken: provider }).getToken(
      STORAGE_SCOPE,
    );
    ours.scope.done();
    const protocolFields = ['client_id', 'scope', 'grant_type', 'client_assertion_type', 'client_assertion'];
    const pick = (form: Record<string, string>) => Object.fromEntries(protocolFields.map((f) => [f, form[f]]));
    expect(pick(ours.requests[0]!.form)).toEqual(pick(msal.requests[0]!.form));
    expect(new URL(ours.requests[0]!.url).pathname).toBe(new URL(msal.requests[0]!.url).pathname);
  });

  it('asks for the same cp1 client capability as keyless when CAE is enabled', async () => {
    const provider = await countingProvider();
    const msal = mockEntra([entraSuccess(accessToken())]);
    await new ClientAssertionCredential(TENANT_ID, CLIENT_ID, async () => (await provider()).token).getToken(
      STORAGE_SCOPE,
      { enableCae: true },
    );
    const ours = mockEntra([entraSuccess(accessToken())]);
    await new AwsFederatedCredential({ tenantId: TENANT_ID, clientId: CLIENT_ID, webIdentityToken: provider }).getToken(
      STORAGE_SCOPE,
      { enableCae: true },
    );
    msal.scope.done();
    ours.scope.done();
    const msalClaims = JSON.parse(msal.requests[0]!.form.claims!);
    const ourClaims = JSON.parse(ours.requests[0]!.form.claims!);
    expect(ourClaims.access_token).toEqual(msalClaims.access_token);
    // MSAL also asks for optional id_token claims, which a client-credentials grant never returns.
    expect(Object.keys(msalClaims).sort()).toEqual(['access_token', 'id_token']);
  });

  it('refuses an http authority host, which keyless allows on loopback for the emulator', () => {
    expect(
      () =>
        new ClientAssertionCredential(TENANT_ID, CLIENT_ID, async () => 'unused', {
          authorityHost: 'http://127.0.0.1:4000',
        }),
    ).toThrow(/https/i);
    expect(
      () =>
        new AwsFederatedCredential({
          tenantId: TENANT_ID,
          clientId: CLIENT_ID,
          authorityHost: 'http://127.0.0.1:4000',
          webIdentityToken: async () => {
            throw new Error('unused');
          },
        }),
    ).not.toThrow();
  });
});
