import { matchesTarget } from './faults.js';
import type { EndpointName, EndpointStats, RequestRecord, Stats, Target } from './types.js';

const RECENT_LIMIT = 500;

export interface StatsRecorder extends Stats {
  record(entry: RequestRecord): void;
}

export function createStats(): StatsRecorder {
  let counts = new Map<EndpointName, EndpointStats>();
  let recent: RequestRecord[] = [];
  return {
    record(entry) {
      const stats = counts.get(entry.endpoint) ?? { calls: 0, ok: 0, failed: 0 };
      stats.calls++;
      if (entry.status >= 200 && entry.status < 300) stats.ok++;
      else stats.failed++;
      counts.set(entry.endpoint, stats);
      recent.push(entry);
      if (recent.length > RECENT_LIMIT) recent = recent.slice(-RECENT_LIMIT);
    },
    get(target: Target = '*') {
      const total: EndpointStats = { calls: 0, ok: 0, failed: 0 };
      for (const [endpoint, stats] of counts) {
        if (!matchesTarget(target, endpoint)) continue;
        total.calls += stats.calls;
        total.ok += stats.ok;
        total.failed += stats.failed;
      }
      return total;
    },
    snapshot() {
      return Object.fromEntries([...counts].map(([endpoint, stats]) => [endpoint, { ...stats }]));
    },
    recent() {
      return recent.map((entry) => ({ ...entry }));
    },
    reset() {
      counts = new Map();
      recent = [];
    },
  };
}
