/**
 * Keeps the fault matrix honest: every endpoint × fault has a cell, every test a cell points at
 * exists (a renamed contract test breaks this, not the coverage claim silently), every endpoint
 * that uses the shared suite calls it, and README.md shows this very matrix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENDPOINTS, type EndpointId, FAULTS, type FaultId, MATRIX, renderMatrix } from './matrix.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(`${root}${file}`, 'utf8');
const endpoints = Object.keys(ENDPOINTS) as EndpointId[];
const faults = Object.keys(FAULTS) as FaultId[];

describe('the fault matrix', () => {
  it('has a cell for every endpoint × fault, and nothing else', () => {
    expect(Object.keys(MATRIX).sort()).toEqual([...endpoints].sort());
    for (const endpoint of endpoints) expect(Object.keys(MATRIX[endpoint]).sort()).toEqual([...faults].sort());
  });

  it.each(endpoints)('%s: every referenced test exists under its title', (endpoint) => {
    for (const fault of faults) {
      const cell = MATRIX[endpoint][fault];
      if (cell.by === 'na') {
        expect(cell.why.length, `${endpoint} × ${fault}`).toBeGreaterThan(10);
        continue;
      }
      if (cell.by === 'suite') {
        const file = ENDPOINTS[endpoint].suiteFile;
        expect(file, `${endpoint} × ${fault}: suite cell without a suite file`).toBeDefined();
        expect(read(file!)).toContain(`endpoint: '${endpoint}'`);
        continue;
      }
      expect(existsSync(`${root}${cell.file}`), `${endpoint} × ${fault}: ${cell.file}`).toBe(true);
      const source = read(cell.file);
      expect(source, `${endpoint} × ${fault}: no test titled ${cell.title} in ${cell.file}`).toContain(cell.title);
      if (cell.by === 'bug') expect(source).toMatch(new RegExp(`it\\.fails\\(\\s*'${escapeRegExp(cell.title)}`));
      if (cell.by === 'test') expect(cell.title.startsWith(`[${endpoint} × ${fault}]`)).toBe(true);
    }
  });

  it('is what README.md shows', () => {
    expect(read('test/reliability/README.md')).toContain(renderMatrix());
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
