/**
 * `pnpm bench`: keyless side by side with the official libraries, in one run, on this machine. Prints
 * markdown tables and writes bench/results.json. Flags: `--quick` (fewer and shorter runs, for a
 * smoke test), `--cjs` (cold start with `require` and the CommonJS builds instead of `import`).
 */
import './env.ts';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { installSize, type LoadMode, measureLoadTimes, packageVersion } from './cold-start.ts';
import { startMockServer } from './fixtures.ts';
import { measureLatency } from './latency.ts';
import { coldBurst, type NetworkResult, steadyLoad } from './network.ts';
import { SUBJECTS, subject } from './subjects.ts';
import { count, fixed, kilobytes, megabytes, ratio, table } from './table.ts';

const quick = process.argv.includes('--quick');
const loadMode: LoadMode = process.argv.includes('--cjs') ? 'require' : 'import';
const SETTINGS = {
  latency: { rounds: quick ? 2 : 5, msPerRound: quick ? 100 : 240, warmupCalls: 500 },
  burstCallers: 10_000,
  steady: { callersPerSecond: 10, seconds: quick ? 600 : 3600 },
  loadRuns: quick ? 2 : 5,
  memoryInstances: quick ? 1_000 : 10_000,
};

/** keyless and the vendor wiring it is compared with, per target (ids of `SUBJECTS`). */
const PAIRS = [
  { target: 'core', keyless: 'core.keyless', vendor: 'core.memo' },
  { target: 'azure', keyless: 'azure.keyless', vendor: 'azure.memo' },
  { target: 'gcp', keyless: 'gcp.keyless', vendor: 'gcp.memo' },
] as const;

/**
 * What a program loads to get a token. keyless loads its vendor peer and the AWS SDK lazily (on first
 * use), so "ready" adds them; the vendor wiring needs `@aws-sdk/client-sts` to get the AWS JWT.
 */
const PACKAGES = [
  {
    target: 'core',
    keyless: '@keyless/core',
    lazy: ['@aws-sdk/client-sts'],
    vendor: ['@aws-sdk/client-sts'],
    wiring: ['@aws-sdk/client-sts'],
  },
  {
    target: 'azure',
    keyless: '@keyless/azure',
    lazy: ['@aws-sdk/client-sts'],
    vendor: ['@azure/identity'],
    wiring: ['@azure/identity', '@aws-sdk/client-sts'],
  },
  {
    target: 'gcp',
    keyless: '@keyless/gcp',
    lazy: ['google-auth-library', '@aws-sdk/client-sts'],
    vendor: ['google-auth-library'],
    wiring: ['google-auth-library', '@aws-sdk/client-sts'],
  },
  {
    target: 'snowflake',
    keyless: '@keyless/snowflake',
    lazy: ['snowflake-sdk', '@aws-sdk/client-sts'],
    vendor: ['snowflake-sdk'],
    wiring: ['snowflake-sdk', '@aws-sdk/client-sts'],
  },
  { target: 'oidc', keyless: '@keyless/oidc', lazy: ['@aws-sdk/client-sts'], vendor: [], wiring: [] },
] as const;

const VENDOR_PACKAGES = ['@azure/identity', 'google-auth-library', 'snowflake-sdk', '@aws-sdk/client-sts'];

const out = (text = '') => process.stdout.write(`${text}\n`);
const section = (title: string, note: string) => {
  out();
  out(`## ${title}`);
  out();
  out(note);
  out();
};

function environment() {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GB`,
    versions: Object.fromEntries(
      [...PACKAGES.map((p) => p.keyless), ...VENDOR_PACKAGES].map((name) => [name, packageVersion(name)]),
    ),
  };
}

async function latencySection() {
  section(
    'Cached getToken latency',
    `One instance each, first token fetched, then called back to back (${SETTINGS.latency.rounds} rounds of ${SETTINGS.latency.msPerRound} ms each, contenders taking turns). p50/p99 of individually timed calls (the clock read is included: ~0.1 µs); ops/s from untimed batches.`,
  );
  const server = await startMockServer();
  try {
    const { fakeStsClient } = await import('./fixtures.ts');
    const context = { origin: server.origin, sts: fakeStsClient() };
    const contenders = new Map(
      PAIRS.flatMap((p) => [p.keyless, p.vendor]).map((id) => [id, subject(id).create(context)]),
    );
    const results = await measureLatency(contenders, SETTINGS.latency);
    const rows: (string | number)[][] = [];
    const json = [];
    for (const pair of PAIRS) {
      const k = results.get(pair.keyless)!;
      const v = results.get(pair.vendor)!;
      for (const [id, r] of [
        [pair.keyless, k],
        [pair.vendor, v],
      ] as const) {
        rows.push([
          pair.target,
          subject(id).label,
          fixed(r.p50Us, 2),
          fixed(r.p99Us, 2),
          count(r.opsPerSecond),
          id === pair.keyless ? ratio(k.opsPerSecond / v.opsPerSecond) : '',
        ]);
        json.push({ target: pair.target, id, label: subject(id).label, ...r });
      }
    }
    out(
      table(['target', 'contender', 'p50 µs', 'p99 µs', 'ops/s', 'keyless ops/s ÷ vendor'], rows, [
        'l',
        'l',
        'r',
        'r',
        'r',
        'r',
      ]),
    );
    return json;
  } finally {
    await server.close();
  }
}

function networkRows(results: Map<string, NetworkResult>) {
  return SUBJECTS.map((s) => {
    const r = results.get(s.id)!;
    return [
      s.target,
      s.label,
      count(r.stsCalls),
      count(r.exchanges),
      count(r.waited),
      r.errors ? count(r.errors) : '0',
    ];
  });
}

async function networkSection() {
  const server = await startMockServer();
  try {
    const burst = new Map<string, NetworkResult>();
    for (const s of SUBJECTS) burst.set(s.id, await coldBurst(s, server.origin, SETTINGS.burstCallers));
    section(
      `Network calls: ${count(SETTINGS.burstCallers)} concurrent callers, cold cache`,
      'Each contender is new; all callers call at once. "exchanges" are requests to Entra ID or Google STS; "waiting" are callers answered only after a network answer (on a cold cache, all of them).',
    );
    const headers = ['target', 'contender', 'STS calls', 'exchanges', 'callers waiting', 'errors'];
    const align: ('l' | 'r')[] = ['l', 'l', 'r', 'r', 'r', 'r'];
    out(table(headers, networkRows(burst), align));

    const hour = new Map<string, NetworkResult>();
    for (const s of SUBJECTS) hour.set(s.id, await steadyLoad(s, server.origin, SETTINGS.steady));
    const { callersPerSecond, seconds } = SETTINGS.steady;
    section(
      `Network calls: ${seconds / 60} simulated minutes of steady load`,
      `${callersPerSecond} callers arrive together at the start of every simulated second (${count(callersPerSecond * seconds)} calls), on a fake clock (only Date is faked). AWS JWTs live 300 s (3600 s for Google, as keyless/gcp asks), access tokens 3599 s (Google's never outlive their JWT). The memos renew the JWT when less than 60 s is left.`,
    );
    out(table(headers, networkRows(hour), align));
    const json = (results: Map<string, NetworkResult>) =>
      SUBJECTS.map((s) => ({ target: s.target, id: s.id, label: s.label, ...results.get(s.id)! }));
    return { coldBurst: json(burst), steady: { ...SETTINGS.steady, results: json(hour) } };
  } finally {
    await server.close();
  }
}

async function coldStartSection() {
  const sets = new Map<string, string[]>();
  const key = (modules: readonly string[]) => modules.join(',');
  for (const p of PACKAGES) {
    for (const modules of [[p.keyless], [p.keyless, ...p.lazy], p.vendor, p.wiring]) {
      if (modules.length > 0) sets.set(key(modules), [...modules]);
    }
  }
  const times = await measureLoadTimes(sets, loadMode, SETTINGS.loadRuns);
  const ms = (modules: readonly string[]) => (modules.length ? times.get(key(modules))!.medianMs : Number.NaN);
  section(
    'Cold start: load time',
    `Milliseconds to ${loadMode === 'import' ? '`import()` the ESM builds' : '`require()` the CommonJS builds'} in a fresh Node process (median of ${SETTINGS.loadRuns} processes after one untimed one; warm file cache). "ready" adds what a first token needs: keyless loads the AWS SDK (and its vendor peer) lazily, the hand wiring needs @aws-sdk/client-sts for the AWS JWT.`,
  );
  const rows: (string | number)[][] = [];
  const json = [];
  for (const p of PACKAGES) {
    const k = ms([p.keyless]);
    const kReady = ms([p.keyless, ...p.lazy]);
    const v = ms(p.vendor);
    const vReady = ms(p.wiring);
    rows.push([
      p.target,
      p.keyless,
      fixed(k),
      fixed(kReady),
      p.vendor.join(' + ') || '—',
      Number.isNaN(v) ? '—' : fixed(v),
      Number.isNaN(vReady) ? '—' : fixed(vReady),
      ratio(v / k),
      ratio(vReady / kReady),
    ]);
    json.push({
      target: p.target,
      keyless: { package: p.keyless, importMs: k, readyMs: kReady, ready: [p.keyless, ...p.lazy] },
      vendor: { packages: p.vendor, importMs: v, readyMs: vReady, ready: p.wiring },
    });
  }
  out(
    table(
      [
        'target',
        'keyless',
        'ms',
        'ready ms',
        'vendor',
        'ms',
        'ready ms',
        'vendor ÷ keyless',
        'ready: vendor ÷ keyless',
      ],
      rows,
      ['l', 'l', 'r', 'r', 'l', 'r', 'r', 'r', 'r'],
    ),
  );
  return { mode: loadMode, runs: SETTINGS.loadRuns, results: json };
}

function sizeSection() {
  section(
    'Installed size',
    'Sum of the file sizes of the package and its production dependency closure (dependencies, installed optionalDependencies and, as npm 7+ installs them, non-optional peerDependencies), read offline from this checkout’s node_modules; a keyless package counts what `npm pack` ships. "wiring" adds @aws-sdk/client-sts to the vendor library (it needs the AWS JWT).',
  );
  const rows: (string | number)[][] = [];
  const json = [];
  for (const p of PACKAGES) {
    const alone = installSize([p.keyless], { peers: false });
    const withPeers = installSize([p.keyless]);
    const vendor = p.vendor.length ? installSize(p.vendor) : undefined;
    const wiring = p.wiring.length ? installSize(p.wiring) : undefined;
    const show = (s: { bytes: number; packages: number } | undefined) =>
      s ? `${megabytes(s.bytes)} (${s.packages})` : '—';
    rows.push([
      p.target,
      show(alone),
      show(withPeers),
      p.vendor.join(' + ') || '—',
      show(vendor),
      show(wiring),
      wiring ? ratio(wiring.bytes / withPeers.bytes) : '—',
    ]);
    json.push({
      target: p.target,
      keyless: p.keyless,
      alone,
      withPeers,
      vendor: p.vendor,
      vendorSize: vendor,
      wiring: wiring,
    });
  }
  out(
    table(
      [
        'target',
        'keyless (packages)',
        'keyless + peers',
        'vendor',
        'vendor alone',
        'vendor wiring',
        'wiring ÷ keyless + peers',
      ],
      rows,
      ['l', 'r', 'r', 'l', 'r', 'r', 'r'],
    ),
  );
  return json;
}

function runMemoryChild(id: string, instances: number): Promise<number> {
  const script = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, id, String(instances)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`memory child ${id} exited with ${code}`));
      resolve((JSON.parse(stdout) as { bytesPerInstance: number }).bytesPerInstance);
    });
  });
}

async function memorySection() {
  const rows: (string | number)[][] = [];
  const json = [];
  for (const pair of PAIRS) {
    const k = await runMemoryChild(pair.keyless, SETTINGS.memoryInstances);
    const v = await runMemoryChild(pair.vendor, SETTINGS.memoryInstances);
    rows.push([
      pair.target,
      subject(pair.keyless).label,
      kilobytes(k),
      subject(pair.vendor).label,
      kilobytes(v),
      ratio(v / k),
    ]);
    json.push({ target: pair.target, keyless: { id: pair.keyless, bytes: k }, vendor: { id: pair.vendor, bytes: v } });
  }
  section(
    'Memory per cached credential',
    `Heap growth (after forced GCs, --expose-gc) per instance holding one cached token, over ${count(SETTINGS.memoryInstances)} instances in a fresh process each, after 50 warm-up instances.`,
  );
  out(table(['target', 'keyless', 'heap', 'vendor', 'heap', 'vendor ÷ keyless'], rows, ['l', 'l', 'r', 'l', 'r', 'r']));
  return { instances: SETTINGS.memoryInstances, results: json };
}

const started = performance.now();
const env = environment();
out(`# keyless benchmarks${quick ? ' (--quick)' : ''}`);
out();
out(`Node ${env.node} · ${env.platform} · ${env.cpu} × ${env.cores} · ${env.memory} RAM · ${new Date().toISOString()}`);
out();
out(
  `Compared with: ${VENDOR_PACKAGES.map((name) => `${name} ${env.versions[name]}`).join(', ')}. Network: in-process mocks and a server on 127.0.0.1 only.`,
);
const latency = await latencySection();
const network = await networkSection();
const coldStart = await coldStartSection();
const installed = sizeSection();
const memory = await memorySection();
const seconds = (performance.now() - started) / 1000;
out();
out(`Done in ${seconds.toFixed(1)} s.`);

const results = {
  generatedAt: new Date().toISOString(),
  quick,
  environment: env,
  settings: SETTINGS,
  latency,
  network,
  coldStart,
  installSize: installed,
  memory,
  durationSeconds: seconds,
};
writeFileSync(new URL('../results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
