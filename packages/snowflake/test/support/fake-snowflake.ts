/**
 * A Snowflake stand-in on 127.0.0.1 for contract tests with the real snowflake-sdk: it answers
 * `POST /session/v1/login-request`, `POST /queries/v1/query-request`, telemetry, heartbeat and logout
 * with the bodies Snowflake sends (shapes from the Snowflake drivers' own wiremock fixtures), and
 * records every request. Point snowflake-sdk at it with `accessUrl: server.origin` plus a valid
 * `host` (the WORKLOAD_IDENTITY allow-list checks `host`, the traffic goes to `accessUrl`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const TEST_HOST = 'myorg-myacct.snowflakecomputing.com';
export const TEST_ACCOUNT = 'myorg-myacct';
export const SERVICE_USER = 'KEYLESS_SVC';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** What the login handler answers: a JSON body (HTTP 200 unless given), or a socket fault. */
export type LoginAnswer = { status?: number; body: unknown; headers?: Record<string, string> } | 'reset' | 'silent';

export interface LoginRequestData {
  ACCOUNT_NAME?: string;
  LOGIN_NAME?: string;
  AUTHENTICATOR?: string;
  PROVIDER?: string;
  TOKEN?: string;
  [field: string]: unknown;
}

export interface FakeSnowflake {
  origin: string;
  requests: RecordedRequest[];
  /** Bodies (`data`) of the login requests, in order. */
  logins(): LoginRequestData[];
  /** Session and master tokens handed out so far (for leak checks). */
  issued: string[];
  close(): Promise<void>;
}

export interface FakeSnowflakeOptions {
  /** Decides each login; default: success. */
  login?: (data: LoginRequestData, index: number) => LoginAnswer | undefined;
  /** The value of `CURRENT_USER()`. */
  currentUser?: string;
}

export function loginSuccess(sessionToken: string, masterToken: string): LoginAnswer {
  return {
    body: {
      data: {
        masterToken,
        token: sessionToken,
        validityInSeconds: 3600,
        masterValidityInSeconds: 14400,
        displayUserName: SERVICE_USER,
        serverVersion: '9.30.1',
        firstLogin: false,
        remMeToken: null,
        remMeValidityInSeconds: 0,
        healthCheckInterval: 45,
        newClientForUpgrade: null,
        sessionId: 1172562260498,
        parameters: [
          { name: 'CLIENT_PREFETCH_THREADS', value: 4 },
          { name: 'TIMEZONE', value: 'America/Los_Angeles' },
        ],
        sessionInfo: {
          databaseName: null,
          schemaName: null,
          warehouseName: 'COMPUTE_WH',
          roleName: 'KEYLESS_ROLE',
        },
        idToken: null,
        idTokenValidityInSeconds: 0,
        responseData: null,
        mfaToken: null,
        mfaTokenValidityInSeconds: 0,
      },
      code: null,
      message: null,
      success: true,
    },
  };
}

/** A refused login exactly as Snowflake sends it: HTTP 200, `success: false`. */
export function loginFailure(
  code: string,
  message: string,
  data: unknown = { nextAction: 'RETRY_LOGIN' },
): LoginAnswer {
  return { body: { data, code, message, success: false, headers: null } };
}

/** Session tokens look like this (`ver:1-hint:…`), which the redaction patterns know. */
export function sessionTokenLike(kind: 'session' | 'master'): string {
  const random = randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', '');
  return `ver:1-hint:${kind === 'session' ? '1198' : '1199'}31234-ETMsDgAAAZ${random}`;
}

function currentUserResult(user: string) {
  return {
    data: {
      parameters: [
        { name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM' },
        { name: 'CLIENT_RESULT_CHUNK_SIZE', value: 16 },
        { name: 'TIMEZONE', value: 'America/Los_Angeles' },
        { name: 'QUERY_CONTEXT_CACHE_SIZE', value: 5 },
      ],
      rowtype: [
        {
          name: 'CURRENT_USER()',
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
        },
      ],
      rowset: [[user]],
      total: 1,
      returned: 1,
      queryId: '01ba13b4-0104-e9fd-0000-0111029ca00e',
      databaseProvider: null,
      finalDatabaseName: null,
      finalSchemaName: null,
      finalWarehouseName: 'COMPUTE_WH',
      finalRoleName: 'KEYLESS_ROLE',
      numberOfBinds: 0,
      arrayBindSupported: false,
      statementTypeId: 4096,
      version: 1,
      sendResultTime: 1738317395581,
      queryResultFormat: 'json',
      queryContext: { entries: [{ id: 0, timestamp: 1738317395574564, priority: 0, context: 'CPbPTg==' }] },
    },
    code: null,
    message: null,
    success: true,
  };
}

export async function startFakeSnowflake(options: FakeSnowflakeOptions = {}): Promise<FakeSnowflake> {
  const requests: RecordedRequest[] = [];
  const issued: string[] = [];
  const sessions = new Set<string>();
  let loginCount = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const raw = Buffer.concat(chunks);
      let body: unknown;
      try {
        // snowflake-sdk gzips request bodies above a size; login and small queries are plain JSON.
        body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        body = raw.toString('utf8');
      }
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      });

      if (url.pathname === '/session/v1/login-request') {
        const data = ((body as { data?: LoginRequestData } | undefined)?.data ?? {}) as LoginRequestData;
        const index = loginCount++;
        let answer = options.login?.(data, index);
        if (answer === undefined) {
          const sessionToken = sessionTokenLike('session');
          const masterToken = sessionTokenLike('master');
          answer = loginSuccess(sessionToken, masterToken);
        }
        if (answer === 'reset') {
          req.socket.destroy();
          return;
        }
        if (answer === 'silent') return;
        const answered = answer.body as { success?: boolean; data?: { token?: string; masterToken?: string } };
        if (answered?.success && answered.data?.token) {
          sessions.add(answered.data.token);
          issued.push(answered.data.token);
          if (answered.data.masterToken) issued.push(answered.data.masterToken);
        }
        send(res, answer.status ?? 200, answer.body, answer.headers);
        return;
      }
      const authorization = req.headers.authorization ?? '';
      const session = /^Snowflake Token="(.*)"$/.exec(authorization)?.[1];
      if (!session || !sessions.has(session)) {
        send(res, 401, { data: null, code: '390104', message: 'Session token is invalid.', success: false });
        return;
      }
      if (url.pathname === '/queries/v1/query-request') {
        send(res, 200, currentUserResult(options.currentUser ?? SERVICE_USER));
        return;
      }
      if (url.pathname === '/session' && url.searchParams.get('delete') === 'true') sessions.delete(session);
      // telemetry, heartbeat, logout
      send(res, 200, { data: null, code: null, message: null, success: true });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    issued,
    logins: () =>
      requests
        .filter((r) => r.path === '/session/v1/login-request')
        .map((r) => ((r.body as { data?: LoginRequestData } | undefined)?.data ?? {}) as LoginRequestData),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
