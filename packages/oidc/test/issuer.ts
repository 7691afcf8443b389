/**
 * A test issuer that publishes OIDC discovery and a JWKS the way AWS does (PROTOCOLS §2.7), with keys
 * generated per test, and signs tokens in AWS's claim layout (§2.6).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';

export type Alg = 'RS256' | 'ES384';

export interface TestKey {
  alg: Alg;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export async function newKey(
  alg: Alg,
  kid = `${alg === 'RS256' ? 'RSA' : 'EC384'}_${randomUUID().slice(0, 8)}`,
): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export const ROLE_ARN = 'arn:aws:iam::111122223333:role/reporting';
export const ACCOUNT = '111122223333';
export const AUDIENCE = 'https://api.example.com';

export interface TokenOptions {
  claims?: Record<string, unknown>;
  /** Claims to leave out. */
  omit?: string[];
  header?: Record<string, unknown>;
  /** Seconds relative to now. */
  iat?: number;
  lifetime?: number;
  aws?: Record<string, unknown>;
}

/** Signs an AWS-shaped token with `key` for `issuer`. */
export async function signToken(key: TestKey, issuer: string, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const iat = now + (options.iat ?? 0);
  const payload: Record<string, unknown> = {
    iss: issuer,
    sub: ROLE_ARN,
    aud: AUDIENCE,
    iat,
    exp: iat + (options.lifetime ?? 300),
    jti: randomUUID(),
    'https://sts.amazonaws.com/': {
      aws_account: ACCOUNT,
      source_region: 'eu-west-1',
      org_id: 'o-abc123',
      principal_tags: { team: 'reporting' },
      ...options.aws,
    },
    ...options.claims,
  };
  for (const claim of options.omit ?? []) delete payload[claim];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
    .sign(key.privateKey);
}

/** `alg: none`: no signature at all. */
export function unsignedToken(issuer: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const payload = base64url.encode(
    JSON.stringify({ iss: issuer, sub: ROLE_ARN, aud: AUDIENCE, iat: now, exp: now + 300 }),
  );
  return `${header}.${payload}.`;
}

/** The HS256 key-confusion attack: an HMAC over the token with the issuer's public key as the secret. */
export async function hmacWithPublicKey(key: TestKey, issuer: string): Promise<string> {
  const secret = new TextEncoder().encode(await exportSPKI(key.publicKey));
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: issuer, sub: ROLE_ARN, aud: AUDIENCE, iat: now, exp: now + 300 })
    .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'JWT' })
    .sign(secret);
}

export type Mode = 'ok' | 'unavailable' | 'reset' | 'html' | 'silent';

/** An issuer on 127.0.0.1 serving discovery and a JWKS, whose behaviour a test can switch. */
export interface LoopbackIssuer {
  issuer: string;
  keys: TestKey[];
  jwksMode: Mode;
  discoveryMode: Mode;
  /** Overrides of the discovery document. */
  document: Record<string, unknown>;
  counts: { discovery: number; jwks: number };
  close(): Promise<void>;
}

export async function startIssuer(keys: TestKey[]): Promise<LoopbackIssuer> {
  const state: Omit<LoopbackIssuer, 'issuer' | 'close'> = {
    keys,
    jwksMode: 'ok',
    discoveryMode: 'ok',
    document: {},
    counts: { discovery: 0, jwks: 0 },
  };
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    const isDiscovery = path === '/.well-known/openid-configuration';
    const isJwks = path === '/.well-known/jwks.json';
    if (isDiscovery) state.counts.discovery++;
    if (isJwks) state.counts.jwks++;
    const mode = isDiscovery ? state.discoveryMode : state.jwksMode;
    if (mode === 'reset') return req.socket.destroy();
    if (mode === 'silent') return;
    if (mode === 'unavailable') {
      res.writeHead(503, { 'content-type': 'text/plain' });
      return res.end('Service Unavailable');
    }
    if (mode === 'html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<html><body>Please log in</body></html>');
    }
    if (isDiscovery) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          id_token_signing_alg_values_supported: ['RS256', 'ES384'],
          subject_types_supported: ['public'],
          claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'jti', 'https://sts.amazonaws.com/'],
          ...state.document,
        }),
      );
    }
    if (isJwks) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }));
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    issuer,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
