import type { EmulatorClock } from './types.js';

export interface Clock extends EmulatorClock {
  /** Milliseconds since the epoch on the emulator's clock. */
  ms(): number;
  /** Whole seconds since the epoch on the emulator's clock. */
  seconds(): number;
}

/** Real time plus an offset that tests move; reads `Date.now()` so fake timers move it too. */
export function createClock(): Clock {
  let offsetMs = 0;
  const ms = () => Date.now() + offsetMs;
  return {
    ms,
    seconds: () => Math.floor(ms() / 1000),
    now: () => new Date(ms()),
    advance(seconds: number) {
      if (!Number.isFinite(seconds))
        throw new TypeError(`clock.advance(seconds) needs a finite number, got ${seconds}`);
      offsetMs += seconds * 1000;
    },
    reset() {
      offsetMs = 0;
    },
  };
}
