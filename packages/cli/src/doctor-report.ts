import { isKeylessError, type PresentedClaims } from '@keyless/core';
import type { CliIo, Style } from './io.js';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** One line: what was found, or what went wrong. */
  detail: string;
  hint?: string | undefined;
  code?: string | undefined;
  /** What was presented and what the target expects, field by field. */
  presented?: PresentedClaims | undefined;
  expected?: Record<string, string> | undefined;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, status: 'pass', detail });
export const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });

export function fail(name: string, error: unknown, extra: Partial<CheckResult> = {}): CheckResult {
  if (isKeylessError(error)) {
    return {
      name,
      status: 'fail',
      detail: error.message,
      hint: error.hint,
      code: error.code,
      presented: error.details.presented,
      ...extra,
    };
  }
  return { name, status: 'fail', detail: error instanceof Error ? error.message : String(error), ...extra };
}

const SYMBOL: Record<CheckStatus, string> = { pass: '✔', fail: '✖', skip: '-' };

/** One line per check, then the facts of a failure indented under it. */
export function printChecks(io: CliIo, style: Style, checks: readonly CheckResult[]): void {
  const width = Math.max(...checks.map((c) => c.name.length));
  const indent = ' '.repeat(width + 4);
  for (const check of checks) {
    const colour = check.status === 'pass' ? style.green : check.status === 'fail' ? style.red : style.dim;
    const detail = check.status === 'skip' ? style.dim(`skipped: ${check.detail}`) : check.detail;
    io.stdout(
      `${colour(SYMBOL[check.status])} ${check.name.padEnd(width)}  ${detail}${check.code ? ` ${style.dim(`[${check.code}]`)}` : ''}\n`,
    );
    if (check.status !== 'fail') continue;
    for (const field of ['iss', 'sub', 'aud', 'alg'] as const) {
      const presented = check.presented?.[field];
      const expected = check.expected?.[field];
      if (presented === undefined && expected === undefined) continue;
      const shown = Array.isArray(presented) ? presented.join(', ') : (presented ?? '?');
      const mismatch =
        expected !== undefined && !(Array.isArray(presented) ? presented : [presented]).includes(expected);
      io.stdout(
        `${indent}${field}: presented ${shown}${expected === undefined ? '' : `, expected ${expected}`}${mismatch ? style.red('  ← differs') : ''}\n`,
      );
    }
    if (check.hint) io.stdout(`${indent}${style.yellow('hint:')} ${check.hint}\n`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  const passed = checks.filter((c) => c.status === 'pass').length;
  const skipped = checks.length - failed - passed;
  io.stdout(
    `\n${failed === 0 ? style.green('all checks passed') : style.red(`${failed} check${failed === 1 ? '' : 's'} failed`)} (${passed} passed, ${failed} failed, ${skipped} skipped)\n`,
  );
}
