/**
 * G.711 companding (ITU-T G.711): μ-law (PCMU, RTP PT 0) and A-law (PCMA, RTP PT 8).
 *
 * All conversions are table look-ups built once at module load:
 * - encode: 64K-entry tables indexed by the 16-bit sample as unsigned (`s & 0xffff`);
 * - decode: 256-entry Int16 tables;
 * - transcode: 256-entry byte→byte tables (μ-law→A-law and back), built by decoding
 *   and re-encoding, so a bridge can convert a payload without touching Int16 samples.
 *
 * Encoding works on the 16-bit linear range: μ-law uses the top 14 bits (bias 33),
 * A-law the top 13 bits, as G.711 specifies.
 */

export type Codec = 'PCMU' | 'PCMA';

/** Static RTP payload types of RFC 3551 for the G.711 codecs. */
export const STATIC_PAYLOAD_TYPE: Readonly<Record<Codec, number>> = { PCMU: 0, PCMA: 8 };

/** Samples per 20 ms frame at 8 kHz. */
export const FRAME_SAMPLES = 160;

function linearToUlawSlow(sample: number): number {
  // 14-bit magnitude, sign handled via the final xor mask (all bits are inverted on the wire).
  let v = sample >> 2;
  let mask: number;
  if (v < 0) {
    v = -v;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  if (v > 8159) v = 8159;
  v += 33; // bias
  // segment = position of the highest set bit above bit 5
  let seg = 0;
  for (let t = v >> 6; t > 0; t >>= 1) seg++;
  const code = seg > 7 ? 0x7f : (seg << 4) | ((v >> (seg + 1)) & 0x0f);
  return (code ^ mask) & 0xff;
}

function ulawToLinearSlow(byte: number): number {
  const u = ~byte & 0xff;
  let t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

function linearToAlawSlow(sample: number): number {
  let v = sample >> 3; // 13-bit
  let mask: number;
  if (v >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    v = -v - 1;
  }
  if (v > 0xfff) v = 0xfff;
  let seg = 0;
  for (let t = v >> 5; t > 0; t >>= 1) seg++;
  const quant = seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return ((seg << 4) | quant) ^ mask;
}

function alawToLinearSlow(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

const ULAW_ENCODE = new Uint8Array(65536);
const ALAW_ENCODE = new Uint8Array(65536);
const ULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
/** ULAW_TO_ALAW[u] = A-law byte for the same sound; and the reverse. */
export const ULAW_TO_ALAW = new Uint8Array(256);
export const ALAW_TO_ULAW = new Uint8Array(256);

for (let i = 0; i < 65536; i++) {
  const s = i >= 32768 ? i - 65536 : i;
  ULAW_ENCODE[i] = linearToUlawSlow(s);
  ALAW_ENCODE[i] = linearToAlawSlow(s);
}
for (let b = 0; b < 256; b++) {
  ULAW_DECODE[b] = ulawToLinearSlow(b);
  ALAW_DECODE[b] = alawToLinearSlow(b);
}
for (let b = 0; b < 256; b++) {
  ULAW_TO_ALAW[b] = ALAW_ENCODE[ULAW_DECODE[b]! & 0xffff]!;
  ALAW_TO_ULAW[b] = ULAW_ENCODE[ALAW_DECODE[b]! & 0xffff]!;
}

/** One 16-bit sample → μ-law byte. */
export function ulawEncode(sample: number): number {
  return ULAW_ENCODE[sample & 0xffff]!;
}
/** μ-law byte → 16-bit sample. */
export function ulawDecode(byte: number): number {
  return ULAW_DECODE[byte & 0xff]!;
}
/** One 16-bit sample → A-law byte. */
export function alawEncode(sample: number): number {
  return ALAW_ENCODE[sample & 0xffff]!;
}
/** A-law byte → 16-bit sample. */
export function alawDecode(byte: number): number {
  return ALAW_DECODE[byte & 0xff]!;
}

/**
 * Encodes all of `samples` into `out` starting at `offset`; returns the number of
 * bytes written (= samples.length). `out` must have room.
 */
export function encodeFrame(codec: Codec, samples: Int16Array, out: Buffer, offset: number): number {
  const table = codec === 'PCMU' ? ULAW_ENCODE : ALAW_ENCODE;
  const n = samples.length;
  for (let i = 0; i < n; i++) out[offset + i] = table[samples[i]! & 0xffff]!;
  return n;
}

/**
 * Decodes `payload` into `out`; returns the number of samples written
 * (min(payload.length, out.length)).
 */
export function decodeFrame(codec: Codec, payload: Buffer, out: Int16Array): number {
  const table = codec === 'PCMU' ? ULAW_DECODE : ALAW_DECODE;
  const n = Math.min(payload.length, out.length);
  for (let i = 0; i < n; i++) out[i] = table[payload[i]!]!;
  return n;
}

/**
 * Copies `length` bytes of `src` from `srcOffset` into `dst` at `dstOffset`,
 * converting from codec `from` to codec `to` (a plain copy when they are equal).
 */
export function transcodeInto(
  from: Codec,
  to: Codec,
  src: Buffer,
  srcOffset: number,
  length: number,
  dst: Buffer,
  dstOffset: number,
): void {
  if (from === to) {
    src.copy(dst, dstOffset, srcOffset, srcOffset + length);
    return;
  }
  const table = from === 'PCMU' ? ULAW_TO_ALAW : ALAW_TO_ULAW;
  for (let i = 0; i < length; i++) dst[dstOffset + i] = table[src[srcOffset + i]!]!;
}

/** Maps a static payload type to its G.711 codec (0 → PCMU, 8 → PCMA). */
export function codecForStaticPayloadType(pt: number): Codec | undefined {
  return pt === 0 ? 'PCMU' : pt === 8 ? 'PCMA' : undefined;
}
