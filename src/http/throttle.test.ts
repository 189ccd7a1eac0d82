import { describe, expect, it } from 'vitest';
import { FailureThrottle, sourceKey } from './throttle.ts';

describe('FailureThrottle', () => {
  it('refuses after the allowed failures until the oldest leaves the window', () => {
    let now = 1000;
    const t = new FailureThrottle({ failures: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(t.retryAfterMs('a')).toBe(0);
      t.fail('a');
      now += 1000;
    }
    expect(t.retryAfterMs('a')).toBe(1000 + 60_000 - now);
    expect(t.retryAfterMs('b')).toBe(0);
    const ok = t.fail('b');
    ok();
    ok();
    expect(t.retryAfterMs('b')).toBe(0);
    now = 1000 + 60_000;
    expect(t.retryAfterMs('a')).toBe(0);
  });

  it('forgets the least recently failing key beyond maxKeys', () => {
    const t = new FailureThrottle({ failures: 1, windowMs: 60_000, now: () => 0, maxKeys: 2 });
    t.fail('a');
    t.fail('b');
    t.fail('c');
    expect(t.retryAfterMs('a')).toBe(0);
    expect(t.retryAfterMs('b')).toBeGreaterThan(0);
    expect(t.retryAfterMs('c')).toBeGreaterThan(0);
  });
});

describe('sourceKey', () => {
  it('keys IPv4 by address and IPv6 by /64', () => {
    expect(sourceKey('127.0.0.1')).toBe('127.0.0.1');
    expect(sourceKey('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(sourceKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(sourceKey('2001:0db8:0000:0001:ffff:1:2:3')).toBe('2001:db8:0:1::/64');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
  });
});
