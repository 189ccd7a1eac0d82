/**
 * Writes a libpcap file of RFC 4733 telephone-events for sipp's `play_pcap_audio`.
 *
 * sipp replays the UDP payloads of a pcap at the pcap's own timing, rewriting only
 * addresses, ports and checksums (INTEROP.md): payload type, SSRC, sequence numbers and
 * timestamps go out exactly as written here. The pcaps sipp ships hold one event each,
 * with fixed sequence numbers, so several played in a row go backwards; this generator
 * makes one stream for a whole digit string instead:
 *
 * - one SSRC, sequence numbers rising by one per packet, RTP timestamps at 8 kHz;
 * - per digit (RFC 4733 §2.5.1): a first packet with the marker bit and duration 160,
 *   an update every 20 ms with the duration so far, then the final duration in three end
 *   packets (E=1) 20 ms apart, each with a new sequence number and the event's timestamp;
 * - a silent gap between digits (no packets), the timestamp moving on meanwhile.
 *
 * File layout: libpcap global header (magic a1b2c3d4, v2.4, LINKTYPE_ETHERNET), then per
 * packet a record header and Ethernet II / IPv4 / UDP / RTP bytes. The IPv4 header
 * checksum is computed; the UDP checksum is 0 ("none", allowed over IPv4) since sipp
 * recomputes it anyway.
 */

import { writeFileSync } from 'node:fs';

export interface DtmfPcapOptions {
  /** RTP payload type of telephone-event; sipp sends it unchanged, so offer the same one. */
  payloadType?: number;
  ssrc?: number;
  /** How long each key is held, ms (a multiple of 20). */
  toneMs?: number;
  /** Silence after each key (after its end packets), ms (a multiple of 20). */
  gapMs?: number;
  /** Silence before the first key, ms (a multiple of 20; no packet is sent meanwhile). */
  leadMs?: number;
  /** −dBm0, 0–63. */
  volume?: number;
  firstSeq?: number;
  firstTimestamp?: number;
}

const EVENTS = '0123456789*#ABCD';
const FRAME_MS = 20;
const SAMPLES_PER_MS = 8;

export interface RtpEventPacket {
  /** Offset from the start of the capture, ms. */
  atMs: number;
  seq: number;
  timestamp: number;
  marker: boolean;
  event: number;
  end: boolean;
  duration: number;
}

/** The RTP packets (before framing) for `digits`, in sending order. */
export function dtmfPackets(digits: string, o: DtmfPcapOptions = {}): RtpEventPacket[] {
  const toneMs = o.toneMs ?? 100;
  const gapMs = o.gapMs ?? 100;
  if (toneMs % FRAME_MS || gapMs % FRAME_MS || (o.leadMs ?? 0) % FRAME_MS)
    throw new Error('times must be multiples of 20 ms');
  let seq = o.firstSeq ?? 1000;
  let at = o.leadMs ?? 0;
  let ts = o.firstTimestamp ?? 160_000;
  const out: RtpEventPacket[] = [];
  for (const digit of digits) {
    const event = EVENTS.indexOf(digit.toUpperCase());
    if (event < 0) throw new Error(`not a DTMF key: ${JSON.stringify(digit)}`);
    const start = ts;
    const frames = toneMs / FRAME_MS;
    for (let i = 1; i <= frames; i++) {
      out.push({
        atMs: at,
        seq: seq++ & 0xffff,
        timestamp: start >>> 0,
        marker: i === 1,
        event,
        end: false,
        duration: i * FRAME_MS * SAMPLES_PER_MS,
      });
      at += FRAME_MS;
    }
    // The final duration, three times (RFC 4733 §2.5.1.4), on consecutive frames.
    for (let i = 0; i < 3; i++) {
      out.push({
        atMs: at,
        seq: seq++ & 0xffff,
        timestamp: start >>> 0,
        marker: false,
        event,
        end: true,
        duration: toneMs * SAMPLES_PER_MS,
      });
      at += FRAME_MS;
    }
    at += gapMs;
    ts = (start + (toneMs + 3 * FRAME_MS + gapMs) * SAMPLES_PER_MS) >>> 0;
  }
  return out;
}

/** IPv4 header checksum (RFC 791): one's complement of the one's-complement sum of 16-bit words. */
function ipChecksum(buf: Buffer, start: number, length: number): number {
  let sum = 0;
  for (let i = start; i < start + length; i += 2) sum += buf.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const SRC_IP = [10, 0, 0, 1];
const DST_IP = [10, 0, 0, 2];
const SRC_PORT = 6000;
const DST_PORT = 6002;

/** One Ethernet/IPv4/UDP/RTP frame carrying a telephone-event. */
function frame(p: RtpEventPacket, pt: number, ssrc: number, volume: number, ipId: number): Buffer {
  const rtpLen = 12 + 4;
  const udpLen = 8 + rtpLen;
  const ipLen = 20 + udpLen;
  const buf = Buffer.alloc(14 + ipLen);
  // Ethernet II: locally administered MACs, EtherType IPv4.
  Buffer.from([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]).copy(buf, 0);
  buf.writeUInt16BE(0x0800, 12);
  // IPv4.
  const ip = 14;
  buf[ip] = 0x45;
  buf[ip + 1] = 0xb8; // DSCP EF, as RTP usually is
  buf.writeUInt16BE(ipLen, ip + 2);
  buf.writeUInt16BE(ipId & 0xffff, ip + 4);
  buf.writeUInt16BE(0x4000, ip + 6); // DF
  buf[ip + 8] = 64;
  buf[ip + 9] = 17; // UDP
  Buffer.from(SRC_IP).copy(buf, ip + 12);
  Buffer.from(DST_IP).copy(buf, ip + 16);
  buf.writeUInt16BE(ipChecksum(buf, ip, 20), ip + 10);
  // UDP.
  const udp = ip + 20;
  buf.writeUInt16BE(SRC_PORT, udp);
  buf.writeUInt16BE(DST_PORT, udp + 2);
  buf.writeUInt16BE(udpLen, udp + 4);
  buf.writeUInt16BE(0, udp + 6);
  // RTP (RFC 3550 §5.1) + telephone-event (RFC 4733 §2.3).
  const rtp = udp + 8;
  buf[rtp] = 0x80;
  buf[rtp + 1] = (p.marker ? 0x80 : 0) | (pt & 0x7f);
  buf.writeUInt16BE(p.seq, rtp + 2);
  buf.writeUInt32BE(p.timestamp, rtp + 4);
  buf.writeUInt32BE(ssrc >>> 0, rtp + 8);
  buf[rtp + 12] = p.event;
  buf[rtp + 13] = (p.end ? 0x80 : 0) | (volume & 0x3f);
  buf.writeUInt16BE(p.duration, rtp + 14);
  return buf;
}

/** The whole libpcap file for `digits`. */
export function dtmfPcap(digits: string, o: DtmfPcapOptions = {}): Buffer {
  const pt = o.payloadType ?? 101;
  const ssrc = o.ssrc ?? 0x41474c31; // "AGL1"
  const volume = o.volume ?? 10;
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeInt32LE(0, 8); // thiszone
  header.writeUInt32LE(0, 12); // sigfigs
  header.writeUInt32LE(65535, 16); // snaplen
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const parts: Buffer[] = [header];
  const epochSec = 1_700_000_000;
  dtmfPackets(digits, o).forEach((p, i) => {
    const data = frame(p, pt, ssrc, volume, i + 1);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(epochSec + Math.floor(p.atMs / 1000), 0);
    rec.writeUInt32LE((p.atMs % 1000) * 1000, 4);
    rec.writeUInt32LE(data.length, 8);
    rec.writeUInt32LE(data.length, 12);
    parts.push(rec, data);
  });
  return Buffer.concat(parts);
}

export interface WrittenPcap {
  /** How long sipp takes to play it, ms. */
  durationMs: number;
  /** Sequence number and timestamp a continuation of this stream starts with. */
  nextSeq: number;
  nextTimestamp: number;
}

/** Writes the pcap for `digits` to `file`. */
export function writeDtmfPcap(file: string, digits: string, o: DtmfPcapOptions = {}): WrittenPcap {
  writeFileSync(file, dtmfPcap(digits, o));
  const packets = dtmfPackets(digits, o);
  const last = packets.at(-1);
  const gapMs = o.gapMs ?? 100;
  return {
    durationMs: (last?.atMs ?? 0) + FRAME_MS,
    nextSeq: last ? (last.seq + 1) & 0xffff : (o.firstSeq ?? 1000),
    nextTimestamp: last
      ? (last.timestamp + (last.duration + 3 * FRAME_MS * SAMPLES_PER_MS + gapMs * SAMPLES_PER_MS)) >>> 0
      : (o.firstTimestamp ?? 160_000),
  };
}
