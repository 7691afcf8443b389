/**
 * Terminal output of the demo: plain text in CI logs and pipes, colours only on a TTY (and never with
 * NO_COLOR: `styleText` checks the stream and the environment).
 */
import { styleText } from 'node:util';

type Style = Parameters<typeof styleText>[0];

export interface Row {
  target: string;
  credential: string;
  expiresIn: string;
  took: string;
  stsCalls: string;
}

const COLUMNS = [
  { key: 'target', title: 'target', width: 22, align: 'left' },
  { key: 'credential', title: 'credential obtained', width: 38, align: 'left' },
  { key: 'expiresIn', title: 'expires in', width: 10, align: 'right' },
  { key: 'took', title: 'took', width: 8, align: 'right' },
  { key: 'stsCalls', title: 'STS calls', width: 9, align: 'right' },
] as const satisfies readonly { key: keyof Row; title: string; width: number; align: 'left' | 'right' }[];

/** Where the demo writes: stdout, styled only when stdout can show it. */
export const out = {
  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  },
  style(format: Style, text: string): string {
    return styleText(format, text, { stream: process.stdout });
  },
};

export function headerLine(): string {
  return out.style('bold', `  ${COLUMNS.map((c) => pad(c.title, c.width, c.align)).join('  ')}`);
}

export function rowLine(row: Row, ok: boolean): string {
  const cells = COLUMNS.map((c) => pad(row[c.key], c.width, c.align));
  const [target = '', ...rest] = cells;
  return `  ${out.style(ok ? 'cyan' : 'red', target)}  ${rest.join('  ')}`;
}

/** Where the lines under a row start: under the credential column. */
export const DETAIL_INDENT = 2 + COLUMNS[0].width + 2;

/** A line under a row, aligned with the credential column. */
export function detailLine(text: string): string {
  return out.style('dim', `${' '.repeat(DETAIL_INDENT)}${text}`);
}

/** `4m 59s`, `59m 58s`, `1h 00m`, `-` when the credential has no expiry of its own. */
export function formatExpiresIn(expiresAt: Date | undefined, now = Date.now()): string {
  if (!expiresAt) return '-';
  const seconds = Math.max(0, Math.round((expiresAt.getTime() - now) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatMs(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * `label  text`, the text word-wrapped with a hanging indent so long error messages stay readable in a
 * terminal and in CI logs (80..120 columns, the terminal's width when there is one).
 */
export function labelled(indent: number, label: string, text: string, labelWidth = 10): string[] {
  const width = Math.min(Math.max(process.stdout.columns ?? 110, 80), 120);
  const prefix = ' '.repeat(indent);
  const hanging = ' '.repeat(indent + labelWidth + 1);
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/ +/)) {
    const limit = width - hanging.length;
    if (current && current.length + 1 + word.length > limit) {
      lines.push(current);
      current = word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
  }
  lines.push(current);
  return lines.map((line, i) => (i === 0 ? `${prefix}${label.padEnd(labelWidth)} ${line}` : `${hanging}${line}`));
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}
