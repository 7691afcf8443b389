/**
 * Child process of the memory measurement (run with --expose-gc): creates `count` instances of one
 * contender, gets each one token (so each holds one cached token), keeps them all, and prints the heap
 * growth per instance. `node --expose-gc src/memory-child.ts <subject id> <count>`.
 */
import './env.ts';
import { fakeStsClient, startMockServer } from './fixtures.ts';
import { type GetToken, subject } from './subjects.ts';

const [id = '', countText = '1000'] = process.argv.slice(2);
const count = Number(countText);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const collect = async () => {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
};

const server = await startMockServer();
const context = { origin: server.origin, sts: fakeStsClient() };
const contender = subject(id);
const BATCH = 200;

async function fill(instances: GetToken[], n: number): Promise<void> {
  for (let done = 0; done < n; done += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, n - done) }, () => contender.create(context));
    await Promise.all(batch.map((getToken) => getToken()));
    instances.push(...batch);
  }
}

// Warm-up: code paths compiled, lazy modules loaded, connection pools opened; none of that is per instance.
const warm: GetToken[] = [];
await fill(warm, 50);
await collect();
const before = process.memoryUsage().heapUsed;
const kept: GetToken[] = [];
await fill(kept, count);
await collect();
const after = process.memoryUsage().heapUsed;
// Still referenced here, so nothing measured can have been collected.
process.stdout.write(
  JSON.stringify({ id, count: kept.length + warm.length - 50, bytesPerInstance: (after - before) / count }),
);
await server.close();
