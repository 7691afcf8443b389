import { describe, expect, it } from 'vitest';
import { isKeylessError, KeylessError } from './errors.js';
import { createLogger } from './logger.js';
import { redactSecrets, redactValues } from './redact.js';

const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IlJTQV8wIn0.eyJpc3MiOiJodHRwczovL2V4YW1wbGUiLCJzdWIiOiJhcm46YXdzOmlhbTo6MTIzNDU2Nzg5MDEyOnJvbGUvYSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLEtokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==';

describe('redactSecrets', () => {
  it.each([
    [`token ${JWT} end`, 'token [redacted jwt] end'],
    [`Authorization: Bearer ${JWT}`, 'Authorization: Bearer [redacted jwt]'],
    ['Authorization: Bearer ya29.a0AfH6SMBx-opaque_token', 'Authorization: Bearer [redacted]'],
    [`aws_secret_access_key = ${SECRET_KEY}`, 'aws_secret_access_key = [redacted]'],
    [`x-amz-security-token: ${SESSION_TOKEN}`, 'x-amz-security-token: [redacted]'],
    ['client_secret=s3cr3t-value&grant_type=x', 'client_secret=[redacted]&grant_type=x'],
    ['{"access_token":"abcd1234efgh","expires_in":3600}', '{"access_token":"[redacted]","expires_in":3600}'],
    ['{"token": "ver:1-hint:1234-ETMsDgAAAYexample"}', '{"token": "[redacted]"}'],
    ['vault says hvs.CAESIJexampleexampleexample1234', 'vault says [redacted]'],
    ['databricks dapi0123456789abcdef0123456789abcdef', 'databricks [redacted]'],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('keeps identifiers a hint needs: issuers, ARNs, Google provider names, prose', () => {
    const text =
      'presented iss=https://0b4e7a3c-1f2d-4e5a-9b8c-7d6e5f4a3b2c.tokens.sts.global.api.aws sub=arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1a2b3c ' +
      'aud=//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-oidc; the assertion: expired; Basic authentication failed; token rejected';
    expect(redactSecrets(text)).toBe(text);
  });

  it('redactValues removes exact secrets even when they look harmless', () => {
    expect(redactValues('the value is hunter2!', ['hunter2!'])).toBe('the value is [redacted]');
  });
});

describe('KeylessError', () => {
  it('carries code, provider, retryable, hint and details, and scrubs message, hint, details and cause', () => {
    const cause = Object.assign(new Error(`request failed: subject_token=${JWT}`), {
      code: 'E1',
      config: { data: JWT },
    });
    const error = new KeylessError({
      code: 'TOKEN_REJECTED',
      provider: 'gcp',
      message: `rejected ${JWT}`,
      hint: `set the audience (got Bearer ${JWT})`,
      details: { status: 400, presented: { iss: 'https://issuer', sub: 'arn:aws:iam::1:role/r' }, raw: JWT },
      cause,
    });
    expect(error).toMatchObject({ name: 'KeylessError', code: 'TOKEN_REJECTED', provider: 'gcp', retryable: false });
    const everything = JSON.stringify({
      ...error.toJSON(),
      stack: error.stack,
      cause: error.cause,
      causeMessage: (error.cause as Error).message,
      causeStack: (error.cause as Error).stack,
    });
    expect(everything).not.toContain(JWT.split('.')[1]);
    expect((error.cause as Error & { code: string }).code).toBe('E1');
    expect((error.cause as { config?: unknown }).config).toBeUndefined();
    expect(error.details.presented).toEqual({ iss: 'https://issuer', sub: 'arn:aws:iam::1:role/r' });
  });

  it('defaults retryable by code', () => {
    expect(new KeylessError({ code: 'THROTTLED', provider: 'aws', message: 'x' }).retryable).toBe(true);
    expect(new KeylessError({ code: 'NETWORK', provider: 'aws', message: 'x' }).retryable).toBe(true);
    expect(new KeylessError({ code: 'TOKEN_REJECTED', provider: 'aws', message: 'x' }).retryable).toBe(false);
    expect(
      new KeylessError({ code: 'EXCHANGE_FAILED', provider: 'aws', message: 'x', retryable: true }).retryable,
    ).toBe(true);
  });

  it('isKeylessError recognises errors from another copy of the package by the global brand', () => {
    const foreign = Object.create(Error.prototype) as Record<symbol, unknown>;
    Object.defineProperty(foreign, Symbol.for('keyless.error'), { value: true });
    expect(isKeylessError(foreign)).toBe(true);
    expect(isKeylessError(new Error('x'))).toBe(false);
    expect(isKeylessError(null)).toBe(false);
    expect(isKeylessError(new KeylessError({ code: 'NETWORK', provider: 'aws', message: 'x' }))).toBe(true);
  });
});

describe('createLogger', () => {
  it('is silent without a logger and never forwards extra arguments', () => {
    const lines: unknown[][] = [];
    const log = createLogger({ debug: (...args: unknown[]) => lines.push(args) }, 'aws');
    (log.debug as (m: string, ...rest: unknown[]) => void)(`got ${JWT}`, { token: JWT });
    log.info('nobody listens');
    expect(lines).toEqual([['[keyless:aws] got [redacted jwt]']]);
    expect(() => createLogger(undefined, 'aws').error('x')).not.toThrow();
  });

  it('survives a logger that throws', () => {
    const log = createLogger(
      {
        warn: () => {
          throw new Error('broken');
        },
      },
      'aws',
    );
    expect(() => log.warn('x')).not.toThrow();
  });
});

describe('diagnostics channels', () => {
  it('publishes every KeylessError on keyless:error and every log line on keyless:log, redacted, logger or not', async () => {
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
    const errors: unknown[] = [];
    const lines: unknown[] = [];
    const onError = (message: unknown) => errors.push(message);
    const onLog = (message: unknown) => lines.push(message);
    subscribe('keyless:error', onError);
    subscribe('keyless:log', onLog);
    try {
      const error = new KeylessError({ code: 'NETWORK', provider: 'aws', message: 'x' });
      createLogger(undefined, 'aws').debug(`minted ${JWT}`);
      expect(errors).toEqual([{ error }]);
      expect(lines).toEqual([{ level: 'debug', scope: 'aws', message: '[keyless:aws] minted [redacted jwt]' }]);
    } finally {
      unsubscribe('keyless:error', onError);
      unsubscribe('keyless:log', onLog);
    }
  });
});
