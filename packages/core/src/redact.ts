/**
 * Redaction is the safety net under a stricter rule: keyless never puts a token, assertion or secret
 * into a message in the first place. These patterns catch what a vendor error might echo back.
 */

const REDACTED = '[redacted]';

const PATTERNS: ReadonlyArray<readonly [RegExp, string | ((match: string, ...groups: string[]) => string)]> = [
  // JWS / JWE compact serialisations (every JWT keyless handles starts with a base64url `{"`).
  [/eyJ[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*){2,4}/g, '[redacted jwt]'],
  // `Authorization: Bearer …` / `Basic …`
  [
    /\b(Bearer|Basic|bearer)\s+(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}/g,
    (_m, scheme: string) => `${scheme} ${REDACTED}`,
  ],
  // key=value, key: value and "key": "value" where the key can only name a secret.
  [
    /((?:access|refresh|id|subject|actor|session|client|master|security|bearer)[_-]?token|client[_-]?(?:secret|assertion)|secret[_-]?access[_-]?key|secretAccessKey|sessionToken|private[_-]?key)(["']?\s*[:=]\s*["']?)([^\s"'&,;}]{4,})/gi,
    (_m, key: string, sep: string) => `${key}${sep}${REDACTED}`,
  ],
  // Words that also occur in prose only count in a form (`token=…`) or as a quoted JSON key.
  [
    /(\b(?:token|assertion|password|passcode|secret)=|"(?:token|assertion|password|passcode|secret)"\s*:\s*")([^\s"'&,;}]{4,})/gi,
    (_m, key: string) => `${key}${REDACTED}`,
  ],
  // AWS session tokens always start with one of these base64 prefixes.
  [/(?:IQoJb3JpZ2lu|FwoGZXIvYXdz)[A-Za-z0-9+/=]{16,}/g, REDACTED],
  // AWS secret access keys: exactly 40 characters of base64.
  [/(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])/g, REDACTED],
  // Well-known opaque token shapes: Google (ya29.), Vault (hvs./hvb./hvr.), Databricks (dapi…), Snowflake (ver:N-hint:…).
  [/\bya29\.[A-Za-z0-9._-]{8,}/g, REDACTED],
  [/\bhv[sbr]\.[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\bdapi[a-f0-9]{32}(?:-\d+)?/g, REDACTED],
  [/\bver:\d+-hint:[A-Za-z0-9_:=+/-]{8,}/g, REDACTED],
  // Anything else long and opaque (longer than any IAM name segment).
  [/[A-Za-z0-9_+=-]{64,}/g, REDACTED],
];

/** Replaces anything that looks like a token, assertion or secret in `text`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) {
    out = out.replace(pattern, replacement as string);
  }
  return out;
}

/** Replaces every occurrence of the given secret values (and then any generic pattern) in `text`. */
export function redactValues(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return redactSecrets(out);
}
