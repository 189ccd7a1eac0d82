import { describe, expect, it } from 'vitest';
import { PortPool } from './port-pool.ts';

describe('PortPool', () => {
  it('hands out even ports and counts them', () => {
    const p = new PortPool(40001, 40009);
    expect(p.capacity).toBe(4); // 40002 40004 40006 40008 (each with +1)
    expect([p.acquire(), p.acquire(), p.acquire(), p.acquire()]).toEqual([40002, 40004, 40006, 40008]);
    expect(p.acquire()).toBeUndefined();
    expect(p.free).toBe(0);
  });

  it('reuses released ports last (FIFO) and ignores double or foreign releases', () => {
    const p = new PortPool(40000, 40005);
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

  it('rejects bad ranges', () => {
    expect(() => new PortPool(40000, 40000)).toThrow(RangeError);
    expect(() => new PortPool(100, 200)).toThrow(RangeError);
  });
});
