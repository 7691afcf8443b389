/**
 * Shared pieces of the cross-package tests: the `aws` options that point an adapter's JWT provider at
 * a lab, and the one way every test inspects a rejection.
 */
import {
  decodeAwsWebIdentityClaims,
  isKeylessError,
  type KeylessError,
  type WebIdentityTokenProvider,
} from '@keyless/core';
import type { Emulator, MintTokenOptions } from '@keyless/emulator';
import { expect } from 'vitest';
import { registerSecret } from '../../support/secrets.js';

/** The `aws` options of any adapter (or `fromAwsWebIdentityToken`) for the lab's STS and default principal. */
export function labAws(lab: Emulator) {
  return { endpoint: lab.stsEndpoint, region: lab.region, credentials: lab.credentials };
}

/** The error `promise` rejects with, which must be a KeylessError (anything else fails the test with its text). */
export async function keylessRejection(promise: Promise<unknown>): Promise<KeylessError> {
  const outcome = await promise.then(
    () => ({ resolved: true as const }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error('expected a KeylessError, but the call succeeded');
  if (!isKeylessError(outcome.error)) throw outcome.error;
  return outcome.error;
}

/** Calls to GetWebIdentityToken the lab has answered so far. */
export function stsCalls(lab: Emulator): number {
  return lab.stats.get('sts:GetWebIdentityToken').calls;
}

/** A JWT the lab signed (or any token a test received), registered for the suite-wide leak check. */
export function secret<T extends string>(token: T): T {
  expect(token.length).toBeGreaterThan(20);
  return registerSecret(token);
}

/**
 * A `webIdentityToken` provider that hands out a token the lab minted with any claims (another role,
 * audience or issuer), as a misconfigured or shared provider would.
 */
export async function mintedProvider(lab: Emulator, options: MintTokenOptions): Promise<WebIdentityTokenProvider> {
  const token = secret(await lab.mintWebIdentityToken(options));
  const claims = decodeAwsWebIdentityClaims(token);
  return async () => ({ token, claims, expiresAt: new Date(claims.exp * 1000) });
}
