/**
 * RTP pacing on loopback: N sessions send a 20 ms tone stream to N receiving sessions
 * for a few seconds, driven by one shared MediaClock; the receivers record arrival
 * times and we print the inter-packet interval distribution (ideal: 20 ms).
 *
 *   npx tsx bench/rtp-pacing.ts [N=200] [seconds=5] [tone|silence|cn]
 *
 * `silence` / `cn`: the senders play nothing and send the idle fill (issue 10 item 7:
 * encoded PCMU silence, or RFC 3389 comfort noise) — the cost of an idle leg.
 */
import { MediaClock } from '../src/media/media-clock.ts';
import { LoopPlayer } from '../src/media/player.ts';
import { PortPool } from '../src/media/port-pool.ts';
import { RtpSession } from '../src/media/rtp/session.ts';
import { renderTone } from '../src/media/tones.ts';

const N = Number(process.argv[2] ?? 200);
const SECONDS = Number(process.argv[3] ?? 5);
const MODE = process.argv[4] ?? 'tone';
const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pool = new PortPool(42000, 42000 + 4 * N + 10);
const clock = new MediaClock();
const tone = renderTone({ loop: true, segments: [{ freqs: [1000], ms: 1000 }] });

const open = async () => {
  const s = await RtpSession.open({ host: HOST, pool, clock });
  s.setCodec({ codec: 'PCMU', payloadType: 0, ...(MODE === 'cn' ? { cnPayloadType: 13 } : {}) });
  return s;
};
const senders: RtpSession[] = [];
const receivers: RtpSession[] = [];
for (let i = 0; i < N; i++) {
  const [tx, rx] = await Promise.all([open(), open()]);
  tx.setRemote(HOST, rx.localPort);
  // Strict source (issue 11): a receiver with no remote drops everything.
  rx.setRemote(HOST, tx.localPort);
  senders.push(tx);
  receivers.push(rx);
}

const cap = Math.ceil((SECONDS * 1000) / 20) + 50;
const arrivals = receivers.map(() => ({ t: new Float64Array(cap), n: 0 }));
let recording = false;
receivers.forEach((rx, i) => {
  const a = arrivals[i]!;
  rx.onPacket = () => {
    if (recording && a.n < cap) a.t[a.n++] = performance.now();
  };
});

const cpu0 = process.cpuUsage();
for (const tx of senders) {
  if (MODE === 'tone') tx.setSource(new LoopPlayer(tone));
  else tx.setFill(true);
}
await sleep(300); // warm-up
recording = true;
const t0 = performance.now();
await sleep(SECONDS * 1000);
recording = false;
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);

const intervals: number[] = [];
let received = 0;
for (const a of arrivals) {
  received += a.n;
  for (let i = 1; i < a.n; i++) intervals.push(a.t[i]! - a.t[i - 1]!);
}
intervals.sort((x, y) => x - y);
const pct = (p: number) =>
  intervals[Math.min(intervals.length - 1, Math.floor((p / 100) * intervals.length))] ?? NaN;
const over = (ms: number) => intervals.filter((x) => x > ms).length;

for (const s of [...senders, ...receivers]) s.close();
clock.stop();

console.log(
  `rtp-pacing (${MODE}): ${N} streams × ${elapsed.toFixed(1)} s on loopback, one shared MediaClock`,
);
console.log(
  `  packets received ${received} (${(received / elapsed).toFixed(0)}/s, expected ${(N * 50).toFixed(0)}/s)`,
);
console.log(
  `  inter-arrival ms: p50 ${pct(50).toFixed(2)}  p99 ${pct(99).toFixed(2)}  p99.9 ${pct(99.9).toFixed(2)}  max ${(intervals[intervals.length - 1] ?? NaN).toFixed(2)}  min ${(intervals[0] ?? NaN).toFixed(2)}`,
);
console.log(`  intervals > 25 ms: ${over(25)} of ${intervals.length}; > 40 ms: ${over(40)}`);
console.log(
  `  clock: late wake-ups ${clock.lateWakeups}, dropped ticks ${clock.dropped}, tick errors ${clock.errors}; ` +
    `process CPU ${((cpu.user + cpu.system) / 1000 / elapsed).toFixed(0)} ms/s (send + receive)`,
);
