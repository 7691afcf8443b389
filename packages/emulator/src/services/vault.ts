import { isoSeconds, type LabContext, opaqueToken, TokenStore } from '../context.js';
import {
  bearerToken,
  type EmulatorRequest,
  type EmulatorResponse,
  json,
  type Route,
  retryAfter,
  type ServiceHandler,
} from '../http-server.js';
import { audiences, checkLifetime, checkSignature, decodeUnverified } from '../keys.js';
import { derivedUuid } from '../trust-rules.js';
import type { VaultRole } from '../types.js';

const LOGIN_PATH = /^\/v1\/auth\/(.+)\/login$/;
// Vault's default clock-skew leeway for the JWT auth method.
const LEEWAY_SECONDS = 60;
const VERSION = '1.20.0+keyless-emulator';

interface VaultToken {
  expiresAt: number;
  issuedAt: number;
  accessor: string;
  entityId: string;
  displayName: string;
  mount: string;
  role: string;
  policies: string[];
  ttl: number;
}

/** `{ errors: [...] }`, Vault's error body. */
function vaultError(status: number, message: string): EmulatorResponse {
  return { ...json(status, { errors: [message] }), errorCode: message };
}

/** Reads a claim by name, or by JSON pointer (RFC 6901) when it starts with `/`, as Vault's bound_claims do. */
function claimAt(payload: Record<string, unknown>, name: string): unknown {
  if (!name.startsWith('/')) return payload[name];
  let value: unknown = payload;
  for (const part of name.slice(1).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/** The Vault JWT auth method's login, token lookup and health endpoints. */
export function createVaultService(ctx: LabContext): ServiceHandler {
  const tokens = new TokenStore<VaultToken>(ctx.clock);

  const login =
    (mount: string) =>
    async (request: EmulatorRequest): Promise<EmulatorResponse> => {
      const mountConfig = ctx.trust.vaultMount(mount);
      if (!mountConfig) return vaultError(404, `no handler for route "auth/${mount}/login". route entry not found.`);
      const body = (request.json() ?? {}) as { role?: unknown; jwt?: unknown };
      if (typeof body.jwt !== 'string' || body.jwt.length === 0) return vaultError(400, 'missing token');
      if (typeof body.role !== 'string' || body.role.length === 0) return vaultError(400, 'missing role');
      const role = ctx.trust.vaultRole(mount, body.role);
      if (!role) return vaultError(400, `role "${body.role}" could not be found`);
      const decoded = decodeUnverified(body.jwt);
      if (!decoded) return vaultError(400, 'error validating token: malformed JWT');
      const { header, payload } = decoded;
      if (!mountConfig.supportedAlgs.includes(String(header.alg))) {
        return vaultError(400, `error validating token: unsupported signing algorithm: ${String(header.alg)}`);
      }
      const key = payload.iss === ctx.issuer ? ctx.keys.find(header.kid) : undefined;
      if ((await checkSignature(body.jwt, key)) !== 'ok') {
        return vaultError(
          400,
          'error validating token: failed to verify signature: failed to verify id token signature',
        );
      }
      if (mountConfig.boundIssuer && payload.iss !== mountConfig.boundIssuer) {
        return vaultError(400, 'error validating token: invalid issuer (iss) claim');
      }
      const lifetime = checkLifetime(payload, ctx.clock.seconds(), LEEWAY_SECONDS);
      if (lifetime === 'expired' || lifetime === 'missing-exp') {
        return vaultError(400, 'error validating token: invalid expiration time (exp) claim: token is expired');
      }
      if (lifetime === 'not-yet-valid')
        return vaultError(400, 'error validating token: invalid not before (nbf) claim: token not yet valid');
      const auds = audiences(payload);
      if (role.boundAudiences.length === 0 && auds.length > 0) {
        return vaultError(400, 'audience claim found in JWT but no audiences bound to the role');
      }
      if (role.boundAudiences.length > 0 && !auds.some((a) => role.boundAudiences.includes(a))) {
        return vaultError(
          400,
          'error validating token: invalid audience (aud) claim: audience claim does not match any expected audience',
        );
      }
      if (role.boundSubject !== undefined && payload.sub !== role.boundSubject) {
        return vaultError(400, 'sub claim does not match bound subject');
      }
      for (const [claim, allowed] of Object.entries(role.boundClaims)) {
        const value = claimAt(payload, claim);
        if (value === undefined) return vaultError(400, `claim "${claim}" is missing`);
        const values = Array.isArray(allowed) ? allowed : [allowed];
        if (!values.includes(String(value)))
          return vaultError(400, `claim "${claim}" does not match any associated bound claim values`);
      }
      const user = claimAt(payload, role.userClaim);
      if (typeof user !== 'string' || user.length === 0)
        return vaultError(400, `claim "${role.userClaim}" not found in token`);
      return issue(request, mount, role, user);
    };

  const issue = (request: EmulatorRequest, mount: string, role: VaultRole, user: string): EmulatorResponse => {
    const clientToken = opaqueToken('hvs.', 18);
    const policies = ['default', ...role.tokenPolicies.filter((p) => p !== 'default')].sort();
    const now = ctx.clock.ms();
    const record: VaultToken = {
      expiresAt: now + role.tokenTtlSeconds * 1000,
      issuedAt: now,
      accessor: opaqueToken('', 18),
      entityId: derivedUuid(`vault-entity/${mount}/${user}`),
      displayName: `${mount}-${user}`,
      mount,
      role: role.name,
      policies,
      ttl: role.tokenTtlSeconds,
    };
    tokens.add(clientToken, record);
    return json(200, {
      request_id: request.requestId,
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: null,
      wrap_info: null,
      warnings: null,
      auth: {
        client_token: clientToken,
        accessor: record.accessor,
        policies,
        token_policies: policies,
        metadata: { role: role.name },
        lease_duration: role.tokenTtlSeconds,
        renewable: true,
        entity_id: record.entityId,
        token_type: 'service',
        orphan: true,
        mfa_requirement: null,
        num_uses: 0,
      },
      mount_type: '',
    });
  };

  const lookupSelf = (request: EmulatorRequest): EmulatorResponse => {
    const presented = request.headers['x-vault-token'] ?? bearerToken(request);
    const record = tokens.get(presented);
    if (!record || record === 'expired' || presented === undefined) return vaultError(403, 'permission denied');
    return json(200, {
      request_id: request.requestId,
      data: {
        accessor: record.accessor,
        creation_time: Math.floor(record.issuedAt / 1000),
        creation_ttl: record.ttl,
        display_name: record.displayName,
        entity_id: record.entityId,
        expire_time: isoSeconds(record.expiresAt),
        explicit_max_ttl: 0,
        id: presented,
        issue_time: isoSeconds(record.issuedAt),
        meta: { role: record.role },
        num_uses: 0,
        orphan: true,
        path: `auth/${record.mount}/login`,
        policies: record.policies,
        renewable: true,
        ttl: Math.max(0, Math.floor((record.expiresAt - ctx.clock.ms()) / 1000)),
        type: 'service',
      },
    });
  };

  const route = (request: EmulatorRequest): Route | undefined => {
    const path = request.url.pathname;
    const loginMatch = LOGIN_PATH.exec(path);
    if ((request.method === 'POST' || request.method === 'PUT') && loginMatch) {
      return { endpoint: 'vault:login', handle: login(loginMatch[1]!.replace(/\/+$/, '')) };
    }
    if ((request.method === 'GET' || request.method === 'POST') && path === '/v1/auth/token/lookup-self') {
      return { endpoint: 'vault:lookup-self', handle: lookupSelf };
    }
    if ((request.method === 'GET' || request.method === 'HEAD') && path === '/v1/sys/health') {
      return {
        endpoint: 'vault:health',
        handle: () =>
          json(200, {
            initialized: true,
            sealed: false,
            standby: false,
            performance_standby: false,
            replication_performance_mode: 'disabled',
            replication_dr_mode: 'disabled',
            server_time_utc: ctx.clock.seconds(),
            version: VERSION,
            cluster_name: 'keyless-emulator',
            cluster_id: derivedUuid('vault-cluster'),
          }),
      };
    }
    return undefined;
  };

  return {
    name: 'vault',
    route,
    failure(failure, _route, request) {
      if (failure.kind === 'throttle') {
        return {
          ...vaultError(
            failure.status ?? 429,
            `request path "${request.url.pathname.replace(/^\/v1\//, '')}": rate limit quota exceeded`,
          ),
          headers: { 'content-type': 'application/json', ...retryAfter(failure) },
        };
      }
      return failure.status === 503 || failure.status === undefined
        ? vaultError(503, 'Vault is sealed')
        : vaultError(failure.status, 'internal error');
    },
    notFound: (request) =>
      vaultError(404, `no handler for route "${request.url.pathname.replace(/^\/v1\//, '')}". route entry not found.`),
  };
}
