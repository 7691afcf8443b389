import { checkString, invalidConfig, resolveWebIdentityToken } from '@keyless/core';
import { type ClientAuth, checkClientAuth } from './client-auth.js';
import { checkExtraParams, checkScope } from './form-options.js';
import {
  type AccessTokenProvider,
  checkProviderOptions,
  formGrantProvider,
  type TokenProviderOptions,
  tokenEndpointSource,
} from './token-endpoint.js';

/** RFC 7523 §2.1. */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const RESERVED_FIELDS = new Set([
  'grant_type',
  'assertion',
  'scope',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
]);

export interface JwtBearerOptions extends TokenProviderOptions {
  /** The token endpoint URL. Exactly one of `tokenEndpoint` and `issuer`. */
  tokenEndpoint?: string;
  /** The issuer: its token endpoint is read from its discovery document. */
  issuer?: string;
  /** `scope`: a space-separated string or a list. */
  scope?: string | readonly string[];
  /** Sent as `client_id` (a public client). Shorthand for `clientAuth: { method: 'none', clientId }`. */
  clientId?: string;
  /** Client authentication, if the server wants it. Default: none. */
  clientAuth?: ClientAuth;
  /** More form fields, for a vendor's additions. */
  extraParams?: Record<string, string | readonly string[]>;
}

/**
 * A cached provider of a token from an RFC 7523 JWT-bearer grant: the AWS-signed JWT is the
 * authorization grant (`assertion`). Options are checked now; nothing is fetched until the first call.
 */
export function fromJwtBearer(options: JwtBearerOptions): AccessTokenProvider {
  const settings = checkProviderOptions(options, 'jwt-bearer');
  const endpoint = tokenEndpointSource(options, settings);
  const scope = checkScope('scope', options.scope);
  if (options.clientId !== undefined && options.clientAuth !== undefined) {
    throw invalidConfig('oidc', 'Pass either clientId or clientAuth, not both', 'Put the id in clientAuth.clientId.');
  }
  const clientAuth =
    options.clientId === undefined
      ? checkClientAuth(options.clientAuth)
      : ({ method: 'none', clientId: checkString('oidc', 'clientId', options.clientId) } as const);
  const extraParams = checkExtraParams('extraParams', options.extraParams, RESERVED_FIELDS);
  const subject = resolveWebIdentityToken('oidc', options, {
    // One retry layer: the token cache retries a failed STS call, so the JWT provider does not.
    retry: false,
    audienceHelp: 'RFC 7523 servers expect aud to identify them, usually their token endpoint URL or issuer identifier',
    logger: settings.logger,
  });
  return formGrantProvider(
    {
      name: 'jwt-bearer',
      grantType: JWT_BEARER_GRANT_TYPE,
      clientAuth,
      form: (jwt) => ({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: jwt, scope, ...extraParams }),
      hints: {
        rejectedHint:
          'The server does not accept this AWS JWT as a grant. It must trust the AWS account’s issuer (iss), find itself in aud (aws.audience: usually its token endpoint URL or issuer), and map sub (the role ARN) to a principal.',
        targetHint: 'The server will not issue a token for this target to this subject.',
        clientHint: clientAuth
          ? 'Check clientId / clientAuth: the id, the secret and the method the client is registered for.'
          : 'The server wants a client id or client authentication: pass clientId, or clientAuth { method, clientId, clientSecret }.',
        scopeHint: 'Check scope: ask only for scopes the server grants to this subject.',
      },
    },
    endpoint,
    subject,
    settings,
  );
}
