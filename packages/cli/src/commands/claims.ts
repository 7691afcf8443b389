import { AWS_CLAIMS_KEY, decodeAwsWebIdentityClaims, summarizeToken } from '@keyless/core';
import type { Command } from '../command.js';
import { UsageError } from '../usage-error.js';

export const claimsCommand: Command = {
  name: 'claims',
  summary: 'decode a JWT (no verification) and show its claims',
  usage: 'keyless claims <jwt | -> [--json]',
  help: `Decodes a JWT without verifying it and prints its header and claims readably; "-" reads the
token from standard input. Nothing is sent anywhere.

Options:
  --json                  print { header, claims } as JSON

Examples:
  keyless claims eyJhbGciOi…
  keyless token --audience sts.example.com | keyless claims -`,
  options: { json: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run({ positionals, values, io, style }) {
    const source = positionals[0]!;
    const token = (source === '-' ? await io.readStdin() : source).trim();
    const parts = token.split('.');
    if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) {
      throw new UsageError('that is not a JWT (three base64url parts separated by dots)');
    }
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new UsageError('that is not a JWT: its header or payload is not base64url JSON');
    }
    if (values.json === true) {
      io.stdout(`${JSON.stringify({ header, claims }, null, 2)}\n`);
      return 0;
    }
    const summary = summarizeToken(token);
    const lines: [string, string][] = [];
    const add = (label: string, value: unknown) => {
      if (value !== undefined) lines.push([label, typeof value === 'string' ? value : JSON.stringify(value)]);
    };
    add('algorithm', summary.alg);
    add('key id', summary.kid);
    add('issuer', claims.iss);
    add('subject', claims.sub);
    add('audience', claims.aud);
    add('issued at', timestamp(claims.iat));
    add('not before', timestamp(claims.nbf));
    add('expires', timestamp(claims.exp, true));
    add('token id', claims.jti);
    const aws = claims[AWS_CLAIMS_KEY];
    if (typeof aws === 'object' && aws !== null) {
      for (const [key, value] of Object.entries(aws as Record<string, unknown>)) add(`aws ${key}`, value);
    }
    for (const [key, value] of Object.entries(claims)) {
      if (!['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti', AWS_CLAIMS_KEY].includes(key)) add(key, value);
    }
    const width = Math.max(...lines.map(([label]) => label.length));
    for (const [label, value] of lines) io.stdout(`${style.dim(label.padEnd(width))}  ${value}\n`);
    try {
      decodeAwsWebIdentityClaims(token);
    } catch {
      io.stderr(
        `${style.yellow('note:')} not shaped like an AWS web identity token (it lacks iss, sub, aud, iat or exp)\n`,
      );
    }
    return 0;
  },
};

function timestamp(value: unknown, relative = false): string | undefined {
  if (typeof value !== 'number') return undefined;
  const iso = new Date(value * 1000).toISOString();
  if (!relative) return iso;
  const seconds = Math.round(value - Date.now() / 1000);
  return `${iso} (${seconds >= 0 ? `in ${seconds} s` : `${-seconds} s ago, expired`})`;
}
