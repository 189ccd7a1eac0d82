import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrame, type Codec } from '../codec/g711.ts';
import { writeTelephoneEvent } from '../dtmf/rfc4733.ts';
import { detectTone } from '../goertzel.ts';
import { MediaClock } from '../media-clock.ts';
import { ClipPlayer, LoopPlayer } from '../player.ts';
import { PortPool } from '../port-pool.ts';
import { renderTone } from '../tones.ts';
import { createRtpHeader, readRtpHeader, writeRtpHeader } from './packet.ts';
import { RtpSession } from './session.ts';

const HOST = '127.0.0.1';
const hasIpv6Loopback = () =>
  Object.values(networkInterfaces()).some((l) => l?.some((i) => i.address === '::1'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

const sine = (freq: number) => renderTone({ loop: true, segments: [{ freqs: [freq], ms: 1000 }] });

/** Collects decoded audio arriving on a session. */
function listen(s: RtpSession) {
  const samples: number[] = [];
  const frame = new Int16Array(480);
  s.onAudio = (payload: Buffer, codec: Codec) => {
    const n = decodeFrame(codec, payload, frame);
    for (let i = 0; i < n; i++) samples.push(frame[i]!);
  };
  return {
    samples,
    tone: (freqs: number[]) => detectTone(Int16Array.from(samples.slice(-1600)), freqs)?.freq,
  };
}

let pool: PortPool;
let clock: MediaClock;
const open: RtpSession[] = [];
async function session(codec: Codec = 'PCMU'): Promise<RtpSession> {
  const s = await RtpSession.open({ host: HOST, pool, clock });
  s.setCodec({ codec, payloadType: codec === 'PCMU' ? 0 : 8, dtmfPayloadType: 101 });
  open.push(s);
  return s;
}
function pair(a: RtpSession, b: RtpSession): void {
  a.setRemote(HOST, b.localPort);
  b.setRemote(HOST, a.localPort);
}

function fresh() {
  pool = new PortPool(41000, 41100, () => 0); // in order: tests pick known ports
  clock = new MediaClock();
}
fresh();
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  fresh();
});

describe('RtpSession', () => {
  it('binds an even port with RTCP on port+1 and returns both on close', async () => {
    const s = await session();
    expect(s.localPort % 2).toBe(0);
    expect(pool.free).toBe(pool.capacity - 1);
    const probe = dgram.createSocket('udp4');
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      probe.once('error', resolve);
      probe.bind(s.localPort + 1, HOST, () => resolve(undefined));
    });
    expect(err?.code).toBe('EADDRINUSE');
    probe.close();
    s.close();
    s.close(); // idempotent
    expect(pool.free).toBe(pool.capacity);
    expect(clock.size).toBe(0);
  });

  it('skips a port that someone else holds', async () => {
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((r) => squatter.bind(41000, HOST, r));
    try {
      const s = await session();
      expect(s.localPort).toBe(41002);
      expect(pool.free).toBe(pool.capacity - 1);
    } finally {
      squatter.close();
    }
  });

  it('sends a tone that the other session hears (Goertzel)', async () => {
    const a = await session();
    const b = await session();
    pair(a, b);
    const heard = listen(b);
    a.setSource(new LoopPlayer(sine(1000)));
    await until(() => heard.samples.length >= 4000);
    expect(heard.tone([425, 480, 1000])).toBe(1000);
    expect(a.stats.packetsSent).toBeGreaterThanOrEqual(25);
    expect(b.stats.packetsReceived).toBeGreaterThanOrEqual(25);
    expect(b.stats.bytesReceived).toBe(b.stats.packetsReceived * 172);
    expect(b.stats.lastReceivedAt).toBeGreaterThan(0);
  });

  it('puts correct headers on the wire: seq +1, ts +160, marker at talkspurt starts', async () => {
    const rx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, HOST, r));
    const packets: Buffer[] = [];
    rx.on('message', (m) => packets.push(m));
    const a = await session('PCMA');
    a.setRemote(HOST, rx.address().port);
    a.setSource(new ClipPlayer([sine(1000).subarray(0, 1600)])); // 10 frames
    await until(() => packets.length >= 10);
    await sleep(100); // silence
    a.setSource(new ClipPlayer([sine(1000).subarray(0, 480)])); // 3 frames
    await until(() => packets.length >= 13);
    rx.close();
    const h = createRtpHeader();
    const hs = packets.map((p) => {
      expect(readRtpHeader(p, h)).toBe(true);
      return { ...h };
    });
    expect(hs.every((x) => x.payloadType === 8 && x.ssrc === a.ssrc && x.payloadLength === 160)).toBe(true);
    expect(hs.map((x) => x.marker)).toEqual([true, ...Array<boolean>(9).fill(false), true, false, false]);
    for (let i = 1; i < hs.length; i++) expect((hs[i]!.sequence - hs[i - 1]!.sequence) & 0xffff).toBe(1);
    for (let i = 1; i < 10; i++) expect((hs[i]!.timestamp - hs[i - 1]!.timestamp) >>> 0).toBe(160);
    // the silence advanced the timestamp by wall time (≈ 100 ms + 2 frames)
    const gap = (hs[10]!.timestamp - hs[9]!.timestamp) >>> 0;
    expect(gap).toBeGreaterThan(160 + 100 * 8 - 200);
    expect(gap).toBeLessThan(160 + 300 * 8);
  });

  it('fires onSourceEnd and leaves the clock when a source finishes', async () => {
    const a = await session();
    const b = await session();
    pair(a, b);
    let ended = 0;
    a.onSourceEnd = () => ended++;
    a.setSource(new ClipPlayer([new Int16Array(480)]));
    expect(clock.size).toBe(1);
    await until(() => ended === 1);
    expect(clock.size).toBe(0);
    expect(clock.running).toBe(false);
    expect(a.stats.packetsSent).toBe(3);
  });

  it('latches to the real source of the peer (symmetric RTP)', async () => {
    const a = await session();
    const b = await session();
    a.setRemote(HOST, 41099); // wrong port from SDP
    b.setRemote(HOST, a.localPort);
    const heardByB = listen(b);
    a.setSource(new LoopPlayer(sine(1000)));
    await sleep(100);
    expect(heardByB.samples.length).toBe(0); // a sends into the void
    b.setSource(new LoopPlayer(sine(480)));
    await until(() => heardByB.samples.length >= 2400);
    expect(a.remote).toEqual({ host: HOST, port: b.localPort });
    expect(a.stats.remoteChanges).toBe(1);
    expect(heardByB.tone([480, 1000])).toBe(1000);
  });

  it('drops malformed packets, RTCP and unknown payload types without throwing', async () => {
    const a = await session();
    const tx = dgram.createSocket('udp4');
    const audio: Buffer[] = [];
    a.onAudio = (p) => audio.push(Buffer.from(p));
    const send = (b: Buffer) => new Promise<void>((r) => tx.send(b, a.localPort, HOST, () => r()));
    await send(Buffer.from('hello'));
    await send(Buffer.from('4000000100000002000000030000', 'hex')); // version 1
    await send(Buffer.from('8f00000100000002000000030000', 'hex')); // 15 CSRCs missing
    await send(Buffer.from('80c8000600000003000000000000000000000000', 'hex')); // RTCP SR
    const cn = Buffer.alloc(13);
    writeRtpHeader(cn, 0, 13, false, 1, 2, 3); // comfort noise
    await send(cn);
    const ok = Buffer.alloc(12 + 160, 0xff);
    writeRtpHeader(ok, 0, 0, true, 2, 162, 3);
    await send(ok);
    await until(() => audio.length === 1);
    tx.close();
    expect(a.stats.malformed).toBe(3);
    expect(a.stats.rtcpIgnored).toBe(1);
    expect(a.stats.unknownPayloadType).toBe(1);
    expect(audio[0]!.length).toBe(160);
  });

  it('sendDtmf → onDtmf once per digit, in order', async () => {
    const a = await session();
    const b = await session();
    pair(a, b);
    const digits: string[] = [];
    const audioPts: number[] = [];
    b.onDtmf = (d) => digits.push(d);
    b.onAudio = () => audioPts.push(1);
    a.setSource(new LoopPlayer(sine(1000)));
    expect(a.sendDtmf('12*#')).toBe(true);
    await until(() => digits.length === 4 && !a.sendingDtmf);
    await sleep(60);
    expect(digits.join('')).toBe('12*#');
    expect(b.stats.dtmfPackets).toBe(4 * 7);
    expect(audioPts.length).toBeGreaterThan(0); // audio resumed in the gaps/after
    expect(() => a.sendDtmf('x')).toThrow(/not a DTMF digit/);
    a.setCodec({ codec: 'PCMU', payloadType: 0 });
    expect(a.sendDtmf('1')).toBe(false);
  });

  it('accepts telephone-events on PT 101 even when another PT was negotiated', async () => {
    const a = await session();
    a.setCodec({ codec: 'PCMU', payloadType: 0, dtmfPayloadType: 96 });
    const digits: string[] = [];
    a.onDtmf = (d) => digits.push(d);
    const tx = dgram.createSocket('udp4');
    const pkt = Buffer.alloc(16);
    writeRtpHeader(pkt, 0, 101, true, 1, 1000, 7);
    writeTelephoneEvent(pkt, 12, 9, false, 10, 160);
    await new Promise<void>((r) => tx.send(pkt, a.localPort, HOST, () => r()));
    await until(() => digits.length === 1);
    tx.close();
    expect(digits).toEqual(['9']);
  });

  it.skipIf(!hasIpv6Loopback())('works over IPv6 (::1)', async () => {
    const mk = async () => {
      const s = await RtpSession.open({ host: '::1', pool, clock });
      s.setCodec({ codec: 'PCMU', payloadType: 0 });
      open.push(s);
      return s;
    };
    const [a, b] = await Promise.all([mk(), mk()]);
    a.setRemote('::1', b.localPort);
    const heard = listen(b);
    a.setSource(new LoopPlayer(sine(1000)));
    await until(() => heard.samples.length >= 1600);
    expect(heard.tone([1000, 425])).toBe(1000);
    expect(b.remote).toEqual({ host: '::1', port: a.localPort });
  });

  it('after close() every port is back and the clock has no timer', async () => {
    const ss = await Promise.all([session(), session(), session(), session()]);
    pair(ss[0]!, ss[1]!);
    pair(ss[2]!, ss[3]!);
    for (const s of ss) s.setSource(new LoopPlayer(sine(425)));
    ss[0]!.sendDtmf('5');
    expect(clock.size).toBe(4);
    await sleep(60);
    for (const s of ss) s.close();
    expect(pool.free).toBe(pool.capacity);
    expect(clock.size).toBe(0);
    expect(clock.running).toBe(false);
  });
});
