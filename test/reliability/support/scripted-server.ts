/**
 * A real HTTP server on 127.0.0.1 whose answers a test scripts request by request, with the socket
 * faults nock cannot produce (resets, silence, a body cut off mid-transfer) and slow answers. Each
 * route has a queue of answers; a request with no answer left gets a 599 and is recorded as
 * unexpected, so a test can check that a client made exactly the requests it should.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status: number;
  /** A string is sent as it is; anything else as JSON. */
  body: unknown;
  headers?: Record<string, string>;
  /** Answer after this many (real) milliseconds. */
  delayMs?: number;
}

/**
 * What one request gets: a reply, a reply built when the request arrives (for times relative to then,
 * or to move a fake clock), or a socket fault: `reset` destroys the socket, `silent` never answers,
 * `dropped` sends the headers and part of the body, then closes the connection.
 */
export type Answer = Reply | ((request: Recorded) => Reply | Promise<Reply>) | 'reset' | 'silent' | 'dropped';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface ScriptedServer {
  origin: string;
  /** Every request, in arrival order. */
  requests: Recorded[];
  /** Requests to `path` (without query). */
  requestsTo(path: string): Recorded[];
  /** Requests that found no answer left. */
  unexpected: Recorded[];
  /** Appends answers to the queue of `path`. */
  answer(path: string, ...answers: Answer[]): void;
  /** Answers every request to `path` this way once its queue is empty. */
  always(path: string, answer: Answer): void;
  close(): Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const queues = new Map<string, Answer[]>();
  const defaults = new Map<string, Answer>();
  const requests: Recorded[] = [];
  const unexpected: Recorded[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        path: (req.url ?? '/').split('?')[0] ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const answer = queues.get(recorded.path)?.shift() ?? defaults.get(recorded.path);
      if (answer === undefined) {
        unexpected.push(recorded);
        res.writeHead(599, { 'content-type': 'text/plain' }).end('no scripted answer');
        return;
      }
      if (answer === 'reset') return req.socket.destroy();
      if (answer === 'silent') return;
      if (answer === 'dropped') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
        res.write('{"access_token":"');
        setImmediate(() => req.socket.destroy());
        return;
      }
      const reply = typeof answer === 'function' ? await answer(recorded) : answer;
      const send = () => {
        const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        const type = typeof reply.body === 'string' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8';
        res.writeHead(reply.status, { 'content-type': type, ...reply.headers });
        res.end(text);
      };
      if (!reply.delayMs) return send();
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, reply.delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    unexpected,
    answer: (path, ...answers) => {
      const queue = queues.get(path) ?? [];
      queue.push(...answers);
      queues.set(path, queue);
    },
    always: (path, answer) => {
      defaults.set(path, answer);
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A reply that is sent `times` times. */
export function times(count: number, answer: Answer): Answer[] {
  return Array.from({ length: count }, () => answer);
}
