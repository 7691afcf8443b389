/**
 * In-process stand-ins for every network hop the benchmarks make: a fake `STSClient` (only `send()` and
 * `config.region()`, which is all keyless and a hand-written memo use), a loopback HTTP server that
 * answers as Entra ID and Google STS do, and an `httpClient` for `@azure/identity` (whose authority
 * must be https, so it cannot be pointed at a plain-http loopback server). Every hop counts its calls.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { STSClient } from '@aws-sdk/client-sts';

export const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const CLIENT_ID = '00001111-aaaa-2222-bbbb-3333cccc4444';
export const STORAGE_SCOPE = 'https://storage.azure.com/.default';
export const PROVIDER_NAME =
  '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-oidc';
export const ISSUER = 'https://0b4e7a3c-1f2d-4e5a-9b8c-7d6e5f4a3b2c.tokens.sts.global.api.aws';
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/bench';
export const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
/** Lifetime of the tokens the fakes issue: what the real services issue by default. */
export const JWT_LIFETIME_S = 300;
export const ACCESS_TOKEN_LIFETIME_S = 3599;

/** What every fake hop reports: calls made, answers given, and requests not yet answered. */
export interface Counters {
  stsCalls: number;
  exchanges: number;
  /** Answers delivered by any hop. A caller "waited on the network" if this moved during its call. */
  answers: number;
  /** Requests started and not yet fully answered (the loopback ones counted at the client). */
  inflight: number;
}

export const counters: Counters = { stsCalls: 0, exchanges: 0, answers: 0, inflight: 0 };

export function resetCounters(): void {
  counters.stsCalls = 0;
  counters.exchanges = 0;
  counters.answers = 0;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A JWT in the layout STS GetWebIdentityToken issues (unsigned in effect: nothing in the benchmark
 * verifies it, and signing 100,000 tokens would only measure RSA). The signature part has the length
 * of an RS256 one.
 */
export function fakeAwsJwt(audience: string, lifetimeSeconds = JWT_LIFETIME_S): string {
  const iat = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', kid: 'RSA_0', typ: 'JWT' };
  const payload = {
    'https://sts.amazonaws.com/': { aws_account: '123456789012', source_region: 'us-east-1' },
    iss: ISSUER,
    sub: ROLE_ARN,
    aud: audience,
    iat,
    exp: iat + lifetimeSeconds,
    jti: randomUUID(),
  };
  return `${b64(header)}.${b64(payload)}.${randomBytes(256).toString('base64url')}`;
}

/** Lets an answer arrive in a later turn of the event loop, as a network answer would. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface StsInput {
  Audience?: string[];
  DurationSeconds?: number;
}

/** An `STSClient` look-alike for `fromAwsWebIdentityToken({ client })` and hand-written memos. */
export function fakeStsClient(): STSClient {
  const client = {
    config: { region: async () => 'us-east-1' },
    async send(command: { input: StsInput }) {
      counters.stsCalls++;
      counters.inflight++;
      await nextTurn();
      counters.inflight--;
      counters.answers++;
      const lifetime = command.input.DurationSeconds ?? JWT_LIFETIME_S;
      return {
        WebIdentityToken: fakeAwsJwt(command.input.Audience?.[0] ?? 'aud', lifetime),
        Expiration: new Date(Date.now() + lifetime * 1000),
        $metadata: { httpStatusCode: 200 },
      };
    },
  };
  return client as unknown as STSClient;
}

export function entraTokenBody(): string {
  return JSON.stringify({
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_LIFETIME_S,
    ext_expires_in: ACCESS_TOKEN_LIFETIME_S,
    access_token: `at_${randomBytes(24).toString('base64url')}`,
  });
}

/**
 * Google STS's answer. A federated token never outlives the subject token it was exchanged for
 * (expires_in = min(the JWT's remaining life, 3600 s), as observed by @keyless/gcp), so the form's
 * `subject_token` sets the lifetime.
 */
export function googleStsBody(form: string): string {
  const subject = new URLSearchParams(form).get('subject_token') ?? '';
  let left = ACCESS_TOKEN_LIFETIME_S;
  try {
    const { exp } = JSON.parse(Buffer.from(subject.split('.')[1] ?? '', 'base64url').toString()) as { exp?: number };
    if (typeof exp === 'number') left = Math.min(left, exp - Math.floor(Date.now() / 1000));
  } catch {
    // not a JWT: the full hour
  }
  return JSON.stringify({
    access_token: `ya29.d.${randomBytes(90).toString('base64url')}`,
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    token_type: 'Bearer',
    expires_in: left,
  });
}

export interface MockServer {
  origin: string;
  close(): Promise<void>;
}

/**
 * Entra ID's token endpoint (`POST /{tenant}/oauth2/v2.0/token`) and Google STS (`POST /v1/token`) on
 * 127.0.0.1, answering at once with the bodies the real services send.
 */
export async function startMockServer(): Promise<MockServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      counters.exchanges++;
      counters.answers++;
      if (path.endsWith('/oauth2/v2.0/token')) return send(res, 200, entraTokenBody());
      if (path === '/v1/token') return send(res, 200, googleStsBody(Buffer.concat(chunks).toString()));
      send(res, 404, '{"error":"not_found"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Counts requests that go through global `fetch` (keyless's adapters) until their body has been read,
 * so that a simulation can wait for background refreshes to finish before moving the clock.
 */
export function countFetches(): () => void {
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    counters.inflight++;
    try {
      const response = await realFetch(input, init);
      const body = await response.arrayBuffer();
      return new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } finally {
      counters.inflight--;
    }
  };
  return () => {
    globalThis.fetch = realFetch;
  };
}

/** Waits until no request is in flight (background refreshes included), then a few more turns. */
export async function settle(): Promise<void> {
  for (let quiet = 0; quiet < 3; ) {
    await nextTurn();
    quiet = counters.inflight === 0 ? quiet + 1 : 0;
  }
}

interface PipelineRequestLike {
  url: string;
  method: string;
}

/**
 * An `httpClient` for `@azure/identity` (`CommonClientOptions.httpClient`): answers the token request
 * in-process, in a later turn of the event loop, like the loopback server would.
 */
export function entraHttpClient() {
  const headers = {
    get: () => undefined,
    has: () => false,
    set: () => {},
    delete: () => {},
    toJSON: () => ({ 'content-type': 'application/json; charset=utf-8' }),
    [Symbol.iterator]: function* () {},
  };
  return {
    async sendRequest(request: PipelineRequestLike) {
      counters.exchanges++;
      counters.inflight++;
      await nextTurn();
      counters.inflight--;
      counters.answers++;
      // The identity pipeline types the response with its own HttpHeaders; only these members are used.
      return { request, status: 200, headers, bodyAsText: entraTokenBody() } as never;
    },
  };
}
