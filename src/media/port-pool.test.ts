import { describe, expect, it } from 'vitest';
import { PortPool } from './port-pool.ts';

/** Always picks the head of the ring: the pool then behaves as a plain FIFO. */
const first = (): number => 0;

describe('PortPool', () => {
  it('hands out even ports and counts them', () => {
    const p = new PortPool(40001, 40009, first);
    expect(p.capacity).toBe(4); // 40002 40004 40006 40008 (each with +1)
    expect([p.acquire(), p.acquire(), p.acquire(), p.acquire()]).toEqual([40002, 40004, 40006, 40008]);
    expect(p.acquire()).toBeUndefined();
    expect(p.free).toBe(0);
  });

  it('reuses released ports last (FIFO) and ignores double or foreign releases', () => {
    const p = new PortPool(40000, 40005, first);
    const a = p.acquire()!;
    const b = p.acquire()!;
    p.release(a);
    p.release(a);
    p.release(12345);
    p.release(b + 1);
    expect(p.free).toBe(2);
    expect(p.acquire()).toBe(40004);
    expect(p.acquire()).toBe(a);
    expect(p.acquire()).toBeUndefined();
    p.release(b);
    expect(p.free).toBe(1);
  });

  it('hands out ports in a shuffled order, not one after another', () => {
    const p = new PortPool(20000, 29999);
    const got = Array.from({ length: 50 }, () => p.acquire()!);
    const consecutive = got.slice(1).filter((port, i) => port === got[i]! + 2).length;
    // In order, all 49 steps would be +2; at random, each is +2 with a chance of about 1/2500.
    expect(consecutive).toBeLessThan(5);
    expect(got.some((port, i) => i > 0 && port < got[i - 1]!)).toBe(true);
  });

  it('never hands out a port twice and gives every port back, under random churn', () => {
    let seed = 12345;
    const lcg = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (const random of [undefined, lcg]) {
      const p = new PortPool(30000, 30199, random);
      const held = new Set<number>();
      for (let step = 0; step < 5000; step++) {
        if (held.size > 0 && (lcg(3) === 0 || held.size === p.capacity)) {
          const victim = [...held][lcg(held.size)]!;
          held.delete(victim);
          p.release(victim);
        } else {
          const port = p.acquire()!;
          expect(port % 2).toBe(0);
          expect(port).toBeGreaterThanOrEqual(30000);
          expect(port + 1).toBeLessThanOrEqual(30199);
          expect(held.has(port)).toBe(false);
          held.add(port);
        }
        expect(p.free).toBe(p.capacity - held.size);
      }
      while (p.free > 0) {
        const port = p.acquire()!;
        expect(held.has(port)).toBe(false);
        held.add(port);
      }
      expect(held.size).toBe(p.capacity);
      expect(p.acquire()).toBeUndefined();
      for (const port of held) p.release(port);
      expect(p.free).toBe(p.capacity);
      const all = new Set(Array.from({ length: p.capacity }, () => p.acquire()));
      expect(all.size).toBe(p.capacity);
    }
  });

  it('keeps a port released a moment ago out of the next picks', () => {
    const p = new PortPool(40000, 40099); // 50 pairs
    const ports = Array.from({ length: 10 }, () => p.acquire()!);
    const last = ports[9]!;
    p.release(last);
    // The older half of the free ring (the 40 never used) is where picks come from.
    for (let i = 0; i < 20; i++) expect(p.acquire()).not.toBe(last);
  });

  it('rejects bad ranges', () => {
    expect(() => new PortPool(40000, 40000)).toThrow(RangeError);
    expect(() => new PortPool(100, 200)).toThrow(RangeError);
  });
});
