import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';
import type { IssuerKeys, SigningKey } from './keys.js';
import type { TrustState } from './trust-rules.js';

export interface Origins {
  aws: string;
  entra: string;
  blob: string;
  google: string;
  snowflake: string;
  oidc: string;
  vault: string;
}

/** What every emulated service shares. */
export interface LabContext {
  clock: Clock;
  /** The AWS issuer's rotating keys. */
  keys: IssuerKeys;
  /** Signs Entra access tokens. */
  entraKey: SigningKey;
  /** Signs the OAuth server's access tokens. */
  oidcKey: SigningKey;
  trust: TrustState;
  origins: Origins;
  /** The AWS issuer (the AWS origin). */
  issuer: string;
  region: string;
  maxTokenPayloadBytes: number;
}

/** An opaque bearer token: `<prefix><random>`. */
export function opaqueToken(prefix: string, bytes = 32): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

/** Issued opaque tokens and what they stand for; expired ones are dropped as new ones arrive. */
export class TokenStore<T extends { expiresAt: number }> {
  private readonly tokens = new Map<string, T>();

  constructor(private readonly clock: Clock) {}

  add(token: string, record: T): void {
    const now = this.clock.ms();
    for (const [key, value] of this.tokens) if (value.expiresAt <= now) this.tokens.delete(key);
    this.tokens.set(token, record);
  }

  /** The record of a live token; `'expired'` for one that was issued but has expired. */
  get(token: string | undefined): T | 'expired' | undefined {
    if (token === undefined) return undefined;
    const record = this.tokens.get(token);
    if (!record) return undefined;
    return record.expiresAt <= this.clock.ms() ? 'expired' : record;
  }

  delete(token: string): void {
    this.tokens.delete(token);
  }
}

/** RFC 3339 without milliseconds, as AWS and Google print times. */
export function isoSeconds(date: Date | number): string {
  return new Date(date).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
