/**
 * SRTP cost (src/media/srtp): µs per protect and per unprotect of a 172-byte PCMU packet
 * (12-byte header + 160 bytes = 20 ms), in place on one buffer as RtpSession does, and
 * what that adds per call: a leg with SRTP protects 50 and unprotects 50 packets a second.
 * The customer ⇄ agent bridge with both legs on SRTP pays it twice.
 *
 *   npx tsx bench/srtp.ts [packets=200000]
 */
import { randomBytes } from 'node:crypto';
import { RTP_HEADER_SIZE, writeRtpHeader } from '../src/media/rtp/packet.ts';
import { SRTP_AUTH_TAG_LEN, SrtpContext } from '../src/media/srtp/srtp.ts';

const N = Number(process.argv[2] ?? 200_000);
const RTP_LEN = RTP_HEADER_SIZE + 160;
const key = randomBytes(30);
const tx = new SrtpContext(key);
const rx = new SrtpContext(key);
const buf = Buffer.alloc(RTP_LEN + SRTP_AUTH_TAG_LEN);
randomBytes(160).copy(buf, RTP_HEADER_SIZE);

function round(seq: number): number {
  writeRtpHeader(buf, 0, 0, false, seq & 0xffff, seq * 160, 0x12345678);
  const n = tx.protect(buf, RTP_LEN, RTP_HEADER_SIZE);
  return rx.unprotect(buf, n, RTP_HEADER_SIZE);
}

// Warm-up (JIT), then protect alone and protect + unprotect, on consecutive sequence numbers.
for (let i = 0; i < 20_000; i++) round(i);
let seq = 20_000;
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  writeRtpHeader(buf, 0, 0, false, seq & 0xffff, seq * 160, 0x12345678);
  tx.protect(buf, RTP_LEN, RTP_HEADER_SIZE);
  seq++;
}
const protectUs = ((performance.now() - t0) * 1000) / N;

// Unprotect needs packets the receiver has not seen: protect them with a second sender first.
const tx2 = new SrtpContext(key);
const rx2 = new SrtpContext(key);
const wire: Buffer[] = [];
const BATCH = 50_000;
for (let i = 0; i < BATCH; i++) {
  const b = Buffer.alloc(RTP_LEN + SRTP_AUTH_TAG_LEN);
  writeRtpHeader(b, 0, 0, false, i & 0xffff, i * 160, 0x0badcafe);
  randomBytes(160).copy(b, RTP_HEADER_SIZE);
  tx2.protect(b, RTP_LEN, RTP_HEADER_SIZE);
  wire.push(b);
}
const copies = wire.map((b) => Buffer.from(b));
let failed = 0;
const t1 = performance.now();
for (let i = 0; i < BATCH; i++)
  if (rx2.unprotect(copies[i]!, RTP_LEN + SRTP_AUTH_TAG_LEN, RTP_HEADER_SIZE) < 0) failed++;
const unprotectUs = ((performance.now() - t1) * 1000) / BATCH;
if (failed > 0) throw new Error(`${failed} packets failed to unprotect`);

const perLegMsPerS = (50 * (protectUs + unprotectUs)) / 1000;
console.log(`srtp: AES_CM_128_HMAC_SHA1_80, ${RTP_LEN}-byte PCMU packet (node ${process.version})`);
console.log(`  protect    ${protectUs.toFixed(2)} µs/packet   (${N} packets)`);
console.log(`  unprotect  ${unprotectUs.toFixed(2)} µs/packet   (${BATCH} packets)`);
console.log(`  per SRTP leg (50 pkt/s each way): +${perLegMsPerS.toFixed(3)} CPU ms/s`);
console.log(`  per bridged call, both legs SRTP:  +${(2 * perLegMsPerS).toFixed(3)} CPU ms/s`);
