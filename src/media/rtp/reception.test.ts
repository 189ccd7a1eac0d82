import { describe, expect, it } from 'vitest';
import { ReceptionStats } from './reception.ts';

/** Feeds packets `seqs` of one stream, 20 ms (160 timestamp units) apart in both clocks. */
function feed(r: ReceptionStats, seqs: number[], ssrc = 0x1234): void {
  for (const seq of seqs) r.packet(ssrc, seq);
}

describe('ReceptionStats: packets lost (RFC 3550 A.3)', () => {
  it('counts none for an unbroken stream, across the 16-bit wrap', () => {
    const r = new ReceptionStats();
    feed(r, [65533, 65534, 65535, 0, 1, 2]);
    expect(r.lost).toBe(0);
  });

  it('counts the gaps', () => {
    const r = new ReceptionStats();
    feed(r, [10, 11, 14, 15, 20]);
    expect(r.lost).toBe(2 + 4);
  });

  it('takes a duplicate or a slightly late packet as received, and never lowers the count', () => {
    const r = new ReceptionStats();
    feed(r, [10, 12]);
    expect(r.lost).toBe(1);
    feed(r, [11, 12, 13]); // 11 late, 12 duplicate
    expect(r.lost).toBe(1);
  });

  it('keeps what a stream lost when the peer starts another (new SSRC, or a big jump)', () => {
    const r = new ReceptionStats();
    feed(r, [1, 3]);
    feed(r, [500, 502], 0x9999);
    expect(r.lost).toBe(2);
    feed(r, [40_000, 40_001, 40_003], 0x9999);
    expect(r.lost).toBe(3);
  });
});

describe('ReceptionStats: interarrival jitter (RFC 3550 A.8)', () => {
  it('stays 0 for packets arriving exactly at their timestamps, across the 32-bit wrap', () => {
    const r = new ReceptionStats();
    let ts = 0xffffffff - 320;
    for (let i = 0; i < 10; i++, ts = (ts + 160) >>> 0) r.timing(ts, 1000 + i * 20);
    expect(r.jitterSeconds).toBe(0);
  });

  it('converges on the spread of the arrival times (alternately 10 ms early and late: |D| = 20 ms)', () => {
    const r = new ReceptionStats();
    for (let i = 0; i < 400; i++) r.timing(i * 160, i * 20 + (i % 2 === 0 ? -10 : 10));
    expect(r.jitterSeconds).toBeCloseTo(0.02, 4);
    expect(r.maxJitterSeconds).toBeGreaterThanOrEqual(r.jitterSeconds);
  });
});
