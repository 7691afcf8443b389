import {
  type CryptoKey,
  compactVerify,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  type ProtectedHeaderParameters,
  SignJWT,
} from 'jose';

export type AwsAlgorithm = 'RS256' | 'ES384';

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES384';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** As published in the JWKS. */
  jwk: JWK;
}

async function createKey(alg: AwsAlgorithm, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const { kty, n, e, crv, x, y } = await exportJWK(publicKey);
  // The layout of AWS's published JWKS: the RSA key carries no `alg`, the EC key does.
  const jwk: JWK = alg === 'RS256' ? { kty, kid, use: 'sig', e, n } : { kty, crv, alg, kid, use: 'sig', x, y };
  return { kid, alg, privateKey, publicKey, jwk };
}

/**
 * The issuer's signing keys: one RSA and one P-384 key per generation, named like AWS's (`RSA_0`,
 * `EC384_0`). Rotation adds a generation and signs with it; older keys stay published or are dropped.
 */
export class IssuerKeys {
  private generation = 0;
  private published: SigningKey[] = [];
  private current!: Record<AwsAlgorithm, SigningKey>;
  private untrusted = new Map<AwsAlgorithm, Promise<SigningKey>>();

  static async create(): Promise<IssuerKeys> {
    const keys = new IssuerKeys();
    await keys.addGeneration(true);
    return keys;
  }

  private async addGeneration(keepPrevious: boolean): Promise<string[]> {
    const n = this.generation;
    const [rsa, ec] = await Promise.all([createKey('RS256', `RSA_${n}`), createKey('ES384', `EC384_${n}`)]);
    this.generation = n + 1;
    this.current = { RS256: rsa, ES384: ec };
    this.published = keepPrevious ? [...this.published, rsa, ec] : [rsa, ec];
    return [rsa.kid, ec.kid];
  }

  rotate(keepPrevious: boolean): Promise<string[]> {
    return this.addGeneration(keepPrevious);
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.published.map((key) => ({ ...key.jwk })) };
  }

  kids(): string[] {
    return this.published.map((key) => key.kid);
  }

  find(kid: unknown): SigningKey | undefined {
    return typeof kid === 'string' ? this.published.find((key) => key.kid === kid) : undefined;
  }

  async sign(payload: JWTPayload, alg: AwsAlgorithm, options: { untrusted?: boolean } = {}): Promise<string> {
    const key = this.current[alg];
    let signWith = key.privateKey;
    if (options.untrusted) {
      let other = this.untrusted.get(alg);
      if (!other) {
        other = createKey(alg, key.kid);
        this.untrusted.set(alg, other);
      }
      signWith = (await other).privateKey;
    }
    return new SignJWT(payload).setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' }).sign(signWith);
  }
}

/** A single RS256 key for tokens a target issues itself (Entra access tokens, the OAuth server's tokens). */
export async function createServiceKey(kid: string): Promise<SigningKey> {
  const key = await createKey('RS256', kid);
  return { ...key, jwk: { ...key.jwk, alg: 'RS256' } };
}

export interface DecodedJwt {
  header: ProtectedHeaderParameters;
  payload: JWTPayload & Record<string, unknown>;
}

/** Header and payload without verification, or `undefined` when it is not a JWS compact JWT. */
export function decodeUnverified(token: unknown): DecodedJwt | undefined {
  if (typeof token !== 'string' || token.split('.').length !== 3) return undefined;
  try {
    return { header: decodeProtectedHeader(token), payload: decodeJwt(token) as DecodedJwt['payload'] };
  } catch {
    return undefined;
  }
}

export type SignatureCheck = 'ok' | 'unknown-key' | 'bad-signature';

/** Checks only the signature, against the key the header's `kid` names (which must be of the header's `alg`). */
export async function checkSignature(token: string, key: SigningKey | undefined): Promise<SignatureCheck> {
  if (!key) return 'unknown-key';
  try {
    await compactVerify(token, key.publicKey, { algorithms: [key.alg] });
    return 'ok';
  } catch {
    return 'bad-signature';
  }
}

export type LifetimeCheck = 'ok' | 'expired' | 'not-yet-valid' | 'missing-exp';

/** `exp` (required) and `nbf` (optional) against `nowSeconds`, each with `skewSeconds` of tolerance. */
export function checkLifetime(payload: JWTPayload, nowSeconds: number, skewSeconds: number): LifetimeCheck {
  if (typeof payload.exp !== 'number') return 'missing-exp';
  if (payload.exp + skewSeconds <= nowSeconds) return 'expired';
  if (typeof payload.nbf === 'number' && payload.nbf - skewSeconds > nowSeconds) return 'not-yet-valid';
  return 'ok';
}

/** `aud` as a list. */
export function audiences(payload: JWTPayload): string[] {
  const { aud } = payload;
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}
