/**
 * Fixed port plans for tests, kept below Linux's ephemeral range (32768+,
 * where the servers' SIP and HTTP ports land) and apart per Vitest worker so
 * that test files can run in parallel:
 *
 *   server RTP   10000–19999  (5000 per worker, 1000 per server)
 *   interop      20000–29999  (test/interop/tools.ts)
 *   phone RTP    30000–32759  (1380 per worker, 40 per phone)
 *   trunk SIP     5100–5299   (100 per worker)
 */
const worker = Math.max(0, Math.min(1, Number(process.env.VITEST_POOL_ID ?? '1') - 1));

export const SERVER_RTP = { min: 10000 + worker * 5000, max: 10000 + worker * 5000 + 4999 };
export const PHONE_RTP = { min: 30000 + worker * 1380, max: 30000 + worker * 1380 + 1379 };
export const TRUNK_SIP = { min: 5100 + worker * 100, max: 5100 + worker * 100 + 99 };

/** Hands out consecutive blocks of `size` within a range, wrapping around. */
export function blocks(range: { min: number; max: number }, size: number): () => number {
  let next = range.min;
  return () => {
    if (next + size - 1 > range.max) next = range.min;
    const base = next;
    next += size;
    return base;
  };
}
