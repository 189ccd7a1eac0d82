import { describe, expect, it } from 'vitest';
import {
  createRtpHeader,
  readRtpHeader,
  rtpCsrc,
  rtpMarker,
  rtpPayloadLength,
  rtpPayloadOffset,
  rtpPayloadType,
  rtpSequence,
  rtpSsrc,
  rtpTimestamp,
  writeRtpHeader,
} from './packet.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('RTP header', () => {
  // PCMU packet as sent by a softphone: M=1, PT 0, seq 0x1a2b, ts 0x00001f40, SSRC 0x0e05384e, 4 payload bytes.
  const captured = hex('80 80 1a2b 00001f40 0e05384e ff fe 7f 00');

  it('reads a captured packet', () => {
    const h = createRtpHeader();
    expect(readRtpHeader(captured, h)).toBe(true);
    expect(h).toMatchObject({
      version: 2,
      padding: false,
      extension: false,
      csrcCount: 0,
      marker: true,
      payloadType: 0,
      sequence: 0x1a2b,
      timestamp: 8000,
      ssrc: 0x0e05384e,
      payloadOffset: 12,
      payloadLength: 4,
    });
    expect(rtpMarker(captured)).toBe(true);
    expect(rtpPayloadType(captured)).toBe(0);
    expect(rtpSequence(captured)).toBe(0x1a2b);
    expect(rtpTimestamp(captured)).toBe(8000);
    expect(rtpSsrc(captured)).toBe(0x0e05384e);
  });

  it('writes the same bytes back', () => {
    const out = Buffer.alloc(captured.length);
    const n = writeRtpHeader(out, 0, 0, true, 0x1a2b, 8000, 0x0e05384e);
    captured.copy(out, n, 12);
    expect(out.equals(captured)).toBe(true);
  });

  it('writes at an offset and wraps values to their field sizes', () => {
    const out = Buffer.alloc(20);
    writeRtpHeader(out, 4, 101, false, 65535, 0xffffffff, 0xdeadbeef);
    expect(out.subarray(4, 16).toString('hex')).toBe('8065ffffffffffffdeadbeef');
  });

  it('skips the CSRC list, the header extension and the padding', () => {
    // V=2 P=1 X=1 CC=2, PT 8, seq 1, ts 2, ssrc 3, CSRC 0xaaaaaaaa 0xbbbbbbbb,
    // ext profile 0xbede length 1 word, payload d5 d5, padding 2 bytes (00 02)
    const p = hex('b2 08 0001 00000002 00000003 aaaaaaaa bbbbbbbb bede0001 10ff0000 d5d5 0002');
    const h = createRtpHeader();
    expect(readRtpHeader(p, h)).toBe(true);
    expect(h.csrcCount).toBe(2);
    expect(rtpCsrc(p, 1)).toBe(0xbbbbbbbb);
    expect(h.extensionProfile).toBe(0xbede);
    expect(h.payloadOffset).toBe(12 + 8 + 8);
    expect(h.payloadLength).toBe(2);
    expect(p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength).toString('hex')).toBe('d5d5');
  });

  it('rejects malformed packets', () => {
    const h = createRtpHeader();
    expect(readRtpHeader(hex('80 00 0001'), h)).toBe(false); // too short
    expect(readRtpHeader(hex('40 00 0001 00000002 00000003 ff'), h)).toBe(false); // version 1
    expect(rtpPayloadOffset(hex('83 00 0001 00000002 00000003 aaaaaaaa'))).toBe(-1); // CSRC past end
    expect(rtpPayloadOffset(hex('90 00 0001 00000002 00000003 bede0004 00'))).toBe(-1); // ext past end
    const badPad = hex('a0 00 0001 00000002 00000003 ff 09');
    expect(rtpPayloadLength(badPad, 12)).toBe(-1); // padding longer than payload
    expect(rtpPayloadLength(hex('a0 00 0001 00000002 00000003 ff 00'), 12)).toBe(-1); // zero pad count
  });

  it('honours an explicit datagram length shorter than the buffer', () => {
    const big = Buffer.alloc(64);
    writeRtpHeader(big, 0, 0, false, 1, 2, 3);
    expect(rtpPayloadOffset(big, 12)).toBe(12);
    expect(rtpPayloadLength(big, 12, 20)).toBe(8);
    expect(rtpPayloadOffset(big, 11)).toBe(-1);
  });
});
