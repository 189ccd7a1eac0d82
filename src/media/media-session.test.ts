import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { quiet, until } from '../util/testing.ts';
import { decodeFrame } from './codec/g711.ts';
import { toneRatio } from './goertzel.ts';
import { LoopPlayer } from './player.ts';
import { RtpSession } from './rtp/session.ts';
import { renderTone } from './tones.ts';
import { LocalMedia } from './local/local-media.ts';
import { MediaClock } from './media-clock.ts';
import type { MediaEvent, MediaSession, MediaSessions } from './media-session.ts';
import { PortPool } from './port-pool.ts';
import { WorkerMedia } from './workers/worker-media.ts';

/**
 * The media port's contract, on both implementations: in this thread and on two worker
 * threads. Sessions talk to each other over loopback; "phones" are sessions too.
 */
const HOST = '127.0.0.1';
const PROMPT = resolve(import.meta.dirname, '../../prompts/ru/goodbye.wav');
const PCMU = { codec: 'PCMU', payloadType: 0, dtmfPayloadType: 101 } as const;

interface Kind {
  name: string;
  make(pool: PortPool): { media: MediaSessions; close(): Promise<void> };
}
const KINDS: Kind[] = [
  {
    name: 'local',
    make: (pool) => {
      const clock = new MediaClock();
      return {
        media: new LocalMedia({ pool, clock }),
        close: () => Promise.resolve(clock.stop()),
      };
    },
  },
  {
    name: 'workers',
    make: (pool) => {
      const media = new WorkerMedia({ workers: 2, pool, logger: quiet });
      return { media, close: () => media.close() };
    },
  },
];

describe.each(KINDS)('media port ($name)', (kind) => {
  let done: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await done?.();
    done = undefined;
  });

  async function rig() {
    const base = 43000 + (KINDS.indexOf(kind) + 1) * 200;
    const pool = new PortPool(base, base + 99);
    const made = kind.make(pool);
    const sessions: MediaSession[] = [];
    done = async () => {
      for (const s of sessions) s.close();
      await made.close();
    };
    const open = async (near?: MediaSession): Promise<MediaSession & { events: MediaEvent[] }> => {
      const s = await made.media.open({ host: HOST, near });
      const events: MediaEvent[] = [];
      s.onEvent = (e) => events.push(e);
      s.setCodec(PCMU);
      sessions.push(s);
      return Object.assign(s, { events });
    };
    const pair = (a: MediaSession, b: MediaSession): void => {
      a.setRemote(HOST, b.localPort);
      b.setRemote(HOST, a.localPort);
    };
    return { pool, media: made.media, open, pair };
  }

  /** A test phone on its own socket and clock, "speaking" `hz` and keeping what it heard. */
  const phones: RtpSession[] = [];
  const phoneClock = new MediaClock();
  const phonePool = new PortPool(44000 + KINDS.indexOf(kind) * 100, 44000 + KINDS.indexOf(kind) * 100 + 99);
  afterEach(() => {
    for (const p of phones.splice(0)) p.close();
    phoneClock.stop();
  });
  async function speaker(hz: number, to: MediaSession) {
    const p = await RtpSession.open({ host: HOST, pool: phonePool, clock: phoneClock });
    phones.push(p);
    p.setCodec(PCMU);
    p.setRemote(HOST, to.localPort);
    to.setRemote(HOST, p.localPort);
    p.setSource(new LoopPlayer(renderTone({ loop: true, segments: [{ freqs: [hz], ms: 1000 }] })));
    let heard: number[] = [];
    const frame = new Int16Array(480);
    p.onAudio = (payload, codec) => {
      const n = decodeFrame(codec, payload, frame);
      for (let i = 0; i < n; i++) heard.push(frame[i]!);
      if (heard.length > 8000) heard = heard.slice(-4000);
    };
    /** True when the last 200 ms heard (at least 50 ms) carried `f` (a tenth of the energy or more). */
    const hears = (f: number): boolean =>
      heard.length >= 400 && toneRatio(Int16Array.from(heard.slice(-1600)), f) > 0.1;
    return {
      hears,
      /** Waits until what it hears from now on has `yes` and not `no` (nothing at all for no `yes`). */
      settles: async (yes: number[], no: number[]) => {
        heard = [];
        if (yes.length === 0) {
          await new Promise((r) => setTimeout(r, 300));
          expect(no.filter(hears)).toEqual([]);
          return;
        }
        await until(
          () => yes.every(hears) && !no.some(hears),
          `hears ${yes.join('+')} not ${no.join('+')}`,
          4000,
        );
      },
    };
  }

  it('plays prompts by reference to their end, sends DTMF as events, and closes its ports', async () => {
    const { pool, media, open, pair } = await rig();
    media.preload([PROMPT]);
    const a = await open();
    const phone = await open();
    pair(a, phone);
    a.play({ kind: 'prompts', files: [PROMPT] });
    await until(() => a.events.some((e) => e.type === 'playEnded'), 'playEnded', 10_000);
    await until(() => phone.stats().packetsReceived > 20, 'the prompt received', 3000);
    phone.sendDtmf('5');
    await until(() => a.events.some((e) => e.type === 'dtmf'), 'a digit', 3000);
    expect(a.events.find((e) => e.type === 'dtmf')).toMatchObject({ digit: '5' });
    a.close();
    phone.close();
    await until(() => pool.free === pool.capacity, 'ports back', 3000);
  });

  it('bridges two sessions: what one peer sends reaches the other', async () => {
    const { open, pair } = await rig();
    const a = await open();
    const b = await open(a);
    const x = await open();
    const y = await open(x);
    pair(x, a);
    pair(b, y);
    const bridge = a.bridge(b);
    x.play({ kind: 'tone', tone: 'ringback' });
    await until(() => y.stats().packetsReceived > 20, 'relayed audio', 3000);
    expect(b.stats().packetsSent).toBeGreaterThan(0);
    bridge.unbridge();
    expect(bridge.active).toBe(false);
  });

  it.runIf(kind.name === 'workers')(
    'rebuilds the sessions of a worker that died, bridge included, when none was opened near another',
    async () => {
      const { media, open, pair } = await rig();
      const workers = media as WorkerMedia;
      // The least loaded worker takes each: a and b in the first, their phones in the second.
      const a = await open();
      const x = await open();
      const b = await open();
      const y = await open();
      // And an echo (the diagnostic 9001) in the first, its phone in the second.
      const e = await open();
      const p = await open();
      expect(workers.sessionsPerWorker).toEqual([3, 3]);
      pair(x, a);
      pair(b, y);
      pair(e, p);
      a.bridge(b);
      e.echo();
      x.play({ kind: 'tone', tone: 'ringback' });
      p.play({ kind: 'tone', tone: 'ringback' });
      await until(() => y.stats().packetsReceived > 20, 'relayed audio', 3000);
      const w = workers.workers[0]!;
      await w.worker.terminate();
      await until(() => w.restarts === 1 && w.sessions.size === 3, 'all rebuilt', 5000);
      const heard = y.stats().packetsReceived;
      const echoed = p.stats().packetsReceived;
      await until(() => y.stats().packetsReceived > heard + 30, 'relayed again', 5000);
      await until(() => p.stats().packetsReceived > echoed + 30, 'echoed again', 5000);
      expect([a, b, e].flatMap((s) => s.events).filter((ev) => ev.type === 'lost')).toEqual([]);
    },
  );

  it('monitors a bridged pair: listen hears both, whisper reaches the agent, barge both; ends on unbridge', async () => {
    const { open } = await rig();
    const sup = await open();
    const cust = await open();
    const agent = await open(cust);
    const [C, A, S] = [700, 1300, 1900];
    const customerPhone = await speaker(C, cust);
    const agentPhone = await speaker(A, agent);
    const supPhone = await speaker(S, sup);
    const bridge = cust.bridge(agent);
    await customerPhone.settles([A], [S]);
    const m = sup.monitor({ customer: cust, agent }, 'listen');
    let ended = 0;
    m.onEnded = () => ended++;
    await supPhone.settles([C, A], []);
    await agentPhone.settles([C], [S]);
    await customerPhone.settles([A], [S]);
    m.setMode('whisper');
    expect(m.mode).toBe('whisper');
    await agentPhone.settles([C, S], []);
    await customerPhone.settles([A], [S]);
    m.setMode('barge');
    await customerPhone.settles([A, S], []);
    await agentPhone.settles([C, S], []);
    await supPhone.settles([C, A], []);
    m.setMode('listen');
    await customerPhone.settles([A], [S]);
    await agentPhone.settles([C], [S]);
    bridge.unbridge();
    await until(() => ended === 1, 'monitoring ended with the bridge', 3000);
    expect(m.active).toBe(false);
    await supPhone.settles([], [C, A]);
  });

  it('stop() leaves the pair on the plain relay; a pair not bridged cannot be monitored', async () => {
    const { open } = await rig();
    const sup = await open();
    const cust = await open();
    const agent = await open(cust);
    expect(() => sup.monitor({ customer: cust, agent }, 'listen')).toThrow(/not bridged/);
    const customerPhone = await speaker(700, cust);
    const agentPhone = await speaker(1300, agent);
    const supPhone = await speaker(1900, sup);
    cust.bridge(agent);
    const m = sup.monitor({ customer: cust, agent }, 'barge');
    await customerPhone.settles([1300, 1900], []);
    m.stop();
    expect(m.active).toBe(false);
    await customerPhone.settles([1300], [1900]);
    await agentPhone.settles([700], [1900]);
    await supPhone.settles([], [700, 1300]);
  });

  it('echoes what the peer sends', async () => {
    const { open, pair } = await rig();
    const a = await open();
    const phone = await open();
    pair(a, phone);
    a.echo();
    phone.play({ kind: 'tone', tone: 'ringback' });
    await until(() => phone.stats().packetsReceived > 20, 'echoed audio', 3000);
  });
});
