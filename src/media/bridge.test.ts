import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrame, type Codec } from './codec/g711.ts';
import { bridge } from './bridge.ts';
import { detectTone } from './goertzel.ts';
import { MediaClock } from './media-clock.ts';
import { LoopPlayer } from './player.ts';
import { PortPool } from './port-pool.ts';
import { RtpSession } from './rtp/session.ts';
import { renderTone } from './tones.ts';
import { sleep, until as untilWithin } from '../util/testing.ts';

const until = (cond: () => boolean): Promise<void> => untilWithin(cond, 'condition', 3000, 10);

const HOST = '127.0.0.1';
const sine = (freq: number) => renderTone({ loop: true, segments: [{ freqs: [freq], ms: 1000 }] });

const open: RtpSession[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

describe('bridge', () => {
  it('relays audio both ways between PCMU and PCMA legs, DTMF stays local', async () => {
    const pool = new PortPool(41200, 41300);
    const clock = new MediaClock();
    const mk = async (codec: Codec) => {
      const s = await RtpSession.open({ host: HOST, pool, clock });
      s.setCodec({ codec, payloadType: codec === 'PCMU' ? 0 : 8, dtmfPayloadType: 101 });
      open.push(s);
      return s;
    };
    // phone1 (PCMU) ⇄ legA (PCMU) ═ bridge ═ legB (PCMA) ⇄ phone2 (PCMA)
    const [phone1, legA, legB, phone2] = await Promise.all([mk('PCMU'), mk('PCMU'), mk('PCMA'), mk('PCMA')]);
    phone1.setRemote(HOST, legA.localPort);
    legA.setRemote(HOST, phone1.localPort);
    phone2.setRemote(HOST, legB.localPort);
    legB.setRemote(HOST, phone2.localPort);

    const heard = new Map<RtpSession, { samples: number[]; codecs: Set<Codec> }>();
    for (const p of [phone1, phone2]) {
      const rec = { samples: [] as number[], codecs: new Set<Codec>() };
      heard.set(p, rec);
      const frame = new Int16Array(480);
      p.onAudio = (payload, codec) => {
        rec.codecs.add(codec);
        const n = decodeFrame(codec, payload, frame);
        for (let i = 0; i < n; i++) rec.samples.push(frame[i]!);
      };
    }
    const legDigits: string[] = [];
    legA.onDtmf = (d) => legDigits.push(`A${d}`);
    legB.setSource(new LoopPlayer(sine(425))); // cleared by bridge()

    const br = bridge(legA, legB);
    expect(clock.size).toBe(0);
    phone1.setSource(new LoopPlayer(sine(1000)));
    phone2.setSource(new LoopPlayer(sine(480)));
    const r1 = heard.get(phone1)!;
    const r2 = heard.get(phone2)!;
    await until(() => r1.samples.length >= 3200 && r2.samples.length >= 3200);
    expect(detectTone(Int16Array.from(r2.samples.slice(-1600)), [425, 480, 1000])?.freq).toBe(1000);
    expect(detectTone(Int16Array.from(r1.samples.slice(-1600)), [425, 480, 1000])?.freq).toBe(480);
    expect([...r1.codecs]).toEqual(['PCMU']);
    expect([...r2.codecs]).toEqual(['PCMA']);

    phone1.sendDtmf('7');
    await until(() => legDigits.length === 1);
    await sleep(100);
    expect(legDigits).toEqual(['A7']);
    expect(phone2.stats.dtmfPackets).toBe(0);

    br.unbridge();
    expect(br.active).toBe(false);
    expect(legA.onAudio).toBeNull();
    const before = r2.samples.length;
    await sleep(100);
    expect(r2.samples.length - before).toBeLessThanOrEqual(160 * 2); // in-flight only
  });
});
