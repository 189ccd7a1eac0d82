/**
 * SRTP (RFC 3711) for one direction of one RTP session, suite AES_CM_128_HMAC_SHA1_80
 * (RFC 4568 §6.2.1): AES-128 in counter mode, HMAC-SHA1 tag truncated to 80 bits, key
 * derivation rate 0, no MKI. SDES (sdp.ts) hands each direction its own 30-byte
 * master key || salt; one `SrtpContext` protects what we send, another unprotects what
 * the peer sends.
 *
 *   protect:   RTP header ‖ payload  →  header ‖ AES-CM(payload) ‖ HMAC80(header ‖ AES-CM(payload) ‖ ROC)
 *   unprotect: replay check → tag check (constant time) → decrypt → update index and window
 *
 * Streams are told apart by SSRC (RFC 3711 §3.2.3: SSRC, destination address and port name
 * a context; the address part is the RTP session itself). Each SSRC keeps its roll-over
 * counter, highest sequence number and 64-packet replay window. A peer that restarts its
 * stream with a new SSRC gets a new stream state; the old ones stay, so replaying an old
 * stream's packets after the switch is still caught. At most MAX_STREAMS per direction:
 * packets of further SSRCs are refused (an attacker without the key cannot make any, since
 * the state is created only after the tag checks).
 *
 * Hot path: both directions work in place on the caller's buffer. Per packet, node:crypto
 * allocates one keystream buffer (one ECB update over all counter blocks) and one HMAC
 * object with its digest; nothing else. createHmac per packet measured faster than
 * copying a keyed hash state (bench/srtp.ts).
 */
import { createCipheriv, createHmac, type Cipher } from 'node:crypto';

export const SRTP_AUTH_TAG_LEN = 10;
export const SRTP_MASTER_KEY_LEN = 16;
export const SRTP_MASTER_SALT_LEN = 14;
/** An SDES inline key: master key ‖ master salt. */
export const SRTP_KEY_SALT_LEN = SRTP_MASTER_KEY_LEN + SRTP_MASTER_SALT_LEN;

const MAX_STREAMS = 8;
const REPLAY_WINDOW = 64;
/** Largest payload we handle; the keystream scratch is sized for it. */
const MAX_PACKET = 1500;

/** Key derivation labels (RFC 3711 §4.3.1). */
const LABEL_RTP_ENC = 0x00;
const LABEL_RTP_AUTH = 0x01;
const LABEL_RTP_SALT = 0x02;

export type UnprotectResult = number;
/** unprotect: the tag is wrong (tampered, wrong key) or the packet too short. */
export const SRTP_AUTH_FAILED = -1;
/** unprotect: seen before, or older than the replay window. */
export const SRTP_REPLAYED = -2;
/** unprotect: a new SSRC beyond MAX_STREAMS. */
export const SRTP_TOO_MANY_STREAMS = -3;

/**
 * AES-CM keystream (RFC 3711 §4.1.1) with a prepared ECB cipher: block j is
 * AES(IV + j), IV being 16 bytes whose last two bytes are the block counter.
 * Writes `len` bytes of keystream XORed into `out[off..off+len)`; `ctr` is scratch.
 */
function xorKeystream(ecb: Cipher, iv: Buffer, ctr: Buffer, out: Buffer, off: number, len: number): void {
  const blocks = (len + 15) >>> 4;
  // A JS loop, not Buffer.copy: ten native calls per packet cost more than the bytes.
  for (let j = 0; j < blocks; j++) {
    const b = j << 4;
    for (let k = 0; k < 14; k++) ctr[b + k] = iv[k]!;
    // IV bytes 14..15 are zero before the counter is added (key_id and index sit above them).
    ctr[b + 14] = (j >>> 8) & 0xff;
    ctr[b + 15] = j & 0xff;
  }
  const ks = ecb.update(ctr.subarray(0, blocks << 4));
  for (let i = 0; i < len; i++) out[off + i]! ^= ks[i]!;
}

function ecbCipher(key: Buffer): Cipher {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return c;
}

/** `length` bytes of AES-CM keystream for `iv` (block counter in its last two bytes). */
export function aesCmKeystream(key: Buffer, iv: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  xorKeystream(ecbCipher(key), iv, Buffer.alloc(((length + 15) >>> 4) << 4), out, 0, length);
  return out;
}

/**
 * The session keys for `label` (RFC 3711 §4.3.1 with kdr 0, so r = 0): x = key_id XOR
 * master salt, key_id = label ‖ 48 zero bits; output = AES-CM keystream under the master key
 * with IV = x · 2^16.
 */
export function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, SRTP_MASTER_SALT_LEN);
  iv[7]! ^= label;
  return aesCmKeystream(masterKey, iv, length);
}

/** Per-SSRC state (RFC 3711 §3.2.1, §3.3.1, §3.3.2). */
interface Stream {
  ssrc: number;
  /** Receive: highest authenticated index (ROC · 2^16 + SEQ). Send: the index of the last packet. */
  highest: number;
  /** Replay window: bit k of `seen` = index `highest - k` was received (k < 32 in lo, else hi). */
  seenLo: number;
  seenHi: number;
}

export class SrtpContext {
  private readonly ecb: Cipher;
  private readonly authKey: Buffer;
  private readonly sessionSalt: Buffer;
  private readonly iv = Buffer.alloc(16);
  private readonly ctr = Buffer.alloc(((MAX_PACKET + 15) >>> 4) << 4);
  private readonly rocBuf = Buffer.alloc(4);
  private readonly streams: Stream[] = [];
  /** The last stream used: almost every packet is on it. */
  private current: Stream | undefined;

  /** `keySalt`: 30 bytes, master key ‖ master salt (an SDES inline key). */
  constructor(keySalt: Buffer) {
    if (keySalt.length !== SRTP_KEY_SALT_LEN) throw new RangeError('SRTP key||salt must be 30 bytes');
    const key = keySalt.subarray(0, SRTP_MASTER_KEY_LEN);
    const salt = keySalt.subarray(SRTP_MASTER_KEY_LEN);
    this.ecb = ecbCipher(deriveKey(key, salt, LABEL_RTP_ENC, 16));
    this.authKey = deriveKey(key, salt, LABEL_RTP_AUTH, 20);
    this.sessionSalt = deriveKey(key, salt, LABEL_RTP_SALT, 14);
  }

  private stream(ssrc: number): Stream | undefined {
    const cur = this.current;
    if (cur !== undefined && cur.ssrc === ssrc) return cur;
    for (const s of this.streams)
      if (s.ssrc === ssrc) {
        this.current = s;
        return s;
      }
    return undefined;
  }

  /** IV for packet index `index` of `ssrc` (RFC 3711 §4.1.1): salt ⊕ SSRC·2^64 ⊕ index·2^16. */
  private setIv(ssrc: number, index: number): void {
    const iv = this.iv;
    this.sessionSalt.copy(iv, 0, 0, 14);
    iv[4]! ^= ssrc >>> 24;
    iv[5]! ^= (ssrc >>> 16) & 0xff;
    iv[6]! ^= (ssrc >>> 8) & 0xff;
    iv[7]! ^= ssrc & 0xff;
    const roc = Math.floor(index / 65536);
    iv[8]! ^= roc >>> 24;
    iv[9]! ^= (roc >>> 16) & 0xff;
    iv[10]! ^= (roc >>> 8) & 0xff;
    iv[11]! ^= roc & 0xff;
    iv[12]! ^= (index >>> 8) & 0xff;
    iv[13]! ^= index & 0xff;
    iv[14] = 0;
    iv[15] = 0;
  }

  /** The 80-bit tag of `buf[0..len)` with `roc` appended (RFC 3711 §4.2), written at `buf[len]`. */
  private writeTag(buf: Buffer, len: number, roc: number): void {
    this.rocBuf.writeUInt32BE(roc >>> 0, 0);
    const h = createHmac('sha1', this.authKey);
    h.update(buf.subarray(0, len));
    h.update(this.rocBuf);
    h.digest().copy(buf, len, 0, SRTP_AUTH_TAG_LEN);
  }

  private tagMatches(buf: Buffer, len: number, roc: number): boolean {
    this.rocBuf.writeUInt32BE(roc >>> 0, 0);
    const h = createHmac('sha1', this.authKey);
    h.update(buf.subarray(0, len));
    h.update(this.rocBuf);
    const d = h.digest();
    let diff = 0;
    for (let i = 0; i < SRTP_AUTH_TAG_LEN; i++) diff |= d[i]! ^ buf[len + i]!;
    return diff === 0;
  }

  /**
   * Protects the RTP packet `buf[0..len)` in place (header at `headerLen`, payload after it)
   * and appends the tag: `buf` needs SRTP_AUTH_TAG_LEN spare bytes. Returns the new length.
   * The roll-over counter advances when the sequence number wraps (65535 → 0).
   */
  protect(buf: Buffer, len: number, headerLen: number): number {
    if (len > MAX_PACKET) throw new RangeError(`SRTP packet of ${len} bytes`);
    const ssrc = buf.readUInt32BE(8);
    const seq = (buf[2]! << 8) | buf[3]!;
    let s = this.stream(ssrc);
    let index: number;
    if (s === undefined) {
      index = seq;
      s = { ssrc, highest: seq, seenLo: 0, seenHi: 0 };
      if (this.streams.length >= MAX_STREAMS) this.streams.shift();
      this.streams.push(s);
      this.current = s;
    } else {
      index = estimateIndex(s.highest, seq);
      if (index > s.highest) s.highest = index;
    }
    this.setIv(ssrc, index);
    xorKeystream(this.ecb, this.iv, this.ctr, buf, headerLen, len - headerLen);
    this.writeTag(buf, len, Math.floor(index / 65536));
    return len + SRTP_AUTH_TAG_LEN;
  }

  /**
   * Unprotects the SRTP packet `buf[0..len)` in place. Returns the RTP length (tag removed)
   * or a negative SRTP_* code; on a negative result the buffer is unchanged and no state moved.
   */
  unprotect(buf: Buffer, len: number, headerLen: number): UnprotectResult {
    const rtpLen = len - SRTP_AUTH_TAG_LEN;
    if (rtpLen < headerLen || len > MAX_PACKET) return SRTP_AUTH_FAILED;
    const ssrc = buf.readUInt32BE(8);
    const seq = (buf[2]! << 8) | buf[3]!;
    const s = this.stream(ssrc);
    let index: number;
    if (s === undefined) {
      // RFC 3711 §3.3.1: the first packet of a stream sets s_l; ROC starts at 0.
      if (this.streams.length >= MAX_STREAMS) return SRTP_TOO_MANY_STREAMS;
      index = seq;
    } else {
      index = estimateIndex(s.highest, seq);
      if (seen(s, index)) return SRTP_REPLAYED;
    }
    const roc = Math.floor(index / 65536);
    if (!this.tagMatches(buf, rtpLen, roc)) return SRTP_AUTH_FAILED;
    this.setIv(ssrc, index);
    xorKeystream(this.ecb, this.iv, this.ctr, buf, headerLen, rtpLen - headerLen);
    if (s === undefined) {
      const n: Stream = { ssrc, highest: index, seenLo: 1, seenHi: 0 };
      this.streams.push(n);
      this.current = n;
    } else markSeen(s, index);
    return rtpLen;
  }
}

/**
 * RFC 3711 §3.3.1 / Appendix A: the packet index of `seq` given the highest index so far:
 * the ROC guess v ∈ {ROC-1, ROC, ROC+1} that puts the index nearest to s_l.
 */
export function estimateIndex(highest: number, seq: number): number {
  const roc = Math.floor(highest / 65536);
  const sl = highest % 65536;
  let v = roc;
  if (sl < 32768) {
    if (seq - sl > 32768 && roc > 0) v = roc - 1;
  } else if (sl - 32768 > seq) v = roc + 1;
  return v * 65536 + seq;
}

/** Replay check (§3.3.2): true when `index` was received or is older than the window. */
function seen(s: Stream, index: number): boolean {
  const delta = s.highest - index;
  if (delta < 0) return false;
  if (delta >= REPLAY_WINDOW) return true;
  return delta < 32 ? ((s.seenLo >>> delta) & 1) === 1 : ((s.seenHi >>> (delta - 32)) & 1) === 1;
}

function markSeen(s: Stream, index: number): void {
  const delta = s.highest - index;
  if (delta >= 0) {
    if (delta < 32) s.seenLo |= 1 << delta;
    else s.seenHi |= 1 << (delta - 32);
    return;
  }
  // A new highest: shift the window by -delta and mark bit 0.
  const shift = -delta;
  if (shift >= REPLAY_WINDOW) {
    s.seenLo = 1;
    s.seenHi = 0;
  } else if (shift >= 32) {
    s.seenHi = shift === 32 ? s.seenLo : s.seenLo << (shift - 32);
    s.seenLo = 1;
  } else {
    s.seenHi = (s.seenHi << shift) | (s.seenLo >>> (32 - shift));
    s.seenLo = (s.seenLo << shift) | 1;
  }
  s.highest = index;
}
