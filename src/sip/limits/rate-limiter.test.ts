import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../util/fake-clock.ts';
import { RateLimiter } from './rate-limiter.ts';

const TEN = { rate: 10, burst: 20 };

describe('RateLimiter (token bucket per key)', () => {
  it('lets a burst through, then refuses with the time until the next token', () => {
    const clock = new FakeClock();
    const l = new RateLimiter(clock);
    for (let i = 0; i < 20; i++) expect(l.take('a', TEN).ok).toBe(true);
    const r = l.take('a', TEN);
    expect(r).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('refills at the rate: 10/s means one token each 100 ms, never above the burst', () => {
    const clock = new FakeClock();
    const l = new RateLimiter(clock);
    for (let i = 0; i < 20; i++) l.take('a', TEN);
    clock.advance(100);
    expect(l.take('a', TEN).ok).toBe(true);
    expect(l.take('a', TEN).ok).toBe(false);
    clock.advance(60_000);
    let n = 0;
    while (l.take('a', TEN).ok) n++;
    expect(n).toBe(20);
  });

  it('a sustained 15/s from one key gets 10/s through after the burst', () => {
    const clock = new FakeClock();
    const l = new RateLimiter(clock);
    let ok = 0;
    for (let i = 0; i < 150; i++) {
      if (l.take('a', TEN).ok) ok++;
      clock.advance(1000 / 15);
    }
    // 10 s at 15/s: the burst of 20 plus ~10/s refill for the rest.
    expect(ok).toBeGreaterThanOrEqual(105);
    expect(ok).toBeLessThanOrEqual(121);
  });

  it('keys are independent', () => {
    const clock = new FakeClock();
    const l = new RateLimiter(clock);
    for (let i = 0; i < 20; i++) l.take('a', TEN);
    expect(l.take('a', TEN).ok).toBe(false);
    expect(l.take('b', TEN).ok).toBe(true);
  });

  it('the allowance is the caller’s: a higher one for the same key applies at once', () => {
    const clock = new FakeClock();
    const l = new RateLimiter(clock);
    for (let i = 0; i < 20; i++) l.take('a', TEN);
    expect(l.take('a', TEN).ok).toBe(false);
    clock.advance(10);
    expect(l.take('a', { rate: 1000, burst: 100 }).ok).toBe(true);
  });

  it('rate 0 means no limit', () => {
    const l = new RateLimiter(new FakeClock());
    for (let i = 0; i < 1000; i++) expect(l.take('a', { rate: 0, burst: 0 }).ok).toBe(true);
    expect(l.size).toBe(0);
  });

  it('memory is bounded: refilled buckets are dropped first, then the oldest', () => {
    const clock = new FakeClock();
    const l = new RateLimiter(clock, { maxKeys: 100 });
    for (let i = 0; i < 100; i++) l.take(`k${i}`, TEN);
    expect(l.size).toBe(100);
    clock.advance(1000); // every bucket is full again
    l.take('new', TEN);
    expect(l.size).toBe(1);
    for (let i = 0; i < 200; i++) l.take(`x${i}`, TEN); // none refills in between
    expect(l.size).toBeLessThanOrEqual(100);
  });
});
