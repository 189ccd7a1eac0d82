import { describe, expect, it } from 'vitest';
import {
  ALAW_TO_ULAW,
  ULAW_TO_ALAW,
  alawDecode,
  alawEncode,
  decodeFrame,
  encodeFrame,
  transcodeInto,
  ulawDecode,
  ulawEncode,
} from './g711.ts';

describe('G.711 μ-law', () => {
  it('encodes known values', () => {
    expect(ulawEncode(0)).toBe(0xff);
    expect(ulawEncode(-1)).toBe(0x7e); // -1 >> 2 = -1: smallest negative step
    expect(ulawEncode(32767)).toBe(0x80);
    expect(ulawEncode(-32768)).toBe(0x00);
    expect(ulawEncode(1000)).toBe(0xce);
  });
  it('decodes known values', () => {
    expect(ulawDecode(0xff)).toBe(0);
    expect(ulawDecode(0x7f)).toBe(0);
    expect(ulawDecode(0x80)).toBe(32124);
    expect(ulawDecode(0x00)).toBe(-32124);
  });
  it('every code decodes and re-encodes to itself (except negative zero)', () => {
    for (let b = 0; b < 256; b++) {
      if (b === 0x7f) continue;
      expect(ulawEncode(ulawDecode(b))).toBe(b);
    }
  });
});

describe('G.711 A-law', () => {
  it('encodes known values', () => {
    expect(alawEncode(0)).toBe(0xd5);
    expect(alawEncode(-1)).toBe(0x55);
    expect(alawEncode(32767)).toBe(0xaa);
    expect(alawEncode(-32768)).toBe(0x2a);
  });
  it('decodes known values', () => {
    expect(alawDecode(0xd5)).toBe(8);
    expect(alawDecode(0x55)).toBe(-8);
    expect(alawDecode(0xaa)).toBe(32256);
    expect(alawDecode(0x2a)).toBe(-32256);
  });
  it('every code decodes and re-encodes to itself', () => {
    for (let b = 0; b < 256; b++) expect(alawEncode(alawDecode(b))).toBe(b);
  });
});

describe.each([
  ['μ-law', ulawEncode, ulawDecode],
  ['A-law', alawEncode, alawDecode],
] as const)('G.711 %s', (_law, encode, decode) => {
  it('quantisation error stays within the segment step', () => {
    for (let s = -32000; s <= 32000; s += 7) {
      const err = Math.abs(decode(encode(s)) - s);
      expect(err).toBeLessThanOrEqual(Math.max(16, Math.abs(s) / 16));
    }
  });
});

describe('transcoding', () => {
  it('maps silence to silence', () => {
    expect(ULAW_TO_ALAW[0xff]).toBe(0xd5);
    // A-law has no zero level: 0xd5 is +8, whose nearest μ-law code is 0xfe (+8)
    expect(ALAW_TO_ULAW[0xd5]).toBe(0xfe);
    expect(ulawDecode(0xfe)).toBe(8);
  });
  it('keeps the sample value close', () => {
    for (let b = 0; b < 256; b++) {
      const s = ulawDecode(b);
      const t = alawDecode(ULAW_TO_ALAW[b]!);
      expect(Math.abs(s - t)).toBeLessThanOrEqual(Math.max(16, Math.abs(s) / 16));
    }
  });
  it('transcodeInto converts a payload and copies when codecs match', () => {
    const src = Buffer.from([0xff, 0x80, 0x00]);
    const dst = Buffer.alloc(5);
    transcodeInto('PCMU', 'PCMA', src, 0, 3, dst, 2);
    expect([...dst.subarray(2)]).toEqual([0xd5, ULAW_TO_ALAW[0x80], ULAW_TO_ALAW[0x00]]);
    transcodeInto('PCMA', 'PCMA', src, 1, 2, dst, 0);
    expect([...dst.subarray(0, 2)]).toEqual([0x80, 0x00]);
  });
});

describe('frames', () => {
  it('round-trips a 160-sample frame', () => {
    const pcm = new Int16Array(160);
    for (let i = 0; i < 160; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
    for (const codec of ['PCMU', 'PCMA'] as const) {
      const buf = Buffer.alloc(172);
      expect(encodeFrame(codec, pcm, buf, 12)).toBe(160);
      const back = new Int16Array(160);
      expect(decodeFrame(codec, buf.subarray(12), back)).toBe(160);
      for (let i = 0; i < 160; i++) expect(Math.abs(back[i]! - pcm[i]!)).toBeLessThanOrEqual(512);
    }
  });
});
