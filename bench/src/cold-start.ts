/**
 * Cold start: how long loading a package takes in a fresh Node process (median of several runs, each
 * a new child process; the file system cache is warm, as on a warm Lambda host), and what it installs
 * (sum of file sizes of the package and its production dependency closure, computed from the existing
 * node_modules, offline).
 */
import { execFile } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./import-child.ts', import.meta.url));

export type LoadMode = 'import' | 'require';

/** Milliseconds to load `modules` in a new process, once. */
async function loadOnce(modules: readonly string[], mode: LoadMode): Promise<number> {
  const { stdout } = await run(process.execPath, [CHILD, mode, modules.join(',')], {
    cwd: BENCH_DIR,
    env: { ...process.env, SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true', AWS_EC2_METADATA_DISABLED: 'true' },
  });
  return (JSON.parse(stdout) as { ms: number }).ms;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Median load time of each module set. Sets take turns run by run (so that a noisy moment hits all
 * of them alike), after one untimed run each.
 */
export async function measureLoadTimes(
  sets: ReadonlyMap<string, readonly string[]>,
  mode: LoadMode,
  runs: number,
): Promise<Map<string, { medianMs: number; runsMs: number[] }>> {
  const times = new Map<string, number[]>();
  for (const [id, modules] of sets) {
    await loadOnce(modules, mode);
    times.set(id, []);
  }
  for (let i = 0; i < runs; i++) {
    for (const [id, modules] of sets) times.get(id)!.push(await loadOnce(modules, mode));
  }
  return new Map([...times].map(([id, list]) => [id, { medianMs: median(list), runsMs: list }]));
}

interface Manifest {
  name?: string;
  files?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Node's lookup of `name` from a package directory: `node_modules/<name>` in it and every ancestor. */
function resolvePackageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (!dir.endsWith(`${'/'}node_modules`)) {
      const candidate = join(dir, 'node_modules', name);
      try {
        if (statSync(join(candidate, 'package.json')).isFile()) return realpathSync(candidate);
      } catch {
        // not here: keep walking up
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Package directories a production install of `name` brings: its `dependencies`, installed
 * `optionalDependencies` and, as npm 7+ installs them, its non-optional `peerDependencies`, transitively.
 */
export function dependencyClosure(names: readonly string[], { peers = true } = {}): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string, from: string, optional: boolean) => {
    const dir = resolvePackageDir(name, from);
    if (dir === undefined) {
      if (optional) return;
      throw new Error(`cannot resolve ${name} from ${from}`);
    }
    if (seen.has(dir)) return;
    seen.add(dir);
    const m = manifest(dir);
    for (const dep of Object.keys(m.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(m.optionalDependencies ?? {})) visit(dep, dir, true);
    if (peers) {
      for (const dep of Object.keys(m.peerDependencies ?? {})) {
        if (!m.peerDependenciesMeta?.[dep]?.optional) visit(dep, dir, true);
      }
    }
  };
  for (const name of names) visit(name, BENCH_DIR, false);
  return seen;
}

function treeBytes(path: string): number {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return 0;
  if (!stat.isDirectory()) return stat.size;
  let total = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules') continue;
    total += treeBytes(join(path, entry));
  }
  return total;
}

/** Bytes a package occupies once installed. A workspace package counts what `npm pack` would ship. */
function packageBytes(dir: string): number {
  if (dir.includes(`${'/'}node_modules${'/'}`)) return treeBytes(dir);
  const m = manifest(dir);
  const shipped = new Set(['package.json', ...(m.files ?? [])]);
  for (const entry of readdirSync(dir)) if (/^(readme|license|licence)/i.test(entry)) shipped.add(entry);
  let total = 0;
  for (const entry of shipped) {
    try {
      total += treeBytes(join(dir, entry));
    } catch {
      // a listed file that does not exist ships nothing
    }
  }
  return total;
}

export interface InstallSize {
  packages: number;
  bytes: number;
}

export function installSize(names: readonly string[], options: { peers?: boolean } = {}): InstallSize {
  const closure = dependencyClosure(names, options);
  let bytes = 0;
  for (const dir of closure) bytes += packageBytes(dir);
  return { packages: closure.size, bytes };
}

/** Version of an installed package, as the bench resolves it. */
export function packageVersion(name: string): string {
  const dir = resolvePackageDir(name, BENCH_DIR);
  return dir === undefined ? 'not installed' : ((manifest(dir) as { version?: string }).version ?? '?');
}
