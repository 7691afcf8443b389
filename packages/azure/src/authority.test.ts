import { isKeylessError } from '@keyless/core';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { checkTenantId, defaultTokenExchangeAudience, resolveAuthorityHost, tokenEndpoint } from './authority.js';

beforeEach(() => {
  vi.stubEnv('AZURE_AUTHORITY_HOST', '');
});

function configMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isKeylessError(error) && error.code === 'INVALID_CONFIG' && error.provider === 'azure') return error.message;
    throw error;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('defaultTokenExchangeAudience', () => {
  it.each([
    [undefined, 'api://AzureADTokenExchange'],
    ['https://login.microsoftonline.com', 'api://AzureADTokenExchange'],
    ['https://LOGIN.MicrosoftOnline.us/', 'api://AzureADTokenExchangeUSGov'],
    ['https://login.chinacloudapi.cn', 'api://AzureADTokenExchangeChina'],
    ['https://login.partner.microsoftonline.cn', 'api://AzureADTokenExchangeChina'],
    ['http://127.0.0.1:4000', 'api://AzureADTokenExchange'],
    ['https://login.proxy.example/entra', 'api://AzureADTokenExchange'],
  ])('%s → %s', (host, audience) => {
    expect(defaultTokenExchangeAudience(host)).toBe(audience);
  });
});

describe('resolveAuthorityHost', () => {
  it('defaults to the public cloud, then reads AZURE_AUTHORITY_HOST, and the option wins', () => {
    expect(resolveAuthorityHost(undefined).href).toBe('https://login.microsoftonline.com/');
    vi.stubEnv('AZURE_AUTHORITY_HOST', 'https://login.microsoftonline.us/');
    expect(resolveAuthorityHost(undefined).href).toBe('https://login.microsoftonline.us/');
    expect(resolveAuthorityHost('https://login.chinacloudapi.cn').href).toBe('https://login.chinacloudapi.cn/');
  });

  it('keeps a path without trailing slashes, and allows http on loopback only', () => {
    expect(resolveAuthorityHost('https://proxy.example/entra//').href).toBe('https://proxy.example/entra');
    expect(resolveAuthorityHost('http://127.0.0.1:4000').origin).toBe('http://127.0.0.1:4000');
    expect(resolveAuthorityHost('http://localhost:4000/').origin).toBe('http://localhost:4000');
    expect(resolveAuthorityHost('http://[::1]:4000').origin).toBe('http://[::1]:4000');
  });

  it.each([
    ['login.microsoftonline.com', /authorityHost must be an absolute https URL, got "login\.microsoftonline\.com"/],
    ['ftp://login.example', /authorityHost must be an absolute https URL/],
    [42, /authorityHost must be an absolute https URL, got 42/],
    [
      'http://login.example',
      /authorityHost must use https \(http is only allowed on 127\.0\.0\.1, localhost and \[::1\]\)/,
    ],
    ['https://login.example/?x=1', /authorityHost must be a bare origin/],
    ['https://user:pw@login.example', /authorityHost must be a bare origin/],
  ])('refuses %j', (value, message) => {
    expect(configMessage(() => resolveAuthorityHost(value))).toMatch(message);
  });

  it('names AZURE_AUTHORITY_HOST when the bad value comes from there', () => {
    vi.stubEnv('AZURE_AUTHORITY_HOST', 'http://login.example');
    expect(configMessage(() => resolveAuthorityHost(undefined))).toMatch(/^AZURE_AUTHORITY_HOST must use https/);
  });
});

describe('tokenEndpoint', () => {
  it('is {authorityHost}/{tenant}/oauth2/v2.0/token', () => {
    expect(tokenEndpoint(resolveAuthorityHost('https://login.microsoftonline.com/'), 'contoso.com').href).toBe(
      'https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token',
    );
    expect(tokenEndpoint(resolveAuthorityHost('http://127.0.0.1:4000'), 'tid').href).toBe(
      'http://127.0.0.1:4000/tid/oauth2/v2.0/token',
    );
    expect(tokenEndpoint(resolveAuthorityHost('https://p.example/entra/'), 'tid').href).toBe(
      'https://p.example/entra/tid/oauth2/v2.0/token',
    );
  });
});

describe('checkTenantId', () => {
  it('accepts GUIDs and domains, refuses anything that would change the path', () => {
    expect(checkTenantId('tenantId', '72f988bf-86f1-41af-91ab-2d7cd011db47')).toBe(
      '72f988bf-86f1-41af-91ab-2d7cd011db47',
    );
    expect(checkTenantId('tenantId', 'contoso.onmicrosoft.com')).toBe('contoso.onmicrosoft.com');
    expect(configMessage(() => checkTenantId('tenantId', 'a/b'))).toMatch(
      /tenantId must be a directory \(tenant\) ID or a domain name .*got "a\/b"/,
    );
    expect(configMessage(() => checkTenantId('tenantId', ''))).toMatch(
      /tenantId must be a string of 1\.\.256 characters/,
    );
  });
});
