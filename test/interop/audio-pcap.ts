/**
 * Writes a libpcap file of G.711 μ-law RTP (PT 0, 20 ms frames) for sipp's
 * `play_pcap_audio`: the audio analogue of dtmf-pcap.ts, for phones whose keys are
 * tones in the audio. sipp sends the payloads, SSRC, sequence numbers and timestamps as
 * written and at the capture's timing (INTEROP.md). Same framing as dtmf-pcap.ts:
 * Ethernet II / IPv4 (checksummed) / UDP (checksum 0) / RTP.
 */
import { writeFileSync } from 'node:fs';

export interface AudioPcapOptions {
  ssrc?: number;
  firstSeq?: number;
  firstTimestamp?: number;
}

export interface WrittenAudioPcap {
  durationMs: number;
  nextSeq: number;
  nextTimestamp: number;
}

const FRAME = 160;

function ipChecksum(buf: Buffer, start: number, length: number): number {
  let sum = 0;
  for (let i = start; i < start + length; i += 2) sum += buf.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function frame(
  payload: Buffer,
  seq: number,
  ts: number,
  ssrc: number,
  marker: boolean,
  ipId: number,
): Buffer {
  const udpLen = 8 + 12 + payload.length;
  const ipLen = 20 + udpLen;
  const buf = Buffer.alloc(14 + ipLen);
  Buffer.from([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]).copy(buf, 0);
  buf.writeUInt16BE(0x0800, 12);
  const ip = 14;
  buf[ip] = 0x45;
  buf[ip + 1] = 0xb8;
  buf.writeUInt16BE(ipLen, ip + 2);
  buf.writeUInt16BE(ipId & 0xffff, ip + 4);
  buf.writeUInt16BE(0x4000, ip + 6);
  buf[ip + 8] = 64;
  buf[ip + 9] = 17;
  Buffer.from([10, 0, 0, 1]).copy(buf, ip + 12);
  Buffer.from([10, 0, 0, 2]).copy(buf, ip + 16);
  buf.writeUInt16BE(ipChecksum(buf, ip, 20), ip + 10);
  const udp = ip + 20;
  buf.writeUInt16BE(6000, udp);
  buf.writeUInt16BE(6002, udp + 2);
  buf.writeUInt16BE(udpLen, udp + 4);
  const rtp = udp + 8;
  buf[rtp] = 0x80;
  buf[rtp + 1] = (marker ? 0x80 : 0) | 0; // PT 0, PCMU
  buf.writeUInt16BE(seq & 0xffff, rtp + 2);
  buf.writeUInt32BE(ts >>> 0, rtp + 4);
  buf.writeUInt32BE(ssrc >>> 0, rtp + 8);
  payload.copy(buf, rtp + 12);
  return buf;
}

/** Writes μ-law bytes (8 kHz) as one RTP stream, padded with μ-law silence to whole frames. */
export function writeUlawPcap(file: string, ulaw: Buffer, o: AudioPcapOptions = {}): WrittenAudioPcap {
  const ssrc = o.ssrc ?? 0x41474c32;
  let seq = o.firstSeq ?? 2000;
  let ts = o.firstTimestamp ?? 320_000;
  const frames = Math.ceil(ulaw.length / FRAME);
  const padded = Buffer.alloc(frames * FRAME, 0xff);
  ulaw.copy(padded);
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const parts: Buffer[] = [header];
  const epochSec = 1_700_000_000;
  for (let i = 0; i < frames; i++) {
    const data = frame(padded.subarray(i * FRAME, (i + 1) * FRAME), seq++, ts, ssrc, i === 0, i + 1);
    ts = (ts + FRAME) >>> 0;
    const atMs = i * 20;
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(epochSec + Math.floor(atMs / 1000), 0);
    rec.writeUInt32LE((atMs % 1000) * 1000, 4);
    rec.writeUInt32LE(data.length, 8);
    rec.writeUInt32LE(data.length, 12);
    parts.push(rec, data);
  }
  writeFileSync(file, Buffer.concat(parts));
  return { durationMs: frames * 20, nextSeq: seq & 0xffff, nextTimestamp: ts };
}
