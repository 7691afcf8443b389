import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { isoSeconds, type LabContext } from '../context.js';
import {
  type EmulatorRequest,
  type EmulatorResponse,
  json,
  type Route,
  retryAfter,
  type ServiceHandler,
} from '../http-server.js';
import { audiences, checkLifetime, checkSignature, decodeUnverified } from '../keys.js';
import type { EntraApp } from '../types.js';

// RFC 7523 client assertion type, which MSAL sends (PROTOCOLS §3.2).
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
// Entra documents RS256 as the only tested algorithm for federated assertions (PROTOCOLS §3.1).
const SUPPORTED_ASSERTION_ALG = 'RS256';
// Entra's token validation allows five minutes of clock skew.
const ASSERTION_SKEW_SECONDS = 300;
const ACCESS_TOKEN_LIFETIME_SECONDS = 3599;
const FIC_DOC = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';
const ERROR_URI = 'https://login.microsoftonline.com/error';

/** Entra's error body (PROTOCOLS §3.4): `AADSTS<code>: <text> Trace ID: … Correlation ID: … Timestamp: …`. */
function entraError(
  ctx: LabContext,
  request: EmulatorRequest,
  status: number,
  error: string,
  code: number,
  description: string,
  headers: Record<string, string> = {},
): EmulatorResponse {
  const timestamp = ctx.clock
    .now()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
  const correlationId =
    request.headers['client-request-id'] ?? request.url.searchParams.get('client-request-id') ?? randomUUID();
  const body = {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${request.requestId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: request.requestId,
    correlation_id: correlationId,
    error_uri: `${ERROR_URI}?code=${code}`,
  };
  return { ...json(status, body, { 'x-ms-request-id': request.requestId, ...headers }), errorCode: `AADSTS${code}` };
}

const missingParameter = (ctx: LabContext, request: EmulatorRequest, name: string) =>
  entraError(
    ctx,
    request,
    400,
    'invalid_request',
    900144,
    `The request body must contain the following parameter: '${name}'.`,
  );

/** Authority metadata, instance discovery, keys, and the token endpoint with federated identity credentials. */
export function createEntraService(ctx: LabContext): ServiceHandler {
  const issuerOf = (tenantId: string) => `${ctx.origins.entra}/${tenantId}/v2.0`;
  const unknownTenant = (request: EmulatorRequest, tenant: string) =>
    entraError(
      ctx,
      request,
      400,
      'invalid_tenant',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    );

  const route = (request: EmulatorRequest): Route | undefined => {
    const segments = request.url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const [tenant, ...rest] = segments;
    const path = rest.join('/');
    if (tenant === undefined) return undefined;
    if (request.method === 'GET' && path === 'discovery/instance') {
      return { endpoint: 'entra:instance-discovery', handle: (req) => instanceDiscovery(ctx, req) };
    }
    if (request.method === 'GET' && path === 'v2.0/.well-known/openid-configuration') {
      return {
        endpoint: 'entra:openid-configuration',
        handle: (req) => {
          const known = ctx.trust.entraTenantId(tenant);
          const generic = tenant === 'common' || tenant === 'organizations';
          if (!known && !generic) return unknownTenant(req, tenant);
          return json(200, authorityMetadata(ctx.origins.entra, known ?? tenant, generic ? '{tenantid}' : known!));
        },
      };
    }
    if (request.method === 'GET' && path === 'discovery/v2.0/keys') {
      return { endpoint: 'entra:keys', handle: () => json(200, { keys: [{ ...ctx.entraKey.jwk }] }) };
    }
    if (request.method === 'POST' && path === 'oauth2/v2.0/token') {
      return { endpoint: 'entra:token', handle: (req) => token(ctx, req, tenant, issuerOf, unknownTenant) };
    }
    return undefined;
  };

  return {
    name: 'entra',
    route,
    failure(failure, _route, request) {
      const status = failure.kind === 'throttle' ? (failure.status ?? 429) : (failure.status ?? 503);
      return entraError(
        ctx,
        request,
        status,
        'temporarily_unavailable',
        90033,
        'A transient error has occurred. Please try again.',
        retryAfter(failure),
      );
    },
    notFound: () =>
      json(404, { error: 'not_found', error_description: 'The emulator does not serve this Entra ID path.' }),
  };
}

function instanceDiscovery(ctx: LabContext, request: EmulatorRequest): EmulatorResponse {
  const host = new URL(ctx.origins.entra).host;
  let tenant = 'common';
  const authorizationEndpoint = request.url.searchParams.get('authorization_endpoint');
  if (authorizationEndpoint) {
    try {
      tenant = new URL(authorizationEndpoint).pathname.split('/').filter(Boolean)[0] ?? tenant;
    } catch {
      // an unreadable authorization_endpoint: answer for `common`
    }
  }
  return json(200, {
    tenant_discovery_endpoint: `${ctx.origins.entra}/${tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  });
}

function authorityMetadata(origin: string, tenant: string, issuerTenant: string) {
  const base = `${origin}/${tenant}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${origin}/${issuerTenant}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${origin}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'azp', 'ver'],
    tenant_region_scope: 'NA',
    cloud_instance_name: new URL(origin).host,
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

async function token(
  ctx: LabContext,
  request: EmulatorRequest,
  tenant: string,
  issuerOf: (tenantId: string) => string,
  unknownTenant: (request: EmulatorRequest, tenant: string) => EmulatorResponse,
): Promise<EmulatorResponse> {
  const tenantId = ctx.trust.entraTenantId(tenant);
  if (!tenantId) return unknownTenant(request, tenant);
  const form = request.form();
  const grantType = form.get('grant_type');
  if (!grantType) return missingParameter(ctx, request, 'grant_type');
  if (grantType !== 'client_credentials') {
    return entraError(
      ctx,
      request,
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    );
  }
  const clientId = form.get('client_id');
  if (!clientId) return missingParameter(ctx, request, 'client_id');
  const scope = form.get('scope');
  if (!scope) return missingParameter(ctx, request, 'scope');
  const resourceScopes = scope
    .split(/\s+/)
    .filter((s) => s && !['openid', 'profile', 'offline_access', 'email'].includes(s));
  if (resourceScopes.length !== 1 || !resourceScopes[0]!.endsWith('/.default')) {
    return entraError(
      ctx,
      request,
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const resource = resourceScopes[0]!.slice(0, -'/.default'.length);
  const assertion = form.get('client_assertion');
  if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE || !assertion) {
    return entraError(
      ctx,
      request,
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  const decoded = decodeUnverified(assertion);
  if (!decoded) return entraError(ctx, request, 400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  const alg = String(decoded.header.alg);
  if (alg !== SUPPORTED_ASSERTION_ALG) {
    return entraError(
      ctx,
      request,
      400,
      'invalid_request',
      5002738,
      `Invalid JWT token. '${alg}' is not a supported signature algorithm.`,
    );
  }
  const app = ctx.trust.entraApp(tenantId, clientId);
  if (!app) {
    return entraError(
      ctx,
      request,
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  const { payload } = decoded;
  const iss = String(payload.iss ?? '');
  const sub = String(payload.sub ?? '');
  const auds = audiences(payload);
  const ficError = matchFederatedCredential(ctx, request, app, iss, sub, auds);
  if (ficError) return ficError;

  const key = iss === ctx.issuer ? ctx.keys.find(decoded.header.kid) : undefined;
  const signature = await checkSignature(assertion, key);
  if (signature !== 'ok') {
    const reason =
      signature === 'unknown-key'
        ? 'The key was not found'
        : 'The provided signature value did not match the expected signature value';
    return entraError(
      ctx,
      request,
      401,
      'invalid_client',
      700027,
      `Client assertion contains an invalid signature. [Reason - ${reason}.]`,
    );
  }
  const now = ctx.clock.seconds();
  if (checkLifetime(payload, now, ASSERTION_SKEW_SECONDS) !== 'ok') {
    const from = typeof payload.nbf === 'number' ? payload.nbf : payload.iat;
    const describe = (s: unknown) => (typeof s === 'number' ? isoSeconds(s * 1000) : 'unknown');
    return entraError(
      ctx,
      request,
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${isoSeconds(now * 1000)}, assertion valid from ${describe(from)}, expiry time of assertion ${describe(payload.exp)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
    );
  }

  const accessToken = await new SignJWT({
    aud: resource,
    iss: issuerOf(tenantId),
    azp: app.clientId,
    azpacr: '2',
    idtyp: 'app',
    oid: app.objectId,
    sub: app.objectId,
    tid: tenantId,
    uti: randomUUID(),
    ver: '2.0',
  })
    .setProtectedHeader({ alg: 'RS256', kid: ctx.entraKey.kid, typ: 'JWT' })
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ACCESS_TOKEN_LIFETIME_SECONDS)
    .sign(ctx.entraKey.privateKey);
  return json(
    200,
    {
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
      ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
      access_token: accessToken,
    },
    { 'x-ms-request-id': request.requestId },
  );
}

/** Exact, case-sensitive matching on issuer, then subject, then audience, like Entra's own error codes suggest. */
function matchFederatedCredential(
  ctx: LabContext,
  request: EmulatorRequest,
  app: EntraApp,
  iss: string,
  sub: string,
  auds: string[],
): EmulatorResponse | undefined {
  const credentials = app.federatedCredentials;
  const noMatch = () =>
    entraError(
      ctx,
      request,
      400,
      'invalid_request',
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${sub}'. Assertion Audience: '${auds.join(',')}'. ${FIC_DOC}`,
    );
  if (credentials.length === 0) return noMatch();
  const byIssuer = credentials.filter((c) => c.issuer === iss);
  if (byIssuer.length === 0) {
    return entraError(
      ctx,
      request,
      401,
      'invalid_client',
      700211,
      `No matching federated identity record found for presented assertion issuer '${iss}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${FIC_DOC}`,
    );
  }
  const bySubject = byIssuer.filter((c) => c.subject === sub);
  if (bySubject.length === 0) {
    return entraError(
      ctx,
      request,
      401,
      'invalid_client',
      700213,
      `No matching federated identity record found for presented assertion subject '${sub}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${FIC_DOC}`,
    );
  }
  const byAudience = bySubject.filter((c) => c.audiences.some((a) => auds.includes(a)));
  if (byAudience.length === 0) {
    return entraError(
      ctx,
      request,
      401,
      'invalid_client',
      700212,
      `No matching federated identity record found for presented assertion audience '${auds.join(',')}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${FIC_DOC}`,
    );
  }
  // Right after a credential is created Entra does not find it yet (AADSTS70021 for a few minutes).
  if (!byAudience.some((c) => c.activeFrom.getTime() <= ctx.clock.ms())) return noMatch();
  return undefined;
}

export type EntraAccessTokenCheck =
  | { ok: true; tenantId: string; clientId: string; app: EntraApp | undefined }
  | { ok: false; reason: 'malformed' | 'signature' | 'issuer' | 'audience' | 'expired' };

/** Verifies an access token this emulator's Entra issued, for `resource` in `tenantId`. */
export async function checkEntraAccessToken(
  ctx: LabContext,
  token: string,
  resource: string,
  tenantId: string,
): Promise<EntraAccessTokenCheck> {
  const decoded = decodeUnverified(token);
  if (!decoded) return { ok: false, reason: 'malformed' };
  const key = decoded.header.kid === ctx.entraKey.kid ? ctx.entraKey : undefined;
  if ((await checkSignature(token, key)) !== 'ok') return { ok: false, reason: 'signature' };
  const { payload } = decoded;
  if (payload.iss !== `${ctx.origins.entra}/${tenantId}/v2.0`) return { ok: false, reason: 'issuer' };
  const accepted = [resource, `${resource}/`];
  if (!audiences(payload).some((a) => accepted.includes(a))) return { ok: false, reason: 'audience' };
  if (checkLifetime(payload, ctx.clock.seconds(), 0) !== 'ok') return { ok: false, reason: 'expired' };
  const clientId = String(payload.azp ?? '');
  return { ok: true, tenantId, clientId, app: ctx.trust.entraApp(tenantId, clientId) };
}
