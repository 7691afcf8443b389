/**
 * The suite-wide leak check: every KeylessError built and every log line keyless writes during any
 * test (published on keyless's diagnostics channels, at every level, logger or not) is scanned for
 * JWTs, AWS session tokens and the secrets the fixtures registered. A hit fails the test that produced it.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { redactSecrets } from '@keyless/core';
import { afterAll, afterEach, expect } from 'vitest';
import { errorText } from '../support/leaks.js';
import { registeredSecrets } from '../support/secrets.js';

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;
const AWS_SESSION_TOKEN = /(?:IQoJb3JpZ2lu|FwoGZXIvYXdz)[A-Za-z0-9+/=]{16,}/;

let seen: { source: string; text: string }[] = [];

const onError = (message: unknown) => {
  seen.push({ source: 'KeylessError', text: errorText((message as { error: unknown }).error) });
};
const onLog = (message: unknown) => {
  const { level, message: line } = message as { level: string; message: string };
  seen.push({ source: `log (${level})`, text: line });
};
subscribe('keyless:error', onError);
subscribe('keyless:log', onLog);

afterEach(() => {
  const items = seen;
  seen = [];
  const secrets = [...registeredSecrets()];
  for (const { source, text } of items) {
    const hit =
      JWT.exec(text)?.[0] ?? AWS_SESSION_TOKEN.exec(text)?.[0] ?? secrets.find((secret) => text.includes(secret));
    expect(
      hit,
      `${source} leaked a secret (…${hit?.slice(0, 12)}…): ${redactSecrets(text).slice(0, 200)}`,
    ).toBeUndefined();
  }
});

afterAll(() => {
  unsubscribe('keyless:error', onError);
  unsubscribe('keyless:log', onLog);
});
