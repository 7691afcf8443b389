import { invalidConfig, resolveWebIdentityToken, type SigningAlgorithm, showValue } from '@keyless/core';
import { type ClientAuth, checkClientAuth } from './client-auth.js';
import { checkExtraParams, checkScope, checkStringList } from './form-options.js';
import {
  type AccessTokenProvider,
  checkProviderOptions,
  type FormGrant,
  formGrantProvider,
  type TokenProviderOptions,
  tokenEndpointSource,
} from './token-endpoint.js';

/** RFC 8693 §2.1. */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 8693 §3: token type identifiers are this prefix + a short name. */
const TOKEN_TYPE_PREFIX = 'urn:ietf:params:oauth:token-type:';
/** The short names of RFC 8693 §3 token types, accepted wherever a token type URI is. */
export const TOKEN_TYPE_NAMES = ['access_token', 'refresh_token', 'id_token', 'saml1', 'saml2', 'jwt'] as const;
export type TokenTypeName = (typeof TOKEN_TYPE_NAMES)[number];

/** Fields keyless sets itself, or that have their own option. */
const RESERVED_FIELDS = new Set([
  'grant_type',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'audience',
  'resource',
  'scope',
  'requested_token_type',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
]);

export interface TokenExchangeOptions extends TokenProviderOptions {
  /** The token endpoint URL. Exactly one of `tokenEndpoint` and `issuer`. */
  tokenEndpoint?: string;
  /** The issuer: its token endpoint is read from `{issuer}/.well-known/openid-configuration`, else RFC 8414 metadata. */
  issuer?: string;
  /** `audience`: logical name(s) of the target service; a list repeats the field. */
  audience?: string | readonly string[];
  /** `resource`: absolute URI(s) of the target; a list repeats the field. */
  resource?: string | readonly string[];
  /** `scope`: a space-separated string or a list. */
  scope?: string | readonly string[];
  /** `requested_token_type`: a short name (`access_token`, `jwt`…) or a URI. Default: not sent. */
  requestedTokenType?: TokenTypeName | (string & {});
  /** `subject_token_type`: `jwt` (default) or `id_token`, or a vendor's URI. */
  subjectTokenType?: 'jwt' | 'id_token' | (string & {});
  /** Client authentication, if the server wants it. Default: none. */
  clientAuth?: ClientAuth;
  /** More form fields, for a vendor's additions to RFC 8693. */
  extraParams?: Record<string, string | readonly string[]>;
}

export interface TokenExchangePresetHints {
  name?: string;
  service?: string;
  hints?: Partial<FormGrant['hints']>;
  audienceHelp?: string;
  defaultAudience?: string;
  defaultDurationSeconds?: number;
  allowedAlgorithms?: readonly SigningAlgorithm[];
  algorithmHelp?: string;
}

/**
 * A cached provider of a token from an RFC 8693 token endpoint, in exchange for the AWS-signed JWT.
 * Options are checked now; nothing is fetched until the first call.
 */
export function fromTokenExchange(options: TokenExchangeOptions): AccessTokenProvider {
  return tokenExchangeProvider(options, {});
}

/** `fromTokenExchange` with a preset's defaults and hints (Databricks). */
export function tokenExchangeProvider(
  options: TokenExchangeOptions,
  preset: TokenExchangePresetHints,
): AccessTokenProvider {
  const settings = checkProviderOptions(options, preset.name ?? 'token-exchange');
  const endpoint = tokenEndpointSource(options, settings);
  const audience = checkStringList('audience', options.audience);
  const resource = checkStringList('resource', options.resource, { uri: true });
  const scope = checkScope('scope', options.scope);
  const requestedTokenType =
    options.requestedTokenType === undefined
      ? undefined
      : tokenTypeUri('requestedTokenType', options.requestedTokenType, TOKEN_TYPE_NAMES);
  const subjectTokenType = tokenTypeUri('subjectTokenType', options.subjectTokenType ?? 'jwt', ['jwt', 'id_token']);
  const clientAuth = checkClientAuth(options.clientAuth);
  const extraParams = checkExtraParams('extraParams', options.extraParams, RESERVED_FIELDS);
  const subject = resolveWebIdentityToken('oidc', options, {
    // One retry layer: the token cache retries a failed STS call, so the JWT provider does not.
    retry: false,
    audienceHelp:
      preset.audienceHelp ??
      'generic token endpoints have no standard audience; use the audience the server’s trust rule for the AWS issuer expects',
    ...(preset.defaultAudience === undefined ? {} : { audience: preset.defaultAudience }),
    ...(preset.defaultDurationSeconds === undefined ? {} : { durationSeconds: preset.defaultDurationSeconds }),
    ...(preset.allowedAlgorithms === undefined
      ? {}
      : { allowedAlgorithms: preset.allowedAlgorithms, algorithmHelp: preset.algorithmHelp }),
    logger: settings.logger,
  });
  const grant: FormGrant = {
    name: preset.name ?? 'token-exchange',
    grantType: TOKEN_EXCHANGE_GRANT_TYPE,
    clientAuth,
    ...(preset.service === undefined ? {} : { service: preset.service }),
    form: (jwt) => ({
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      subject_token: jwt,
      subject_token_type: subjectTokenType,
      audience,
      resource,
      scope,
      requested_token_type: requestedTokenType,
      ...extraParams,
    }),
    hints: {
      rejectedHint:
        'The server does not trust this AWS JWT. Its trust rule must name the AWS account’s issuer (iss), accept aws.audience (aud) and the role ARN (sub), and accept the algorithm (aws.signingAlgorithm, RS256 by default).',
      targetHint:
        'The server will not issue a token for the requested audience or resource to this subject: check the audience and resource options against what the server allows.',
      clientHint: clientAuth
        ? 'Check clientAuth: clientId, clientSecret, and a method the client is registered for (client_secret_basic or client_secret_post).'
        : 'The server wants the client to authenticate: pass clientAuth { method, clientId, clientSecret }.',
      scopeHint: 'Check scope: ask only for scopes the server grants to this subject.',
      ...preset.hints,
    },
  };
  return formGrantProvider(grant, endpoint, subject, settings);
}

/** A token type option: one of `names` (turned into its URN) or an absolute URI. */
export function tokenTypeUri(name: string, value: unknown, names: readonly string[]): string {
  if (typeof value === 'string' && names.includes(value)) return `${TOKEN_TYPE_PREFIX}${value}`;
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\S+$/i.test(value)) return value;
  throw invalidConfig(
    'oidc',
    `${name} must be one of ${names.join(', ')} or a token type URI, got ${showValue(value)}`,
  );
}
