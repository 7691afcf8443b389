import { describe, expect, it } from 'vitest';
import { createFaults, matchesTarget } from './faults.js';

describe('fault registry', () => {
  it('matches an endpoint, its service, or everything', () => {
    expect(matchesTarget('sts:GetWebIdentityToken', 'sts:GetWebIdentityToken')).toBe(true);
    expect(matchesTarget('sts', 'sts:GetCallerIdentity')).toBe(true);
    expect(matchesTarget('*', 'vault:login')).toBe(true);
    expect(matchesTarget('sts', 'issuer:jwks')).toBe(false);
    expect(matchesTarget('google', 'google:sts-token')).toBe(true);
  });

  it('adds up latencies, applies the first failure, and counts each fault down', () => {
    const faults = createFaults();
    faults.latency('*', 10, { times: 2 });
    faults.latency('sts', 5);
    faults.serverError('sts', { times: 1, status: 500 });
    faults.throttle('sts', { times: 1, retryAfterSeconds: 4 });
    expect(faults.take('sts:GetWebIdentityToken')).toEqual({
      delayMs: 15,
      failure: { kind: 'server-error', status: 500 },
    });
    expect(faults.take('sts:GetWebIdentityToken')).toEqual({
      delayMs: 15,
      failure: { kind: 'throttle', retryAfterSeconds: 4 },
    });
    expect(faults.take('sts:GetWebIdentityToken')).toEqual({ delayMs: 5 });
    expect(faults.take('vault:login')).toEqual({ delayMs: 0 });
    expect(faults.list().map((f) => f.kind)).toEqual(['latency']);
  });

  it('clears by target', () => {
    const faults = createFaults();
    faults.serverError('sts');
    faults.serverError('entra');
    faults.clear('sts');
    expect(faults.list().map((f) => f.target)).toEqual(['entra']);
    faults.clear();
    expect(faults.list()).toEqual([]);
  });
});
