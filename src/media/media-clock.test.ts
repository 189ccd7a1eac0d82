import { describe, expect, it } from 'vitest';
import { MediaClock } from './media-clock.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MediaClock', () => {
  it('ticks every 20 ms without drift and stops when empty', async () => {
    const clock = new MediaClock();
    const times: number[] = [];
    const m = { tick: () => void times.push(performance.now()) };
    expect(clock.running).toBe(false);
    clock.add(m);
    clock.add(m);
    expect(clock.size).toBe(1);
    expect(clock.running).toBe(true);
    await sleep(1010);
    clock.remove(m);
    expect(clock.running).toBe(false);
    expect(clock.size).toBe(0);
    // 50 ticks in ~1 s, not fewer (a naive setInterval(20) drifts to ~47)
    expect(times.length).toBeGreaterThanOrEqual(49);
    expect(times.length).toBeLessThanOrEqual(51);
    const span = times[times.length - 1]! - times[0]!;
    expect(span / (times.length - 1)).toBeGreaterThan(19.5);
    expect(span / (times.length - 1)).toBeLessThan(20.5);
  });

  it('catches up after a blocked loop in bursts of at most 3, then resyncs', async () => {
    const clock = new MediaClock();
    let ticks = 0;
    const perWake: number[] = [];
    let inWake = false; // microtasks run between timer callbacks: one wake-up = one run
    const m = {
      tick: () => {
        ticks++;
        if (!inWake) {
          inWake = true;
          perWake.push(0);
          queueMicrotask(() => (inWake = false));
        }
        perWake[perWake.length - 1]!++;
      },
    };
    clock.add(m);
    await sleep(30);
    const until = performance.now() + 100; // block ~5 frames
    while (performance.now() < until) {
      /* busy */
    }
    await sleep(200);
    const f = clock.frame;
    clock.stop();
    expect(Math.max(...perWake)).toBeLessThanOrEqual(3);
    expect(clock.lateWakeups).toBeGreaterThan(0);
    expect(f).toBeGreaterThanOrEqual(15);
    expect(ticks).toBe(f);
    expect(clock.running).toBe(false);
  });

  it('drops missed ticks after a long stall but keeps counting frames', async () => {
    const clock = new MediaClock();
    let ticks = 0;
    clock.add({ tick: () => void ticks++ });
    await sleep(25);
    const t0 = performance.now();
    while (performance.now() < t0 + 400) {
      /* busy: 20 frames */
    }
    await sleep(50);
    clock.stop();
    expect(clock.dropped).toBeGreaterThan(10);
    expect(clock.frame).toBeGreaterThanOrEqual(20);
    expect(ticks).toBeLessThan(clock.frame);
  });

  it('survives a throwing member and removal during a tick', async () => {
    const clock = new MediaClock();
    let other = 0;
    const bad = {
      tick: () => {
        throw new Error('x');
      },
    };
    const self: { tick(): void } = { tick: () => clock.remove(self) };
    clock.add(bad);
    clock.add(self);
    clock.add({ tick: () => void other++ });
    await sleep(70);
    clock.stop();
    expect(clock.errors).toBeGreaterThan(0);
    expect(other).toBeGreaterThan(1);
    expect(clock.has(self)).toBe(false);
  });
});

describe('MediaClock frame count', () => {
  it('keeps counting real time across idle periods', async () => {
    const clock = new MediaClock();
    const m = { tick: () => undefined };
    clock.add(m);
    await sleep(50);
    clock.remove(m);
    const f1 = clock.frame;
    await sleep(200);
    clock.add(m);
    await sleep(30);
    clock.remove(m);
    expect(clock.frame - f1).toBeGreaterThanOrEqual(10);
    expect(clock.frame - f1).toBeLessThanOrEqual(14);
  });
});
