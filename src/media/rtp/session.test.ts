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
import { RtpSession, learnScopeOf } from './session.ts';
import { SRTP_AUTH_TAG_LEN, SrtpContext } from '../srtp/srtp.ts';
import { DtmfToneSource } from '../../sim/dtmf-tones.ts';
import { sleep, until as untilWithin } from '../../util/testing.ts';

const until = (cond: () => boolean): Promise<void> => untilWithin(cond, 'condition', 3000, 10);

const HOST = '127.0.0.1';
const hasIpv6Loopback = () =>
  Object.values(networkInterfaces()).some((l) => l?.some((i) => i.address === '::1'));

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

async function udp(): Promise<dgram.Socket> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, HOST, r));
  sockets.push(sock);
  return sock;
}
const sockets: dgram.Socket[] = [];

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
  for (const s of sockets.splice(0)) {
    try {
      s.close();
    } catch {
      /* closed by the test */
    }
  }
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

  it('counts wire bytes both ways with SRTP: 10-byte tag included on send and receive', async () => {
    const a = await session();
    const b = await session();
    pair(a, b);
    const ka = Buffer.alloc(30, 1);
    const kb = Buffer.alloc(30, 2);
    a.setSrtp({ send: ka, receive: kb });
    b.setSrtp({ send: kb, receive: ka });
    const heard = listen(b);
    a.setSource(new LoopPlayer(sine(1000)));
    await until(() => heard.samples.length >= 4000);
    expect(heard.tone([425, 480, 1000])).toBe(1000);
    expect(b.stats.srtpAuthFailed).toBe(0);
    expect(b.stats.bytesReceived).toBe(b.stats.packetsReceived * 182);
    expect(a.stats.bytesSent).toBe(a.stats.packetsSent * 182);
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

  it('learns the source of a peer behind NAT (private SDP address) after probation, then locks', async () => {
    const a = await session();
    const b = await session();
    a.setRemote('10.0.0.7', 4000); // the phone's LAN address: unreachable, its packets come from elsewhere
    b.setRemote(HOST, a.localPort);
    expect(a.sourcePolicy).toBe('learning');
    const heardByB = listen(b);
    b.setSource(new LoopPlayer(sine(480)));
    await until(() => a.sourcePolicy === 'locked');
    expect(a.remote).toEqual({ host: HOST, port: b.localPort });
    expect(a.stats.remoteChanges).toBe(1);
    expect(a.stats.learningDropped).toBe(3); // PROBATION - 1 packets held back
    a.setSource(new LoopPlayer(sine(1000)));
    await until(() => heardByB.samples.length >= 2400);
    expect(heardByB.tone([480, 1000])).toBe(1000);
  });

  it('on loopback only the SDP address is accepted: another port is never learned', async () => {
    const a = await session();
    const b = await session();
    a.setRemote(HOST, 41099); // wrong port in SDP
    b.setRemote(HOST, a.localPort);
    const heardByA = listen(a);
    b.setSource(new LoopPlayer(sine(480)));
    await until(() => a.stats.sourceDropped >= 20);
    expect(heardByA.samples.length).toBe(0);
    expect(a.stats.packetsReceived).toBe(0);
    expect(a.remote).toEqual({ host: HOST, port: 41099 });
    expect(a.sourcePolicy).toBe('learning');
  });

  it('drops malformed packets, RTCP and unknown payload types without throwing', async () => {
    const a = await session();
    const tx = await udp();
    a.setRemote(HOST, tx.address().port);
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

  it('inband DTMF: tones in the audio → onDtmf once per key, only when switched on', async () => {
    const a = await session();
    const b = await session();
    pair(a, b);
    const digits: string[] = [];
    b.onDtmf = (d) => digits.push(d);
    const heard = listen(b); // audio still reaches onAudio (bridges, recorders)
    b.setInbandDtmf(true);
    expect(b.inbandDtmf).toBe(true);
    a.setSource(new DtmfToneSource('159#', { toneMs: 60, gapMs: 60, levelDbm0: -20 }));
    await until(() => digits.length === 4);
    expect(digits.join('')).toBe('159#');
    expect(heard.samples.length).toBeGreaterThan(0);
    b.setInbandDtmf(false);
    a.setSource(new DtmfToneSource('2', { toneMs: 100, gapMs: 100 }));
    await until(() => heard.samples.length > 8000 * 0.3);
    await sleep(300);
    expect(digits.join('')).toBe('159#');
  });

  it('inband DTMF: a key that also came as a telephone-event is reported once', async () => {
    const a = await session();
    const b = await session();
    pair(a, b);
    const digits: string[] = [];
    b.onDtmf = (d) => digits.push(d);
    b.setInbandDtmf(true);
    // The peer sends the event and the tone at the same time (a gateway that does both).
    a.setSource(new DtmfToneSource('7', { toneMs: 200, gapMs: 100 }));
    a.sendDtmf('7');
    await until(() => digits.length >= 1 && !a.sendingDtmf);
    await sleep(400);
    expect(digits.join('')).toBe('7');
  });

  it('accepts telephone-events on PT 101 even when another PT was negotiated', async () => {
    const a = await session();
    a.setCodec({ codec: 'PCMU', payloadType: 0, dtmfPayloadType: 96 });
    const digits: string[] = [];
    a.onDtmf = (d) => digits.push(d);
    const tx = await udp();
    a.setRemote(HOST, tx.address().port);
    const pkt = Buffer.alloc(16);
    writeRtpHeader(pkt, 0, 101, true, 1, 1000, 7);
    writeTelephoneEvent(pkt, 12, 9, false, 10, 160);
    await new Promise<void>((r) => tx.send(pkt, a.localPort, HOST, () => r()));
    await until(() => digits.length === 1);
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
    b.setRemote('::', 0); // no usable address: b learns a's
    const heard = listen(b);
    a.setSource(new LoopPlayer(sine(1000)));
    await until(() => heard.samples.length >= 1600);
    expect(heard.tone([1000, 425])).toBe(1000);
    expect(b.remote).toEqual({ host: '::1', port: a.localPort });
    expect(b.sourcePolicy).toBe('locked');
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

/** A raw RTP packet: PCMU silence (0xff) or one RFC 4733 event (PT 101). */
function rtpPacket(o: {
  pt?: number;
  seq: number;
  ssrc: number;
  ts?: number;
  event?: number;
  end?: boolean;
}): Buffer {
  const pt = o.pt ?? (o.event === undefined ? 0 : 101);
  if (o.event !== undefined) {
    const b = Buffer.alloc(16);
    writeRtpHeader(b, 0, pt, true, o.seq & 0xffff, o.ts ?? 1000, o.ssrc);
    writeTelephoneEvent(b, 12, o.event, o.end ?? false, 10, 160);
    return b;
  }
  const b = Buffer.alloc(12 + 160, 0xff);
  writeRtpHeader(b, 0, pt, false, o.seq & 0xffff, o.ts ?? o.seq * 160, o.ssrc);
  return b;
}

const sendTo = (sock: dgram.Socket, port: number, b: Buffer): Promise<void> =>
  new Promise((r) => sock.send(b, port, HOST, () => r()));

describe('RtpSession strict source', () => {
  it('drops audio and RFC 4733 events from anyone but the peer, and never sends to them', async () => {
    const a = await session();
    const peer = await udp();
    const attacker = await udp();
    const toAttacker: Buffer[] = [];
    attacker.on('message', (m) => toAttacker.push(m));
    a.setRemote(HOST, peer.address().port);
    const audio: number[] = [];
    const digits: string[] = [];
    a.onAudio = () => audio.push(1);
    a.onDtmf = (d) => digits.push(d);
    a.setSource(new LoopPlayer(sine(1000)));
    for (let i = 0; i < 20; i++) {
      await sendTo(attacker, a.localPort, rtpPacket({ seq: 100 + i, ssrc: 0xbad }));
      await sendTo(attacker, a.localPort, rtpPacket({ seq: 500 + i, ssrc: 0xbad, event: 10, ts: 9000 + i }));
    }
    await sendTo(peer, a.localPort, rtpPacket({ seq: 1, ssrc: 0x600d }));
    await until(() => audio.length === 1);
    for (let i = 0; i < 10; i++)
      await sendTo(attacker, a.localPort, rtpPacket({ seq: 200 + i, ssrc: 0x600d }));
    await until(() => a.stats.sourceDropped === 50);
    await sleep(60);
    expect(audio).toHaveLength(1);
    expect(digits).toEqual([]);
    expect(a.stats.dtmfPackets).toBe(0);
    expect(a.stats.packetsReceived).toBe(1);
    expect(a.sourcePolicy).toBe('locked');
    expect(a.remote).toEqual({ host: HOST, port: peer.address().port });
    expect(toAttacker).toHaveLength(0);
  });

  it('takes a new SSRC from the locked source', async () => {
    const a = await session();
    const b = await session();
    pair(a, b);
    const heard = listen(a);
    b.setSource(new LoopPlayer(sine(480)));
    await until(() => heard.samples.length >= 1600);
    const first = b.ssrc;
    b.changeSsrc();
    expect(b.ssrc).not.toBe(first);
    b.setSource(new LoopPlayer(sine(1000)));
    heard.samples.length = 0;
    await until(() => heard.samples.length >= 1600);
    expect(heard.tone([480, 1000])).toBe(1000);
    expect(a.stats.sourceDropped).toBe(0);
  });

  it('drops everything before the remote is set', async () => {
    const a = await session();
    const tx = await udp();
    a.onAudio = () => expect.fail('no audio before the SDP');
    for (let i = 0; i < 5; i++) await sendTo(tx, a.localPort, rtpPacket({ seq: i, ssrc: 1 }));
    await until(() => a.stats.sourceDropped === 5);
    expect(a.sourcePolicy).toBe('idle');
    expect(a.remote).toBeNull();
  });

  it('keeps the lock on a re-INVITE with the same address; a new address is the new expected source', async () => {
    const a = await session();
    const oldPeer = await udp();
    const newPeer = await udp();
    const audio: number[] = [];
    a.onAudio = () => audio.push(1);
    a.setRemote(HOST, oldPeer.address().port);
    await sendTo(oldPeer, a.localPort, rtpPacket({ seq: 1, ssrc: 7 }));
    await until(() => a.sourcePolicy === 'locked');
    a.setRemote(HOST, oldPeer.address().port); // session refresh
    expect(a.sourcePolicy).toBe('locked');
    a.setRemote(HOST, newPeer.address().port); // the peer moved
    expect(a.sourcePolicy).toBe('learning');
    await sendTo(oldPeer, a.localPort, rtpPacket({ seq: 2, ssrc: 7 }));
    await until(() => a.stats.sourceDropped === 1);
    await sendTo(newPeer, a.localPort, rtpPacket({ seq: 3, ssrc: 8 }));
    await until(() => audio.length === 2);
    expect(a.sourcePolicy).toBe('locked');
    expect(a.remote).toEqual({ host: HOST, port: newPeer.address().port });
  });

  it('learning: a source needs consecutive packets within the window; once locked, others are dropped', async () => {
    let now = 0;
    const a = await RtpSession.open({ host: HOST, pool, clock, now: () => now });
    open.push(a);
    a.setCodec({ codec: 'PCMU', payloadType: 0 });
    a.setRemote('0.0.0.0', 4000); // nothing usable in SDP: learning only
    const late = await udp();
    const nat = await udp();
    const other = await udp();
    // Sequence gaps and SSRC changes restart probation.
    for (const seq of [1, 3, 5, 7]) await sendTo(nat, a.localPort, rtpPacket({ seq, ssrc: 1 }));
    for (const ssrc of [1, 2, 3, 4]) await sendTo(nat, a.localPort, rtpPacket({ seq: 10 + ssrc, ssrc }));
    await until(() => a.stats.learningDropped === 8);
    expect(a.sourcePolicy).toBe('learning');
    for (let i = 0; i < 4; i++) await sendTo(nat, a.localPort, rtpPacket({ seq: 0xfffe + i, ssrc: 9 }));
    await until(() => a.sourcePolicy === 'locked');
    expect(a.remote).toEqual({ host: HOST, port: nat.address().port });
    for (let i = 0; i < 6; i++) await sendTo(other, a.localPort, rtpPacket({ seq: i, ssrc: 5 }));
    await until(() => a.stats.sourceDropped === 6);
    expect(a.remote).toEqual({ host: HOST, port: nat.address().port });
    // A new address in SDP: learning again, but the window closes 2 s after the first foreign packet.
    a.setRemote('10.1.1.1', 5000);
    await sendTo(other, a.localPort, rtpPacket({ seq: 100, ssrc: 5 }));
    await until(() => a.stats.learningDropped === 12);
    now = 2001;
    for (let i = 0; i < 6; i++) await sendTo(late, a.localPort, rtpPacket({ seq: i, ssrc: 6 }));
    await until(() => a.stats.sourceDropped === 12);
    expect(a.sourcePolicy).toBe('learning');
    expect(a.remote).toEqual({ host: '10.1.1.1', port: 5000 });
  });

  it('warns once at close when nothing came from the peer but packets from elsewhere were dropped', async () => {
    const warnings: object[] = [];
    const logger = { debug: () => {}, warn: (o: object) => warnings.push(o) };
    const mk = async () => {
      const s = await RtpSession.open({ host: HOST, pool, clock, logger });
      s.setCodec({ codec: 'PCMU', payloadType: 0 });
      open.push(s);
      return s;
    };
    const [oneWay, fine] = [await mk(), await mk()];
    const peer = await udp();
    const elsewhere = await udp();
    oneWay.setRemote(HOST, 41099);
    fine.setRemote(HOST, peer.address().port);
    await sendTo(elsewhere, oneWay.localPort, rtpPacket({ seq: 1, ssrc: 1 }));
    await sendTo(peer, fine.localPort, rtpPacket({ seq: 1, ssrc: 2 }));
    await sendTo(elsewhere, fine.localPort, rtpPacket({ seq: 1, ssrc: 3 }));
    await until(() => oneWay.stats.sourceDropped === 1 && fine.stats.sourceDropped === 1);
    oneWay.close();
    oneWay.close();
    fine.close();
    expect(warnings).toEqual([
      {
        localPort: oneWay.localPort,
        expected: `${HOST}:41099`,
        firstDropped: `${HOST}:${elsewhere.address().port}`,
        dropped: 1,
      },
    ]);
  });

  it('learnScopeOf: loopback none, public same IP, private / link-local / CGNAT / none any', () => {
    expect(learnScopeOf('127.0.0.1')).toBe('none');
    expect(learnScopeOf('127.8.9.1')).toBe('none');
    expect(learnScopeOf('::1')).toBe('none');
    expect(learnScopeOf('::ffff:127.0.0.1')).toBe('none');
    for (const h of [
      '192.0.2.10',
      '8.8.8.8',
      '172.32.0.1',
      '100.128.0.1',
      '2001:db8::1',
      '::ffff:198.51.100.1',
    ])
      expect(learnScopeOf(h)).toBe('same_ip');
    for (const h of ['10.1.2.3', '172.16.0.1', '172.31.255.1', '192.168.1.10', '100.64.0.1', '169.254.1.1'])
      expect(learnScopeOf(h)).toBe('any');
    for (const h of ['fd00::1', 'fc12::1', 'fe80::1', '::ffff:192.168.0.2', ''])
      expect(learnScopeOf(h)).toBe('any');
  });
});

describe('RtpSession idle fill (issue 10 item 7)', () => {
  interface Pkt {
    pt: number;
    marker: boolean;
    seq: number;
    ts: number;
    payload: Buffer;
  }
  async function capture(): Promise<{ sock: dgram.Socket; pkts: Pkt[] }> {
    const sock = await udp();
    const pkts: Pkt[] = [];
    sock.on('message', (m: Buffer) =>
      pkts.push({
        pt: m[1]! & 0x7f,
        marker: (m[1]! & 0x80) !== 0,
        seq: m.readUInt16BE(2),
        ts: m.readUInt32BE(4),
        payload: Buffer.from(m.subarray(12)),
      }),
    );
    return { sock, pkts };
  }

  it('sends encoded silence in the leg codec while nothing plays (PCMU 0xFF, PCMA 0xD5)', async () => {
    for (const [codec, byte] of [
      ['PCMU', 0xff],
      ['PCMA', 0xd5],
    ] as const) {
      const s = await session(codec);
      const { sock, pkts } = await capture();
      s.setRemote(HOST, sock.address().port);
      s.setFill(true);
      await until(() => pkts.length >= 10);
      s.setFill(false);
      for (const p of pkts) {
        expect(p.pt).toBe(codec === 'PCMU' ? 0 : 8);
        expect(p.payload.length).toBe(160);
        expect(p.payload.every((b) => b === byte)).toBe(true);
      }
    }
  });

  it('sends CN (one level byte) on the negotiated CN payload type', async () => {
    const s = await session();
    s.setCodec({ codec: 'PCMU', payloadType: 0, dtmfPayloadType: 101, cnPayloadType: 13 });
    const { sock, pkts } = await capture();
    s.setRemote(HOST, sock.address().port);
    s.setFill(true);
    await until(() => pkts.length >= 5);
    expect(pkts.every((p) => p.pt === 13 && p.payload.length === 1 && !p.marker)).toBe(true);
  });

  it('keeps seq and timestamps continuous across fill → prompt → fill, marker on the prompt start', async () => {
    const s = await session();
    const { sock, pkts } = await capture();
    s.setRemote(HOST, sock.address().port);
    s.setFill(true);
    await until(() => pkts.length >= 5);
    const prompt = new ClipPlayer([new Int16Array(160 * 5).fill(1000)]);
    s.setSource(prompt);
    await until(() => prompt.finished);
    await until(() => pkts.length >= 20);
    s.setFill(false);
    const starts = pkts.filter((p) => p.marker);
    expect(starts).toHaveLength(1);
    for (let i = 1; i < pkts.length; i++) {
      expect(pkts[i]!.seq).toBe((pkts[i - 1]!.seq + 1) & 0xffff);
      // +160 per 20 ms; a late tick may skip a frame or two, never go back.
      const dts = (pkts[i]!.ts - pkts[i - 1]!.ts) >>> 0;
      expect(dts % 160).toBe(0);
      expect(dts).toBeGreaterThanOrEqual(160);
      expect(dts).toBeLessThanOrEqual(480);
    }
  });

  it('is suspended while relaying (a bridge sends what comes) and resumes after', async () => {
    const s = await session();
    const { sock, pkts } = await capture();
    s.setRemote(HOST, sock.address().port);
    s.setFill(true);
    await until(() => pkts.length >= 3);
    s.setRelaying(true);
    expect(clock.has(s)).toBe(false);
    const n = pkts.length;
    await sleep(100);
    expect(pkts.length).toBeLessThanOrEqual(n + 1); // one may have been in flight
    s.setRelaying(false);
    expect(clock.has(s)).toBe(true);
    await until(() => pkts.length >= n + 3);
  });
});

describe('RtpSession with SRTP', () => {
  const k1 = Buffer.alloc(30, 1);
  const k2 = Buffer.alloc(30, 2);

  it('two SRTP sessions hear each other', async () => {
    const a = await session();
    const b = await session();
    pair(a, b);
    a.setSrtp({ send: k1, receive: k2 });
    b.setSrtp({ send: k2, receive: k1 });
    const heard = listen(b);
    a.setSource(new LoopPlayer(sine(1000)));
    await until(() => heard.tone([1000, 600]) === 1000);
    expect(b.stats.srtpAuthFailed).toBe(0);
    expect(a.srtp && b.srtp).toBe(true);
  });

  it('plain RTP, a replayed SRTP packet and SRTCP are dropped before the source check', async () => {
    const b = await session();
    const raw = await udp();
    b.setRemote(HOST, raw.address().port);
    b.setSrtp({ send: k2, receive: k1 });
    const got: number[] = [];
    b.onAudio = (p) => got.push(p.length);
    const tx = new SrtpContext(k1);
    const pkt = (seq: number): Buffer => {
      const buf = Buffer.alloc(12 + 160 + SRTP_AUTH_TAG_LEN, 0x7f);
      writeRtpHeader(buf, 0, 0, false, seq, seq * 160, 0xabcdef);
      return buf.subarray(0, tx.protect(buf, 172, 12));
    };
    const send = (b2: Buffer) => raw.send(b2, b.localPort, HOST);
    const plain = Buffer.alloc(172, 0x7f);
    writeRtpHeader(plain, 0, 0, false, 1, 160, 0xabcdef);
    send(plain);
    const p5 = pkt(5);
    send(Buffer.from(p5));
    send(Buffer.from(p5));
    // SRTCP sender report (PT 200) with an E-flag/index and a tag: ignored unread.
    const srtcp = Buffer.alloc(28 + 4 + SRTP_AUTH_TAG_LEN);
    srtcp[0] = 0x80;
    srtcp[1] = 200;
    srtcp.writeUInt16BE(6, 2);
    send(srtcp);
    send(pkt(6));
    await until(() => got.length === 2 && b.stats.rtcpIgnored === 1);
    expect(got).toEqual([160, 160]);
    expect(b.stats.srtpAuthFailed).toBe(1);
    expect(b.stats.srtpReplayed).toBe(1);
    expect(b.stats.packetsReceived).toBe(2);
    expect(b.sourcePolicy).toBe('locked');
  });
});
