import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClock } from './clock.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('emulator clock', () => {
  it('follows Date.now (fake timers too) plus an offset that tests move', () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const clock = createClock();
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    clock.advance(90);
    expect(clock.seconds()).toBe(Date.parse('2026-01-01T00:01:30Z') / 1000);
    vi.advanceTimersByTime(10_000);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:01:40.000Z');
    clock.reset();
    expect(clock.ms()).toBe(Date.parse('2026-01-01T00:00:10Z'));
    expect(() => clock.advance(Number.NaN)).toThrow(TypeError);
  });
});
