import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.ts';

describe('FakeClock', () => {
  it('runs due timers in order, with now() at each due time', () => {
    const c = new FakeClock(100, 1_000_000);
    const log: string[] = [];
    c.setTimeout(() => log.push(`b@${c.now()}`), 20);
    c.setTimeout(() => log.push(`a@${c.now()}`), 10);
    c.setTimeout(() => log.push(`c@${c.now()}`), 20);
    expect(c.pending()).toBe(3);
    expect(c.nextDue()).toBe(110);
    expect(c.advance(15)).toBe(1);
    expect(c.advance(5)).toBe(2);
    expect(log).toEqual(['a@110', 'b@120', 'c@120']);
    expect(c.now()).toBe(120);
    expect(c.wallNow()).toBe(1_000_020);
    expect(c.pending()).toBe(0);
  });

  it('runs timers scheduled by callbacks within the same advance; clearTimeout cancels', () => {
    const c = new FakeClock();
    const log: number[] = [];
    const h = c.setTimeout(() => log.push(-1), 5);
    c.clearTimeout(h);
    c.clearTimeout(undefined);
    c.setTimeout(() => {
      log.push(c.now());
      c.setTimeout(() => log.push(c.now()), 10);
    }, 10);
    c.advance(25);
    expect(log).toEqual([10, 20]);
    c.setTimeout(() => log.push(c.now()), 0);
    expect(c.runDue()).toBe(1);
  });

  it('advanceAsync lets promise chains schedule more timers', async () => {
    const c = new FakeClock();
    const log: number[] = [];
    c.setTimeout(() => {
      void Promise.resolve().then(() => c.setTimeout(() => log.push(c.now()), 5));
    }, 5);
    await c.advanceAsync(10);
    expect(log).toEqual([10]);
  });
});
