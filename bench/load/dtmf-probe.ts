/**
 * DTMF → menu action latency under load (issue 13 goal: p99 < 30 ms at 1,000 calls): a
 * test phone in the bench's process calls the service IVR, waits for its prompt to be
 * heard, presses a key (RFC 4733) in the middle of it and times how soon the prompt stops
 * (barge-in: the menu took the digit). One call at a time, for as long as it is asked to.
 *
 * The reaction is the arrival of the last loud packet after the key, plus one packet time
 * (the prompt stopped within the next 20 ms tick), minus the moment the key's first packet
 * left the phone (on the phone's own 20 ms tick, up to 20 ms after it was asked for); a
 * stop is a stretch of QUIET_MS without a loud packet (longer than a pause between words).
 */
import { decodeFrame } from '../../src/media/codec/g711.ts';
import { TestPhone } from '../../src/sim/phone.ts';

const LOUD = 300; // mean |sample| of a 20 ms packet of speech, well above silence fill
const QUIET_MS = 300;
const PACKET_MS = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface DtmfProbeResult {
  /** Reaction times, ms. */
  latencies: number[];
  /** Probes that did not hear a prompt or a stop (counted, not timed). */
  failed: number;
}

/** Probes the service IVR at `service` on the server's SIP port until `until` (performance.now()). */
export async function probeDtmf(sipPort: number, service: string, until: number): Promise<DtmfProbeResult> {
  const phone = await TestPhone.create({ number: '+79000000999' });
  const out: DtmfProbeResult = { latencies: [], failed: 0 };
  try {
    // A probe takes a second or two: the last starts while there is time for it.
    while (performance.now() < until - 1500) {
      const ms = await probeOnce(phone, sipPort, service).catch(() => undefined);
      if (ms === undefined) out.failed++;
      else out.latencies.push(ms);
      await sleep(200);
    }
  } finally {
    await phone.close();
  }
  return out;
}

async function probeOnce(phone: TestPhone, sipPort: number, service: string): Promise<number | undefined> {
  const call = await phone.call(service, { port: sipPort });
  try {
    const samples = new Int16Array(160);
    let loudRun = 0;
    let sentAt = 0;
    let lastLoud = 0;
    const heard = call.rtp.onAudio;
    const ms = await new Promise<number | undefined>((resolve) => {
      const finish = (v: number | undefined): void => {
        clearTimeout(timeout);
        clearInterval(poll);
        resolve(v);
      };
      const timeout = setTimeout(() => finish(undefined), 10_000);
      // Without silence fill nothing arrives once the prompt stops: the quiet is timed here too.
      const poll = setInterval(() => {
        if (sentAt && performance.now() - lastLoud >= QUIET_MS) finish(lastLoud + PACKET_MS - sentAt);
      }, 50);
      call.rtp.onAudio = (payload, codec, session) => {
        heard?.(payload, codec, session);
        const now = performance.now();
        decodeFrame(codec, payload, samples);
        let sum = 0;
        for (const v of samples) sum += Math.abs(v);
        const loud = sum / samples.length > LOUD;
        if (!sentAt) {
          // Well into the prompt (100 ms of speech): press the key now.
          loudRun = loud ? loudRun + 1 : 0;
          if (loudRun >= 5) {
            sentAt = now;
            lastLoud = now;
            call.rtp.onDtmfSent = (at) => {
              call.rtp.onDtmfSent = null;
              sentAt = at;
            };
            call.sendDtmf('1');
          }
        } else if (loud) lastLoud = now;
      };
    });
    return ms === undefined ? undefined : Math.max(0, ms);
  } finally {
    call.rtp.onAudio = null;
    await call.hangup().catch(() => undefined);
  }
}
