import type { WebIdentityToken, WebIdentityTokenProvider } from '@keyless/core';
import { decodeAwsWebIdentityClaims } from '@keyless/core';
import type { Connection } from 'snowflake-sdk';
import { makeAwsJwt } from '../../../../test/support/aws.js';

export const SNOWFLAKE_AUDIENCE = 'snowflakecomputing.com';

/** An AWS-shaped JWT for Snowflake (aud snowflakecomputing.com, ES384 unless told). */
export function snowflakeJwt(options: Parameters<typeof makeAwsJwt>[0] = {}): Promise<string> {
  return makeAwsJwt({ audience: SNOWFLAKE_AUDIENCE, alg: 'ES384', ...options });
}

export function asWebIdentityToken(token: string): WebIdentityToken {
  const claims = decodeAwsWebIdentityClaims(token);
  return { token, expiresAt: new Date(claims.exp * 1000), claims };
}

/** A provider that hands out the given tokens in turn (the last one forever) and counts calls. */
export function tokensInTurn(...tokens: string[]) {
  const calls: { forceRefresh?: boolean | undefined }[] = [];
  const provider: WebIdentityTokenProvider = async (options) => {
    calls.push({ forceRefresh: options?.forceRefresh });
    const token = tokens[Math.min(calls.length - 1, tokens.length - 1)]!;
    return asWebIdentityToken(token);
  };
  return { provider, calls };
}

export function query(connection: Connection, sqlText: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    connection.execute({
      sqlText,
      complete: (error, _statement, rows) =>
        error ? reject(error) : resolve((rows ?? []) as Record<string, unknown>[]),
    });
  });
}

export function destroy(connection: Connection): Promise<void> {
  return new Promise((resolve) => connection.destroy(() => resolve()));
}
