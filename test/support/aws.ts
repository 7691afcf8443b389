/**
 * Fixtures for tests that talk to a mocked STS: real signed JWTs in AWS's claim layout and the exact
 * awsQuery XML bodies STS answers with (PROTOCOLS §2.3, §2.6).
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { registerSecret } from './secrets.js';

export const TEST_ISSUER = 'https://0b4e7a3c-1f2d-4e5a-9b8c-7d6e5f4a3b2c.tokens.sts.global.api.aws';
export const TEST_ROLE_ARN = 'arn:aws:iam::123456789012:role/keyless-test';
export const TEST_ACCOUNT = '123456789012';
/** Fake static credentials: tests pin them so the SDK never looks at the machine's. */
export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: registerSecret('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
};

type Alg = 'RS256' | 'ES384';
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const keys = new Map<Alg, Promise<{ privateKey: PrivateKey; publicJwk: Record<string, unknown> }>>();

export function signingKey(alg: Alg) {
  let entry = keys.get(alg);
  if (!entry) {
    entry = generateKeyPair(alg, { extractable: true }).then(async ({ privateKey, publicKey }) => ({
      privateKey,
      publicJwk: { ...(await exportJWK(publicKey)), kid: alg === 'RS256' ? 'RSA_0' : 'EC384_0', alg, use: 'sig' },
    }));
    keys.set(alg, entry);
  }
  return entry;
}

export interface AwsJwtOptions {
  audience?: string | string[];
  alg?: Alg;
  /** Seconds; default 300. */
  lifetime?: number;
  /** Seconds since epoch; default now. */
  iat?: number;
  sub?: string;
  iss?: string;
  tags?: Record<string, string>;
  region?: string;
}

/** A JWT shaped like the ones STS GetWebIdentityToken issues, signed with a per-run test key. */
export async function makeAwsJwt(options: AwsJwtOptions = {}): Promise<string> {
  const alg = options.alg ?? 'RS256';
  const iat = options.iat ?? Math.floor(Date.now() / 1000);
  const { privateKey } = await signingKey(alg);
  const aws: Record<string, unknown> = {
    aws_account: TEST_ACCOUNT,
    source_region: options.region ?? 'us-east-1',
    principal_tags: { team: 'platform' },
    original_session_exp: new Date((iat + 3600) * 1000).toISOString(),
  };
  if (options.tags) aws.request_tags = options.tags;
  const jwt = await new SignJWT({ 'https://sts.amazonaws.com/': aws })
    .setProtectedHeader({ alg, kid: alg === 'RS256' ? 'RSA_0' : 'EC384_0', typ: 'JWT' })
    .setIssuer(options.iss ?? TEST_ISSUER)
    .setSubject(options.sub ?? TEST_ROLE_ARN)
    .setAudience(options.audience ?? 'api://AzureADTokenExchange')
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.lifetime ?? 300))
    .setJti(randomUUID())
    .sign(privateKey);
  return registerSecret(jwt);
}

export function stsSuccessXml(token: string, expiration: Date): string {
  return `<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetWebIdentityTokenResult>
    <WebIdentityToken>${token}</WebIdentityToken>
    <Expiration>${expiration.toISOString()}</Expiration>
  </GetWebIdentityTokenResult>
  <ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>
</GetWebIdentityTokenResponse>`;
}

export function stsErrorXml(code: string, message: string, type: 'Sender' | 'Receiver' = 'Sender'): string {
  return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error>
  <RequestId>${randomUUID()}</RequestId>
</ErrorResponse>`;
}

/** Parses an awsQuery form body into a plain record. */
export function parseForm(body: string | Record<string, unknown>): Record<string, string> {
  if (typeof body !== 'string') return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, String(v)]));
  return Object.fromEntries(new URLSearchParams(body));
}
