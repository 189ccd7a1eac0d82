/**
 * CPU cost of bridged calls on loopback. Each call = 4 sessions in this process:
 *
 *   far1 (PCMU, plays a tone) ⇄ legA (PCMU) ═ bridge ═ legB (PCMA) ⇄ far2 (PCMA, plays a tone)
 *
 * so every bridged packet is transcoded. For each K we first measure the same set-up
 * without the bridge (far ends generate, legs receive and drop: the cost of the
 * simulated phones plus receiving), then with the bridge; the difference is the cost
 * of relaying (receive → transcode → send) that the server pays per call.
 *
 *   npx tsx bench/bridge-cpu.ts [K list=100,250,500] [seconds=3]
 */
import { bridge, type Bridge } from '../src/media/bridge.ts';
import { MediaClock } from '../src/media/media-clock.ts';
import { LoopPlayer } from '../src/media/player.ts';
import { PortPool } from '../src/media/port-pool.ts';
import { RtpSession } from '../src/media/rtp/session.ts';
import { renderTone } from '../src/media/tones.ts';
import type { Codec } from '../src/media/codec/g711.ts';

const KS = (process.argv[2] ?? '100,250,500').split(',').map(Number);
const SECONDS = Number(process.argv[3] ?? 3);
const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tone = renderTone({ loop: true, segments: [{ freqs: [1000], ms: 1000 }] });

interface Call {
  far1: RtpSession;
  legA: RtpSession;
  legB: RtpSession;
  far2: RtpSession;
  bridge?: Bridge;
}

const sum = (ss: RtpSession[], f: (s: RtpSession) => number) => ss.reduce((n, s) => n + f(s), 0);

async function measure(all: RtpSession[], legs: RtpSession[]) {
  const rx0 = sum(all, (s) => s.stats.packetsReceived);
  const relayed0 = sum(legs, (s) => s.stats.packetsSent);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    cpuMsPerSec: (cpu.user + cpu.system) / 1000 / secs,
    rxPerSec: (sum(all, (s) => s.stats.packetsReceived) - rx0) / secs,
    relayedPerSec: (sum(legs, (s) => s.stats.packetsSent) - relayed0) / secs,
  };
}

async function run(k: number): Promise<void> {
  const pool = new PortPool(44000, 44000 + 8 * k + 16);
  const clock = new MediaClock();
  const open = async (codec: Codec) => {
    const s = await RtpSession.open({ host: HOST, pool, clock });
    s.setCodec({ codec, payloadType: codec === 'PCMU' ? 0 : 8 });
    return s;
  };
  const calls: Call[] = [];
  for (let i = 0; i < k; i++) {
    const [far1, legA, legB, far2] = await Promise.all([
      open('PCMU'),
      open('PCMU'),
      open('PCMA'),
      open('PCMA'),
    ]);
    far1.setRemote(HOST, legA.localPort);
    legA.setRemote(HOST, far1.localPort);
    far2.setRemote(HOST, legB.localPort);
    legB.setRemote(HOST, far2.localPort);
    calls.push({ far1, legA, legB, far2 });
  }
  const all = calls.flatMap((c) => [c.far1, c.legA, c.legB, c.far2]);
  const legs = calls.flatMap((c) => [c.legA, c.legB]);

  for (const c of calls) {
    c.far1.setSource(new LoopPlayer(tone));
    c.far2.setSource(new LoopPlayer(tone));
  }
  await sleep(500);
  const base = await measure(all, legs);

  for (const c of calls) c.bridge = bridge(c.legA, c.legB);
  await sleep(300);
  const bridged = await measure(all, legs);
  const late = clock.lateWakeups;
  const dropped = clock.dropped;

  for (const s of all) s.close();
  clock.stop();

  const perCall = (bridged.cpuMsPerSec - base.cpuMsPerSec) / k;
  console.log(
    `K=${String(k).padStart(3)} calls (${4 * k} sessions): ` +
      `far ends only ${base.cpuMsPerSec.toFixed(0)} CPU ms/s (${base.rxPerSec.toFixed(0)} rx pkt/s); ` +
      `bridged ${bridged.cpuMsPerSec.toFixed(0)} CPU ms/s (${bridged.rxPerSec.toFixed(0)} rx pkt/s, ${bridged.relayedPerSec.toFixed(0)} relayed pkt/s)`,
  );
  console.log(
    `        relay cost ${perCall.toFixed(3)} CPU ms/s per bridged call ` +
      `(${((perCall * 1000) / 100).toFixed(1)} µs per relayed packet); total incl. far ends ${(bridged.cpuMsPerSec / k).toFixed(3)} ms/s per call; ` +
      `clock late wake-ups ${late}, dropped ticks ${dropped}`,
  );
}

console.log(`bridge-cpu: ${SECONDS} s windows, loopback, PCMU⇄PCMA transcoding, all in one process`);
for (const k of KS) await run(k);
