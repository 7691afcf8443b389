/**
 * Secrets the fixtures hand out (signed JWTs, access tokens, secret keys), registered so that the
 * suite-wide leak check (test/setup/leak-check.ts) can look for them in every error and log line.
 */
const REGISTRY = Symbol.for('keyless.test.secrets');

function registry(): Set<string> {
  const holder = globalThis as unknown as Record<symbol, Set<string> | undefined>;
  holder[REGISTRY] ??= new Set<string>();
  return holder[REGISTRY];
}

/** Registers a secret (and returns it, for `const token = registerSecret(...)`). Short values are ignored. */
export function registerSecret<T extends string>(secret: T): T {
  if (secret.length >= 12) {
    registry().add(secret);
    // A JWT's signature alone is as bad as the whole token.
    for (const part of secret.split('.')) if (part.length >= 24) registry().add(part);
  }
  return secret;
}

export function registeredSecrets(): ReadonlySet<string> {
  return registry();
}
