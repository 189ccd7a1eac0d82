import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { histogramPercentile, lossPct, percentile } from '../../bench/load/stats.ts';
import { buildPeers } from '../../bench/load/rtp-peers.ts';

describe('load bench statistics', () => {
  it('percentile is nearest-rank', () => {
    const v = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    expect(percentile(v, 50)).toBe(5);
    expect(percentile(v, 99)).toBe(10);
    expect(percentile(v, 10)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });

  it('a histogram percentile is the upper edge of the bucket holding that rank, in ms', () => {
    // 10 µs buckets: 98 samples in bucket 1 (10–20 µs), 2 in bucket 500 (5.00–5.01 ms).
    const h = [
      [500, 2],
      [1, 98],
    ] as const;
    expect(histogramPercentile(h, 10, 50)).toBeCloseTo(0.02, 10);
    expect(histogramPercentile(h, 10, 98)).toBeCloseTo(0.02, 10);
    expect(histogramPercentile(h, 10, 99)).toBeCloseTo(5.01, 10);
    expect(histogramPercentile([], 10, 99)).toBeNaN();
  });

  it('loss is the share of what was sent that did not come back', () => {
    expect(lossPct(1000, 999)).toBeCloseTo(0.1, 10);
    expect(lossPct(1000, 1000)).toBe(0);
    expect(lossPct(1000, 1001)).toBe(0); // duplicates never make negative loss
    expect(lossPct(0, 0)).toBe(100); // nothing sent when something was due
  });

  describe('RFC 3550 interarrival jitter of the C generator', () => {
    let cc = true;
    try {
      execFileSync('cc', ['--version'], { stdio: 'ignore' });
    } catch {
      cc = false;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'agentline-load-stats-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.skipIf(!cc)('J += (|D| - J) / 16 with D the change of transit time (6.4.1)', () => {
      const bin = buildPeers(dir);
      // 20 ms packets (160 timestamp units); the third arrives 10 ms late, the fourth on time.
      const input = ['0 0', '20000000 160', '50000000 320', '60000000 480', '80000000 640'].join('\n');
      const j = execFileSync(bin, ['jitter'], { input, encoding: 'utf8' }).trim().split('\n').map(Number);
      expect(j[0]).toBe(0);
      expect(j[1]).toBe(0); // on time: D = 0
      expect(j[2]).toBeCloseTo(80 / 16 / 8, 6); // D = 80 units (10 ms): J = 5 units = 0.625 ms
      expect(j[3]).toBeCloseTo((5 + (80 - 5) / 16) / 8, 6); // back on time: D = 80 again
      expect(j[4]).toBeCloseTo(((5 + (80 - 5) / 16) * 15) / 16 / 8, 6); // D = 0: J decays by 1/16
    });
  });
});
