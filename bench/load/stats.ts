/**
 * The load bench's statistics: percentiles of the generator's histograms and of plain
 * samples, and loss. The generator (rtp-load.c) only counts; what is reported is computed here.
 */

/** A sparse histogram: [bucket index, count] pairs, bucket width given separately. */
export type Histogram = readonly (readonly [number, number])[];

/**
 * The p-th percentile (0 < p ≤ 100, nearest-rank: the smallest value with at least p % of
 * the samples at or below it) of a histogram, as the upper edge of its bucket, in ms.
 * NaN when empty.
 */
export function histogramPercentile(hist: Histogram, bucketUs: number, p: number): number {
  const total = hist.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  const sorted = [...hist].sort((x, y) => x[0] - y[0]);
  let seen = 0;
  for (const [bucket, count] of sorted) {
    seen += count;
    if (seen >= rank) return ((bucket + 1) * bucketUs) / 1000;
  }
  return ((sorted[sorted.length - 1]![0] + 1) * bucketUs) / 1000;
}

/** The p-th percentile (nearest-rank) of samples; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

/** Per cent of `sent` that did not come back; 100 when something was due and nothing was sent. */
export function lossPct(sent: number, received: number): number {
  if (sent <= 0) return 100;
  return (Math.max(0, sent - received) / sent) * 100;
}
