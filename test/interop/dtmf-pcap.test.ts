import { describe, expect, it } from 'vitest';
import { dtmfPcap } from './dtmf-pcap.ts';

interface Rec {
  atUs: number;
  pt: number;
  marker: boolean;
  seq: number;
  ts: number;
  ssrc: number;
  event: number;
  end: boolean;
  duration: number;
  ipOk: boolean;
  udpLenOk: boolean;
}

/** Reads back what dtmfPcap wrote, the way sipp's pcap reader sees it. */
function readBack(file: Buffer): Rec[] {
  expect(file.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect(file.readUInt32LE(20)).toBe(1); // Ethernet
  const out: Rec[] = [];
  let off = 24;
  let first: number | undefined;
  while (off < file.length) {
    const sec = file.readUInt32LE(off);
    const usec = file.readUInt32LE(off + 4);
    const len = file.readUInt32LE(off + 8);
    const pkt = file.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    const at = sec * 1e6 + usec;
    first ??= at;
    expect(pkt.readUInt16BE(12)).toBe(0x0800);
    const ip = pkt.subarray(14);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const udp = ip.subarray(20);
    const rtp = udp.subarray(8);
    out.push({
      atUs: at - first,
      pt: rtp[1]! & 0x7f,
      marker: (rtp[1]! & 0x80) !== 0,
      seq: rtp.readUInt16BE(2),
      ts: rtp.readUInt32BE(4),
      ssrc: rtp.readUInt32BE(8),
      event: rtp[12]!,
      end: (rtp[13]! & 0x80) !== 0,
      duration: rtp.readUInt16BE(14),
      ipOk: sum === 0xffff && ip[9] === 17 && ip.readUInt16BE(2) === ip.length,
      udpLenOk: udp.readUInt16BE(4) === udp.length,
    });
  }
  return out;
}

describe('RFC 4733 pcap generator (for sipp play_pcap_audio)', () => {
  it('writes one stream: one SSRC, rising sequence numbers, 20 ms apart, 3 end packets per key', () => {
    const recs = readBack(dtmfPcap('42#', { toneMs: 100, gapMs: 100 }));
    expect(recs.every((r) => r.ipOk && r.udpLenOk && r.pt === 101)).toBe(true);
    expect(new Set(recs.map((r) => r.ssrc)).size).toBe(1);
    recs.slice(1).forEach((r, i) => expect(r.seq).toBe((recs[i]!.seq + 1) & 0xffff));
    const keys = [...new Set(recs.map((r) => r.ts))];
    expect(keys).toHaveLength(3);
    expect(keys.every((ts, i) => i === 0 || ts > keys[i - 1]!)).toBe(true);
    keys.forEach((ts, i) => {
      const ev = recs.filter((r) => r.ts === ts);
      expect(ev.map((r) => r.event)).toEqual(Array(8).fill([4, 2, 11][i]));
      expect(ev.map((r) => r.marker)).toEqual([true, false, false, false, false, false, false, false]);
      expect(ev.map((r) => r.end)).toEqual([false, false, false, false, false, true, true, true]);
      expect(ev.map((r) => r.duration)).toEqual([160, 320, 480, 640, 800, 800, 800, 800]);
      ev.slice(1).forEach((r, j) => expect(r.atUs - ev[j]!.atUs).toBe(20_000));
    });
    // A silent gap between keys: 20 ms frame + 100 ms.
    expect(recs[8]!.atUs - recs[7]!.atUs).toBe(120_000);
  });

  it('takes the payload type, SSRC and start values it is given, and refuses non-keys', () => {
    const recs = readBack(
      dtmfPcap('3', { payloadType: 96, ssrc: 7, firstSeq: 65535, firstTimestamp: 0xffffff00 }),
    );
    expect(recs.map((r) => r.pt)).toEqual(Array(8).fill(96));
    expect(recs[0]!.ssrc).toBe(7);
    expect(recs.slice(0, 2).map((r) => r.seq)).toEqual([65535, 0]);
    expect(recs[0]!.ts).toBe(0xffffff00);
    expect(() => dtmfPcap('1x')).toThrow(/not a DTMF key/);
  });
});
