/**
 * How many network calls each contender makes, and how many callers wait for one: 10,000 callers at
 * once on a cold cache, then an hour of steady load on a fake clock (only `Date` is faked, so sockets,
 * `setImmediate` and time-outs behave as usual while hours pass in seconds).
 */
import FakeTimers from '@sinonjs/fake-timers';
import { counters, countFetches, fakeStsClient, resetCounters, settle } from './fixtures.ts';
import type { GetToken, Subject } from './subjects.ts';

export interface NetworkResult {
  calls: number;
  stsCalls: number;
  exchanges: number;
  /** Callers that were answered only after a network answer arrived during their call. */
  waited: number;
  errors: number;
}

/** One caller: did a network answer arrive while it waited? */
async function call(getToken: GetToken): Promise<'cached' | 'waited' | 'error'> {
  const answersBefore = counters.answers;
  try {
    await getToken();
  } catch {
    return 'error';
  }
  return counters.answers === answersBefore ? 'cached' : 'waited';
}

function tally(outcomes: string[], into: NetworkResult): void {
  for (const outcome of outcomes) {
    into.calls++;
    if (outcome === 'waited') into.waited++;
    if (outcome === 'error') into.errors++;
  }
}

export async function coldBurst(subject: Subject, origin: string, callers: number): Promise<NetworkResult> {
  const restore = countFetches();
  try {
    const getToken = subject.create({ origin, sts: fakeStsClient() });
    resetCounters();
    const result: NetworkResult = { calls: 0, stsCalls: 0, exchanges: 0, waited: 0, errors: 0 };
    tally(await Promise.all(Array.from({ length: callers }, () => call(getToken))), result);
    await settle();
    return { ...result, stsCalls: counters.stsCalls, exchanges: counters.exchanges };
  } finally {
    restore();
  }
}

export interface SteadyLoad {
  callersPerSecond: number;
  seconds: number;
}

/**
 * `callersPerSecond` callers arrive together at the start of every simulated second for `seconds`
 * seconds. After each burst the simulation waits until no request is in flight (background refreshes
 * included) before the clock moves on.
 */
export async function steadyLoad(subject: Subject, origin: string, load: SteadyLoad): Promise<NetworkResult> {
  const clock = FakeTimers.install({ toFake: ['Date'], now: Date.UTC(2026, 0, 1) });
  const restore = countFetches();
  try {
    const getToken = subject.create({ origin, sts: fakeStsClient() });
    resetCounters();
    const result: NetworkResult = { calls: 0, stsCalls: 0, exchanges: 0, waited: 0, errors: 0 };
    for (let second = 0; second < load.seconds; second++) {
      tally(await Promise.all(Array.from({ length: load.callersPerSecond }, () => call(getToken))), result);
      await settle();
      clock.tick(1000);
    }
    return { ...result, stsCalls: counters.stsCalls, exchanges: counters.exchanges };
  } finally {
    restore();
    clock.uninstall();
  }
}
