/**
 * Latency of a cached token: each contender gets its first token (cold), then is called back to back.
 * For percentiles every call is timed on its own; for throughput, calls run in batches timed as a
 * whole (so the clock reads do not count against the contender). Contenders take turns in short
 * rounds so that drift (GC, CPU frequency) spreads evenly over them.
 */
import type { GetToken } from './subjects.ts';

export interface LatencyResult {
  /** Individually timed calls. */
  samples: number;
  p50Us: number;
  p99Us: number;
  opsPerSecond: number;
}

export interface LatencyOptions {
  rounds: number;
  /** Time each contender runs per round (half timed call by call, half in batches). */
  msPerRound: number;
  /** Untimed calls before the first round (JIT warm-up). */
  warmupCalls: number;
}

const BATCH = 64;

export async function measureLatency(
  contenders: Map<string, GetToken>,
  options: LatencyOptions,
): Promise<Map<string, LatencyResult>> {
  const samples = new Map<string, number[]>();
  const batched = new Map<string, { calls: number; ns: bigint }>();
  for (const [id, getToken] of contenders) {
    await getToken();
    for (let i = 0; i < options.warmupCalls; i++) await getToken();
    samples.set(id, []);
    batched.set(id, { calls: 0, ns: 0n });
  }
  const halfNs = BigInt(Math.round((options.msPerRound / 2) * 1e6));
  for (let round = 0; round < options.rounds; round++) {
    for (const [id, getToken] of contenders) {
      const list = samples.get(id)!;
      const started = process.hrtime.bigint();
      let now = started;
      while (now - started < halfNs) {
        const before = now;
        await getToken();
        now = process.hrtime.bigint();
        list.push(Number(now - before));
      }
      const throughput = batched.get(id)!;
      const batchStart = process.hrtime.bigint();
      let end = batchStart;
      while (end - batchStart < halfNs) {
        for (let i = 0; i < BATCH; i++) await getToken();
        throughput.calls += BATCH;
        end = process.hrtime.bigint();
      }
      throughput.ns += end - batchStart;
    }
  }
  const results = new Map<string, LatencyResult>();
  for (const [id, list] of samples) {
    const sorted = Float64Array.from(list).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! / 1000;
    const { calls, ns } = batched.get(id)!;
    results.set(id, {
      samples: sorted.length,
      p50Us: at(0.5),
      p99Us: at(0.99),
      opsPerSecond: calls / (Number(ns) / 1e9),
    });
  }
  return results;
}
