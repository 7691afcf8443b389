import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { FaultParams, FaultRegistry } from './faults.js';
import type { StatsRecorder } from './stats.js';
import type { EmulatorOptions, EndpointName } from './types.js';

/** Loopback only: the emulator hands out real-looking credentials and must never be reachable from the network. */
export const LISTEN_HOST = '127.0.0.1';
const MAX_BODY_BYTES = 1024 * 1024;

export interface EmulatorRequest {
  method: string;
  url: URL;
  /** Lower-cased names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: string;
  /** A fresh id per request (`x-amzn-requestid`, `x-ms-request-id`, trace ids). */
  requestId: string;
  form(): URLSearchParams;
  /** The body as JSON, or `undefined` when it is not JSON. */
  json(): unknown;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** The service's own error code, for stats and the log. */
  errorCode?: string;
}

export interface Route {
  endpoint: EndpointName;
  handle(request: EmulatorRequest): EmulatorResponse | Promise<EmulatorResponse>;
}

export type InjectedFailure = { kind: 'server-error' | 'throttle' } & FaultParams;

/** One emulated service: its routes, and how it says "unavailable" and "slow down". */
export interface ServiceHandler {
  /** For log lines, e.g. `entra`. */
  name: string;
  route(request: EmulatorRequest): Route | undefined;
  /** The service's answer to an injected failure (its 5xx / throttling body). */
  failure(failure: InjectedFailure, route: Route, request: EmulatorRequest): EmulatorResponse;
  notFound(request: EmulatorRequest): EmulatorResponse;
}

export interface RunningServer {
  origin: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export interface ServerContext {
  faults: FaultRegistry;
  stats: StatsRecorder;
  logger: EmulatorOptions['logger'];
  now(): Date;
}

export async function startServer(
  handler: ServiceHandler,
  context: ServerContext,
  options: { port: number; tls?: { cert: string; key: string } },
): Promise<RunningServer> {
  const closing = new AbortController();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(handler, context, req, res, closing.signal).catch((error: unknown) => {
      context.logger?.error?.(`[keyless-emulator] ${handler.name}: ${error instanceof Error ? error.message : error}`);
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal emulator error');
      }
    });
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, LISTEN_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${options.tls ? 'https' : 'http'}://${LISTEN_HOST}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  handler: ServiceHandler,
  context: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  closing: AbortSignal,
): Promise<void> {
  const body = await readBody(req);
  if (body === undefined) {
    send(res, { status: 413, headers: { 'content-type': 'text/plain' }, body: 'request body too large' });
    return;
  }
  const isTls = 'encrypted' in req.socket && Boolean(req.socket.encrypted);
  const url = new URL(req.url ?? '/', `${isTls ? 'https' : 'http'}://${req.headers.host ?? LISTEN_HOST}`);
  const request = createRequest(req, url, body);
  const route = handler.route(request);
  if (!route) {
    const response = handler.notFound(request);
    log(context, handler, request, response);
    send(res, response);
    return;
  }
  const { delayMs, failure } = context.faults.take(route.endpoint);
  if (delayMs > 0) {
    try {
      await delay(delayMs, undefined, { signal: closing });
    } catch {
      return; // the emulator is closing: the connection is being dropped anyway
    }
  }
  let response: EmulatorResponse;
  if (failure?.kind === 'drop-connection') {
    record(context, route, request, { status: 0, errorCode: 'connection dropped' });
    req.socket.destroy();
    return;
  } else if (failure) {
    response = handler.failure({ ...failure, kind: failure.kind }, route, request);
  } else {
    response = await route.handle(request);
  }
  record(context, route, request, response);
  log(context, handler, request, response);
  if (!res.destroyed) send(res, response, request.method === 'HEAD');
}

function record(context: ServerContext, route: Route, request: EmulatorRequest, response: EmulatorResponse): void {
  context.stats.record({
    at: context.now(),
    endpoint: route.endpoint,
    method: request.method,
    path: request.url.pathname,
    status: response.status,
    ...(response.errorCode === undefined ? {} : { error: response.errorCode }),
  });
}

function log(context: ServerContext, handler: ServiceHandler, request: EmulatorRequest, response: EmulatorResponse) {
  // The path only: no query string, no header, no body can carry a token into the log.
  context.logger?.debug?.(
    `[keyless-emulator] ${handler.name} ${request.method} ${request.url.pathname} -> ${response.status}${response.errorCode ? ` ${response.errorCode}` : ''}`,
  );
}

function createRequest(req: IncomingMessage, url: URL, body: string): EmulatorRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  let form: URLSearchParams | undefined;
  let json: { value: unknown } | undefined;
  return {
    method: req.method ?? 'GET',
    url,
    headers,
    body,
    requestId: randomUUID(),
    form: () => {
      form ??= new URLSearchParams(body);
      return form;
    },
    json: () => {
      if (!json) {
        try {
          json = { value: body.length > 0 ? JSON.parse(body) : undefined };
        } catch {
          json = { value: undefined };
        }
      }
      return json.value;
    },
  };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, response: EmulatorResponse, headOnly = false): void {
  const body = response.body ?? '';
  res.writeHead(response.status, { 'content-length': String(Buffer.byteLength(body)), ...response.headers });
  res.end(headOnly ? undefined : body);
}

/** A JSON answer. */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(value),
  };
}

/** `Bearer <token>` of the `Authorization` header, or `undefined`. */
export function bearerToken(request: EmulatorRequest): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

/** Escapes text for an XML element. */
export function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `Retry-After` for a throttling answer. */
export function retryAfter(failure: InjectedFailure): Record<string, string> {
  return failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) };
}
