import { describe, expect, it } from 'vitest';
import { oauthServerMetadataUrl, openIdConfigurationUrl } from './discovery.js';

describe('metadata URLs', () => {
  it.each([
    [
      'https://idp.example.com',
      'https://idp.example.com/.well-known/openid-configuration',
      'https://idp.example.com/.well-known/oauth-authorization-server',
    ],
    [
      'https://idp.example.com/',
      'https://idp.example.com/.well-known/openid-configuration',
      'https://idp.example.com/.well-known/oauth-authorization-server',
    ],
    [
      'https://idp.example.com/realms/prod',
      'https://idp.example.com/realms/prod/.well-known/openid-configuration',
      'https://idp.example.com/.well-known/oauth-authorization-server/realms/prod',
    ],
  ])('%s → %s (OIDC, appended) and %s (RFC 8414, inserted)', (issuer, oidc, oauth) => {
    expect(openIdConfigurationUrl(issuer).href).toBe(oidc);
    expect(oauthServerMetadataUrl(issuer).href).toBe(oauth);
  });
});
