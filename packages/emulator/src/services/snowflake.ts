import { randomUUID } from 'node:crypto';
import { type LabContext, opaqueToken, TokenStore } from '../context.js';
import { EMULATOR_DEFAULTS } from '../defaults.js';
import {
  type EmulatorRequest,
  type EmulatorResponse,
  json,
  type Route,
  retryAfter,
  type ServiceHandler,
} from '../http-server.js';
import { audiences, checkLifetime, checkSignature, decodeUnverified } from '../keys.js';
import type { SnowflakeUser } from '../types.js';

// Codes snowflake-sdk itself knows (lib/constants/gs_errors.js) and one from Snowflake's federated-auth error table.
const SESSION_GONE = '390111';
const SESSION_EXPIRED = '390112';
const MASTER_TOKEN_EXPIRED = '390114';
const AUTHENTICATOR_NOT_SUPPORTED = '390139';
// Snowflake does not publish its workload identity failure codes: these two are the emulator's own.
const WIF_NO_MATCHING_USER = '390430';
const WIF_TOKEN_INVALID = '390431';
const SQL_COMPILATION_ERROR = '001003';
const DEFAULT_WIF_AUDIENCE = 'snowflakecomputing.com';
const SESSION_VALIDITY_SECONDS = 3600;
const MASTER_VALIDITY_SECONDS = 4 * 3600;
const SKEW_SECONDS = 60;
const SERVER_VERSION = '9.40.0';
const SIGV4_CREDENTIAL = /Credential=([^/,\s]+)\//;

interface Session {
  expiresAt: number;
  user: SnowflakeUser;
  role: string | null;
  warehouse: string | null;
  database: string | null;
  schema: string | null;
  sessionId: number;
  masterToken: string;
}

interface MasterToken {
  expiresAt: number;
  sessionToken: string;
}

type Value = { type: 'text' | 'fixed'; value: string | null };

/** Snowflake's login, query and session endpoints as snowflake-sdk calls them, with WORKLOAD_IDENTITY login. */
export function createSnowflakeService(ctx: LabContext): ServiceHandler {
  const sessions = new TokenStore<Session>(ctx.clock);
  const masters = new TokenStore<MasterToken>(ctx.clock);
  // Sessions by master token, kept past the session token's expiry so that a renewal can find them.
  const sessionsByMaster = new Map<string, Session>();
  let nextSessionId = 1_000_000_001;

  const ok = (data: unknown): EmulatorResponse => json(200, { data, code: null, message: null, success: true });
  const fail = (code: string, message: string, data: Record<string, unknown> | null = null): EmulatorResponse => ({
    ...json(200, { data, code, message, success: false }),
    errorCode: code,
  });
  const loginFailure = (code: string, reason: string) =>
    fail(code, `Workload identity authentication failed: ${reason} [${randomUUID()}]`, {
      nextAction: 'RETRY_LOGIN',
      authnMethod: 'WORKLOAD_IDENTITY',
      signInOptions: {},
    });

  const sessionFrom = (request: EmulatorRequest): Session | EmulatorResponse => {
    const token = /^Snowflake Token="([^"]+)"$/.exec(request.headers.authorization ?? '')?.[1];
    const session = sessions.get(token);
    if (session === 'expired') return fail(SESSION_EXPIRED, 'Session token expired');
    if (!session) return fail(SESSION_GONE, 'Session no longer exists.  New login required to access the service.');
    return session;
  };

  const login = async (request: EmulatorRequest): Promise<EmulatorResponse> => {
    const data = (request.json() as { data?: Record<string, unknown> } | undefined)?.data;
    if (typeof data !== 'object' || data === null)
      return { status: 400, body: 'Bad Request', errorCode: 'bad request' };
    const account = String(data.ACCOUNT_NAME ?? '');
    if (account.toLowerCase() !== EMULATOR_DEFAULTS.snowflake.account.toLowerCase()) {
      return loginFailure(WIF_NO_MATCHING_USER, `account '${account}' does not exist in the emulator.`);
    }
    if (data.AUTHENTICATOR !== 'WORKLOAD_IDENTITY') {
      return fail(
        AUTHENTICATOR_NOT_SUPPORTED,
        'The specified authenticator is not accepted by your Snowflake account configuration.  Please contact your local system administrator to get the correct URL to use.',
      );
    }
    const provider = String(data.PROVIDER ?? '');
    const token = typeof data.TOKEN === 'string' ? data.TOKEN : '';
    if (!token) return loginFailure(WIF_TOKEN_INVALID, 'the request carries no TOKEN.');
    const loginName = typeof data.LOGIN_NAME === 'string' ? data.LOGIN_NAME.toUpperCase() : undefined;
    const users = ctx.trust.snowflake
      .listUsers()
      .filter((u) => !u.disabled && (loginName === undefined || u.name === loginName));
    let user: SnowflakeUser | EmulatorResponse;
    if (provider === 'OIDC') user = await oidcUser(token, users);
    else if (provider === 'AWS')
      user = decodeUnverified(token) ? await awsJwtUser(token, users) : awsAttestationUser(token, users);
    else
      return loginFailure(
        WIF_NO_MATCHING_USER,
        `PROVIDER '${provider}' is not supported by the emulator (OIDC or AWS).`,
      );
    if ('status' in user) return user;

    const params = request.url.searchParams;
    const sessionToken = opaqueToken('ver:1-hint:emulator-ETMsDgAAA');
    const masterToken = opaqueToken('ver:1-hint:emulator-master-ETMsDgAAA');
    const sessionId = nextSessionId++;
    const session: Session = {
      expiresAt: ctx.clock.ms() + SESSION_VALIDITY_SECONDS * 1000,
      user,
      role: params.get('roleName') ?? user.defaultRole ?? null,
      warehouse: params.get('warehouse') ?? user.defaultWarehouse ?? null,
      database: params.get('databaseName'),
      schema: params.get('schemaName'),
      sessionId,
      masterToken,
    };
    sessions.add(sessionToken, session);
    sessionsByMaster.set(masterToken, session);
    masters.add(masterToken, { expiresAt: ctx.clock.ms() + MASTER_VALIDITY_SECONDS * 1000, sessionToken });
    return ok({
      masterToken,
      token: sessionToken,
      validityInSeconds: SESSION_VALIDITY_SECONDS,
      masterValidityInSeconds: MASTER_VALIDITY_SECONDS,
      displayUserName: user.name,
      serverVersion: SERVER_VERSION,
      firstLogin: false,
      remMeToken: null,
      remMeValidityInSeconds: 0,
      healthCheckInterval: 45,
      newClientForUpgrade: null,
      sessionId,
      parameters: sessionParameters(),
      sessionInfo: {
        databaseName: session.database,
        schemaName: session.schema,
        warehouseName: session.warehouse,
        roleName: session.role,
      },
      idToken: null,
      idTokenValidityInSeconds: 0,
      responseData: null,
      mfaToken: null,
      mfaTokenValidityInSeconds: 0,
    });
  };

  /** Verifies an AWS-issued JWT the way a Snowflake WIF login does: signature, expiry, then the user's identity. */
  const verify = async (token: string): Promise<EmulatorResponse | undefined> => {
    const decoded = decodeUnverified(token);
    if (!decoded) return loginFailure(WIF_TOKEN_INVALID, 'the token is not a JWT.');
    const { header, payload } = decoded;
    const key = payload.iss === ctx.issuer ? ctx.keys.find(header.kid) : undefined;
    const signature = await checkSignature(token, key);
    if (signature !== 'ok') {
      return loginFailure(
        WIF_TOKEN_INVALID,
        signature === 'unknown-key'
          ? `no signing key of issuer '${String(payload.iss)}' matches the token.`
          : 'the token signature is invalid.',
      );
    }
    if (checkLifetime(payload, ctx.clock.seconds(), SKEW_SECONDS) !== 'ok') {
      return loginFailure(WIF_TOKEN_INVALID, 'the token has expired.');
    }
    return undefined;
  };

  const oidcUser = async (token: string, users: SnowflakeUser[]): Promise<SnowflakeUser | EmulatorResponse> => {
    const decoded = decodeUnverified(token);
    if (!decoded) return loginFailure(WIF_TOKEN_INVALID, 'the token is not a JWT.');
    const { iss, sub } = decoded.payload;
    const matches = users.filter(
      (u) =>
        u.workloadIdentity.type === 'OIDC' && u.workloadIdentity.issuer === iss && u.workloadIdentity.subject === sub,
    );
    if (matches.length === 0) {
      return loginFailure(
        WIF_NO_MATCHING_USER,
        `no user has WORKLOAD_IDENTITY TYPE = OIDC with ISSUER '${String(iss)}' and SUBJECT '${String(sub)}'.`,
      );
    }
    const auds = audiences(decoded.payload);
    const user = matches.find((u) => {
      const expected = (u.workloadIdentity.type === 'OIDC' && u.workloadIdentity.audiences) || [DEFAULT_WIF_AUDIENCE];
      return auds.some((a) => expected.includes(a));
    });
    if (!user) {
      return loginFailure(
        WIF_NO_MATCHING_USER,
        `the token audience [${auds.join(', ')}] is not in the user's OIDC_AUDIENCE_LIST (default '${DEFAULT_WIF_AUDIENCE}').`,
      );
    }
    return (await verify(token)) ?? user;
  };

  const awsJwtUser = async (token: string, users: SnowflakeUser[]): Promise<SnowflakeUser | EmulatorResponse> => {
    const decoded = decodeUnverified(token)!;
    const { iss, sub } = decoded.payload;
    const user = users.find(
      (u) => u.workloadIdentity.type === 'AWS' && u.workloadIdentity.arn === sub && u.workloadIdentity.issuer === iss,
    );
    if (!user) {
      return loginFailure(
        WIF_NO_MATCHING_USER,
        `no user has WORKLOAD_IDENTITY TYPE = AWS with ARN '${String(sub)}' and ISSUER '${String(iss)}'.`,
      );
    }
    if (!audiences(decoded.payload).includes(DEFAULT_WIF_AUDIENCE)) {
      return loginFailure(WIF_NO_MATCHING_USER, `the token audience must be '${DEFAULT_WIF_AUDIENCE}'.`);
    }
    return (await verify(token)) ?? user;
  };

  /** The default AWS method: a signed GetCallerIdentity request the service would replay; the caller is its access key. */
  const awsAttestationUser = (token: string, users: SnowflakeUser[]): SnowflakeUser | EmulatorResponse => {
    let attestation: { url?: unknown; headers?: Record<string, unknown> };
    try {
      attestation = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    } catch {
      return loginFailure(WIF_TOKEN_INVALID, 'the AWS attestation is not base64 JSON.');
    }
    const headers = Object.fromEntries(
      Object.entries(attestation.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    );
    if (
      headers['x-snowflake-audience'] !== DEFAULT_WIF_AUDIENCE ||
      !/Action=GetCallerIdentity/.test(String(attestation.url))
    ) {
      return loginFailure(
        WIF_TOKEN_INVALID,
        'the AWS attestation is not a GetCallerIdentity request for snowflakecomputing.com.',
      );
    }
    const accessKeyId = SIGV4_CREDENTIAL.exec(headers.authorization ?? '')?.[1];
    const principal = accessKeyId === undefined ? undefined : ctx.trust.principalByAccessKey(accessKeyId);
    if (!principal) return loginFailure(WIF_TOKEN_INVALID, 'STS did not accept the signed GetCallerIdentity request.');
    const user = users.find((u) => u.workloadIdentity.type === 'AWS' && u.workloadIdentity.arn === principal.arn);
    return (
      user ??
      loginFailure(WIF_NO_MATCHING_USER, `no user has WORKLOAD_IDENTITY TYPE = AWS with ARN '${principal.arn}'.`)
    );
  };

  const query = (request: EmulatorRequest): EmulatorResponse => {
    const session = sessionFrom(request);
    if ('status' in session) return session;
    const sqlText = String((request.json() as { sqlText?: unknown } | undefined)?.sqlText ?? '');
    const queryId = randomUUID().replace(/^(.{8})-(.{4})/, '01c0$1-0000');
    const columns = parseSelect(sqlText, session);
    if (!columns) {
      return fail(
        SQL_COMPILATION_ERROR,
        `SQL compilation error:\nthe keyless emulator only answers SELECT of literals and CURRENT_USER(), CURRENT_ROLE(), CURRENT_WAREHOUSE(), CURRENT_DATABASE(), CURRENT_SCHEMA(), CURRENT_ACCOUNT(), CURRENT_REGION(), CURRENT_VERSION(), CURRENT_SESSION().`,
        {
          internalError: false,
          errorCode: SQL_COMPILATION_ERROR,
          age: 0,
          sqlState: '42000',
          queryId,
          line: -1,
          pos: -1,
          type: 'COMPILATION',
        },
      );
    }
    return ok({
      parameters: sessionParameters(),
      rowtype: columns.map(({ name, value }) =>
        value.type === 'text'
          ? {
              name,
              database: '',
              schema: '',
              table: '',
              nullable: true,
              length: 16777216,
              type: 'text',
              scale: null,
              precision: null,
              byteLength: 16777216,
              collation: null,
            }
          : {
              name,
              database: '',
              schema: '',
              table: '',
              nullable: false,
              length: null,
              type: 'fixed',
              scale: 0,
              precision: Math.max(1, (value.value ?? '').replace('-', '').length),
              byteLength: null,
              collation: null,
            },
      ),
      rowset: [columns.map(({ value }) => value.value)],
      total: 1,
      returned: 1,
      queryId,
      databaseProvider: null,
      finalDatabaseName: session.database,
      finalSchemaName: session.schema,
      finalWarehouseName: session.warehouse,
      finalRoleName: session.role,
      numberOfBinds: 0,
      arrayBindSupported: false,
      statementTypeId: 4096,
      version: 1,
      sendResultTime: ctx.clock.ms(),
      queryResultFormat: 'json',
      queryContext: { entries: [{ id: 0, timestamp: ctx.clock.ms(), priority: 0 }] },
    });
  };

  const sessionRequest = (request: EmulatorRequest): EmulatorResponse => {
    const path = request.url.pathname;
    if (path === '/telemetry/send') return ok('Log Received');
    if (path === '/session/token-request') {
      const token = /^Snowflake Token="([^"]+)"$/.exec(request.headers.authorization ?? '')?.[1];
      const master = masters.get(token);
      if (master === 'expired' || !master || token === undefined) {
        return fail(MASTER_TOKEN_EXPIRED, 'Authentication token has expired.  The user must authenticate again.');
      }
      const previous = sessionsByMaster.get(token);
      if (!previous) return fail(SESSION_GONE, 'Session no longer exists.  New login required to access the service.');
      const sessionToken = opaqueToken('ver:1-hint:emulator-ETMsDgAAA');
      sessions.delete(master.sessionToken);
      const renewed = { ...previous, expiresAt: ctx.clock.ms() + SESSION_VALIDITY_SECONDS * 1000 };
      sessions.add(sessionToken, renewed);
      sessionsByMaster.set(token, renewed);
      master.sessionToken = sessionToken;
      return ok({
        sessionToken,
        validityInSecondsST: SESSION_VALIDITY_SECONDS,
        masterToken: token,
        validityInSecondsMT: Math.floor((master.expiresAt - ctx.clock.ms()) / 1000),
        sessionId: previous.sessionId,
      });
    }
    const session = sessionFrom(request);
    if ('status' in session) return session;
    if (path === '/session' && request.url.searchParams.get('delete') === 'true') {
      const token = /^Snowflake Token="([^"]+)"$/.exec(request.headers.authorization ?? '')?.[1];
      if (token) sessions.delete(token);
      masters.delete(session.masterToken);
      sessionsByMaster.delete(session.masterToken);
      return ok(null);
    }
    return ok({});
  };

  const route = (request: EmulatorRequest): Route | undefined => {
    if (request.method !== 'POST') return undefined;
    switch (request.url.pathname) {
      case '/session/v1/login-request':
        return { endpoint: 'snowflake:login', handle: login };
      case '/queries/v1/query-request':
        return { endpoint: 'snowflake:query', handle: query };
      case '/session':
      case '/session/heartbeat':
      case '/session/token-request':
      case '/telemetry/send':
        return { endpoint: 'snowflake:session', handle: sessionRequest };
      default:
        return undefined;
    }
  };

  return {
    name: 'snowflake',
    route,
    failure(failure) {
      const status = failure.kind === 'throttle' ? (failure.status ?? 429) : (failure.status ?? 503);
      return {
        status,
        headers: { 'content-type': 'text/plain', ...retryAfter(failure) },
        body: status === 429 ? 'Too Many Requests' : 'Service Unavailable',
        errorCode: `HTTP ${status}`,
      };
    },
    notFound: () => ({ status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' }),
  };
}

function sessionParameters() {
  return [
    { name: 'TIMEZONE', value: 'America/Los_Angeles' },
    { name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM' },
    { name: 'CLIENT_SESSION_KEEP_ALIVE', value: false },
    { name: 'CLIENT_RESULT_CHUNK_SIZE', value: 160 },
    { name: 'QUERY_CONTEXT_CACHE_SIZE', value: 5 },
  ];
}

const FUNCTIONS: Record<string, (session: Session) => string | null> = {
  'CURRENT_USER()': (s) => s.user.name,
  'CURRENT_ROLE()': (s) => s.role,
  'CURRENT_WAREHOUSE()': (s) => s.warehouse,
  'CURRENT_DATABASE()': (s) => s.database,
  'CURRENT_SCHEMA()': (s) => s.schema,
  'CURRENT_ACCOUNT()': () => EMULATOR_DEFAULTS.snowflake.account.toUpperCase().replace(/-/g, '_'),
  'CURRENT_ACCOUNT_NAME()': () => EMULATOR_DEFAULTS.snowflake.account.toUpperCase().split('-').pop() ?? null,
  'CURRENT_REGION()': () => 'AWS_US_EAST_1',
  'CURRENT_VERSION()': () => SERVER_VERSION,
  'CURRENT_SESSION()': (s) => String(s.sessionId),
};

/** `SELECT <expr> [[AS] alias], …` of literals and session functions; anything else is `undefined`. */
function parseSelect(sqlText: string, session: Session): { name: string; value: Value }[] | undefined {
  const match = /^\s*select\s+(.+?)\s*;?\s*$/is.exec(sqlText);
  if (!match) return undefined;
  const columns: { name: string; value: Value }[] = [];
  for (const item of match[1]!.split(',')) {
    const parts = /^\s*(.+?)(?:\s+(?:as\s+)?("[^"]+"|[a-z_][\w$]*))?\s*$/i.exec(item);
    if (!parts) return undefined;
    const expression = parts[1]!.trim();
    const alias = parts[2];
    let value: Value;
    let name: string;
    if (/^-?\d+$/.test(expression)) {
      value = { type: 'fixed', value: String(Number(expression)) };
      name = expression;
    } else if (/^'[^']*'$/.test(expression)) {
      value = { type: 'text', value: expression.slice(1, -1) };
      name = expression;
    } else {
      const fn = expression.replace(/\s+/g, '').toUpperCase();
      const evaluate = FUNCTIONS[fn];
      if (!evaluate) return undefined;
      value = { type: 'text', value: evaluate(session) };
      name = fn;
    }
    if (alias) name = alias.startsWith('"') ? alias.slice(1, -1) : alias.toUpperCase();
    columns.push({ name, value });
  }
  return columns;
}
