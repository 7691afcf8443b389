import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { LabContext } from '../context.js';
import {
  type EmulatorRequest,
  type EmulatorResponse,
  json,
  type Route,
  retryAfter,
  type ServiceHandler,
} from '../http-server.js';
import { audiences, checkLifetime, checkSignature, decodeUnverified } from '../keys.js';
import type { OidcGrant, OidcTrustRule } from '../types.js';

// RFC 8693 §2.1 / §3 and RFC 7523 §2.1 names.
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const JWT_TOKEN_TYPES = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const SKEW_SECONDS = 60;
const DEFAULT_LIFETIME_SECONDS = 3600;

/** RFC 6749 §5.2 error (401 with a Basic challenge for `invalid_client` when the client used HTTP Basic). */
function oauthError(
  error: string,
  description: string,
  options: { status?: number; basic?: boolean } = {},
): EmulatorResponse {
  const status = options.status ?? (error === 'invalid_client' ? 401 : 400);
  return {
    ...json(
      status,
      { error, error_description: description },
      options.basic ? { 'www-authenticate': 'Basic realm="keyless-emulator"' } : {},
    ),
    errorCode: error,
  };
}

interface ClientCredentials {
  id?: string;
  secret?: string;
  basic: boolean;
}

function clientCredentials(request: EmulatorRequest): ClientCredentials | 'conflict' | 'malformed' {
  const form = request.form();
  const header = request.headers.authorization;
  const inBody = form.has('client_id') || form.has('client_secret');
  if (header?.toLowerCase().startsWith('basic ')) {
    if (inBody && form.has('client_secret')) return 'conflict';
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'malformed';
    // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)), basic: true };
  }
  return {
    ...(form.get('client_id') ? { id: form.get('client_id')! } : {}),
    ...(form.get('client_secret') ? { secret: form.get('client_secret')! } : {}),
    basic: false,
  };
}

/** An OAuth 2.0 authorization server with RFC 8693 token exchange and RFC 7523 JWT bearer grants. */
export function createOidcService(ctx: LabContext): ServiceHandler {
  const issuer = () => ctx.origins.oidc;
  const tokenEndpoint = () => `${issuer()}/oauth2/token`;
  const metadata = () => ({
    issuer: issuer(),
    token_endpoint: tokenEndpoint(),
    introspection_endpoint: `${issuer()}/oauth2/introspect`,
    jwks_uri: `${issuer()}/.well-known/jwks.json`,
    grant_types_supported: [TOKEN_EXCHANGE, JWT_BEARER],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    introspection_endpoint_auth_methods_supported: ['none'],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  });

  const token = async (request: EmulatorRequest): Promise<EmulatorResponse> => {
    const form = request.form();
    const grantType = form.get('grant_type');
    if (!grantType) return oauthError('invalid_request', 'Missing required parameter "grant_type".');
    const grant: OidcGrant | undefined =
      grantType === TOKEN_EXCHANGE ? 'token-exchange' : grantType === JWT_BEARER ? 'jwt-bearer' : undefined;
    if (!grant) return oauthError('unsupported_grant_type', `The grant type "${grantType}" is not supported.`);
    const client = clientCredentials(request);
    if (client === 'conflict')
      return oauthError('invalid_request', 'The client used more than one authentication method.');
    if (client === 'malformed') return oauthError('invalid_client', 'Client authentication failed.', { basic: true });

    const jwt = form.get(grant === 'token-exchange' ? 'subject_token' : 'assertion');
    if (!jwt) {
      return oauthError(
        'invalid_request',
        `Missing required parameter "${grant === 'token-exchange' ? 'subject_token' : 'assertion'}".`,
      );
    }
    let issuedTokenType = ACCESS_TOKEN_TYPE;
    if (grant === 'token-exchange') {
      const subjectTokenType = form.get('subject_token_type');
      if (!subjectTokenType) return oauthError('invalid_request', 'Missing required parameter "subject_token_type".');
      if (!JWT_TOKEN_TYPES.includes(subjectTokenType)) {
        return oauthError(
          'invalid_request',
          `Unsupported subject_token_type "${subjectTokenType}": send ${JWT_TOKEN_TYPES.join(' or ')}.`,
        );
      }
      const requested = form.get('requested_token_type');
      if (requested !== null && requested !== ACCESS_TOKEN_TYPE && requested !== JWT_TOKEN_TYPE) {
        return oauthError('invalid_request', `Unsupported requested_token_type "${requested}".`);
      }
      if (requested === JWT_TOKEN_TYPE) issuedTokenType = JWT_TOKEN_TYPE;
    }
    const decoded = decodeUnverified(jwt);
    if (!decoded) return oauthError('invalid_grant', 'The presented token is not a JWT.');
    const { payload, header } = decoded;
    const iss = String(payload.iss ?? '');
    const sub = String(payload.sub ?? '');
    const auds = audiences(payload);

    const rules = ctx.trust.oidc.listRules().filter((r) => r.grants?.includes(grant));
    const byIssuer = rules.filter((r) => r.issuer === iss);
    if (byIssuer.length === 0)
      return oauthError('invalid_grant', `No trust rule accepts tokens from issuer "${iss}" for this grant.`);
    const bySubject = byIssuer.filter((r) => r.subject === '*' || r.subject === sub);
    if (bySubject.length === 0)
      return oauthError('invalid_grant', `No trust rule for issuer "${iss}" accepts subject "${sub}".`);
    // RFC 7523 §3: the assertion's audience identifies the server, by its issuer or its token endpoint.
    const accepts = (r: OidcTrustRule) =>
      auds.includes(r.audience) ||
      (grant === 'jwt-bearer' && r.audience === issuer() && auds.includes(tokenEndpoint()));
    const rule = bySubject.find(accepts);
    if (!rule) {
      return oauthError(
        'invalid_grant',
        `The token audience [${auds.join(', ')}] is not accepted; expected "${bySubject.map((r) => r.audience).join('" or "')}".`,
      );
    }
    const key = iss === ctx.issuer ? ctx.keys.find(header.kid) : undefined;
    if ((await checkSignature(jwt, key)) !== 'ok')
      return oauthError('invalid_grant', 'The token signature could not be verified.');
    const now = ctx.clock.seconds();
    if (checkLifetime(payload, now, SKEW_SECONDS) !== 'ok')
      return oauthError('invalid_grant', 'The token has expired or is not yet valid.');

    if (rule.client) {
      if (client.id !== undefined && client.id !== rule.client.id) {
        return oauthError('invalid_client', 'Client authentication failed.', { basic: client.basic });
      }
      if (rule.client.secret !== undefined && (client.id !== rule.client.id || client.secret !== rule.client.secret)) {
        return oauthError('invalid_client', 'Client authentication failed.', { basic: client.basic });
      }
    }
    const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
    const notAllowed = rule.scopes ? scopes.find((s) => !rule.scopes?.includes(s)) : undefined;
    if (notAllowed !== undefined) return oauthError('invalid_scope', `The scope "${notAllowed}" is not allowed.`);
    const targets = [...form.getAll('audience'), ...form.getAll('resource')];
    const badTarget = rule.targets ? targets.find((t) => !rule.targets?.includes(t)) : undefined;
    if (badTarget !== undefined)
      return oauthError('invalid_target', `The requested audience or resource "${badTarget}" is not allowed.`);

    const lifetime = Math.max(
      1,
      Math.min(rule.tokenLifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS, Number(payload.exp) - now),
    );
    const clientId = client.id ?? rule.client?.id;
    const accessToken = await new SignJWT({
      ...(scopes.length ? { scope: scopes.join(' ') } : {}),
      ...(clientId ? { client_id: clientId } : {}),
    })
      .setProtectedHeader({ alg: 'RS256', kid: ctx.oidcKey.kid, typ: 'at+jwt' })
      .setIssuer(issuer())
      .setSubject(sub)
      .setAudience(targets.length === 0 ? issuer() : targets.length === 1 ? targets[0]! : targets)
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .setJti(randomUUID())
      .sign(ctx.oidcKey.privateKey);
    return json(200, {
      access_token: accessToken,
      ...(grant === 'token-exchange' ? { issued_token_type: issuedTokenType } : {}),
      token_type: issuedTokenType === JWT_TOKEN_TYPE ? 'N_A' : 'Bearer',
      expires_in: lifetime,
      ...(scopes.length ? { scope: scopes.join(' ') } : {}),
    });
  };

  const introspect = async (request: EmulatorRequest): Promise<EmulatorResponse> => {
    const presented = request.form().get('token');
    if (!presented) return oauthError('invalid_request', 'Missing required parameter "token".');
    const decoded = decodeUnverified(presented);
    const key = decoded?.header.kid === ctx.oidcKey.kid ? ctx.oidcKey : undefined;
    if (
      !decoded ||
      decoded.payload.iss !== issuer() ||
      (await checkSignature(presented, key)) !== 'ok' ||
      checkLifetime(decoded.payload, ctx.clock.seconds(), 0) !== 'ok'
    ) {
      return json(200, { active: false });
    }
    const { iss, sub, aud, exp, iat, scope, client_id } = decoded.payload;
    return json(200, {
      active: true,
      iss,
      sub,
      aud,
      exp,
      iat,
      token_type: 'Bearer',
      ...(scope ? { scope } : {}),
      ...(client_id ? { client_id } : {}),
    });
  };

  const route = (request: EmulatorRequest): Route | undefined => {
    const path = request.url.pathname;
    if (
      request.method === 'GET' &&
      (path === '/.well-known/openid-configuration' || path === '/.well-known/oauth-authorization-server')
    ) {
      return { endpoint: 'oidc:discovery', handle: () => json(200, metadata()) };
    }
    if (request.method === 'GET' && path === '/.well-known/jwks.json') {
      return { endpoint: 'oidc:jwks', handle: () => json(200, { keys: [{ ...ctx.oidcKey.jwk }] }) };
    }
    if (request.method === 'POST' && path === '/oauth2/token') return { endpoint: 'oidc:token', handle: token };
    if (request.method === 'POST' && path === '/oauth2/introspect')
      return { endpoint: 'oidc:introspect', handle: introspect };
    return undefined;
  };

  return {
    name: 'oidc',
    route,
    failure(failure) {
      const status = failure.kind === 'throttle' ? (failure.status ?? 429) : (failure.status ?? 503);
      return {
        ...json(
          status,
          {
            error: 'temporarily_unavailable',
            error_description: status === 429 ? 'Too many requests.' : 'The server is temporarily unavailable.',
          },
          retryAfter(failure),
        ),
        errorCode: 'temporarily_unavailable',
      };
    },
    notFound: () => json(404, { error: 'not_found', error_description: 'No such endpoint.' }),
  };
}
