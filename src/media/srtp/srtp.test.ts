import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { writeRtpHeader, RTP_HEADER_SIZE } from '../rtp/packet.ts';
import {
  SRTP_AUTH_FAILED,
  SRTP_AUTH_TAG_LEN,
  SRTP_REPLAYED,
  SrtpContext,
  aesCmKeystream,
  deriveKey,
  estimateIndex,
} from './srtp.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('RFC 3711 Appendix B test vectors', () => {
  it('B.2 AES-CM keystream', () => {
    const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
    const iv = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
    const ks = aesCmKeystream(key, iv, 0xff02 * 16);
    const block = (n: number) =>
      ks
        .subarray(n * 16, n * 16 + 16)
        .toString('hex')
        .toUpperCase();
    expect(block(0)).toBe('E03EAD0935C95E80E166B16DD92B4EB4');
    expect(block(1)).toBe('D23513162B02D0F72A43A2FE4A5F97AB');
    expect(block(2)).toBe('41E95B3BB0A2E8DD477901E4FCA894C0');
    expect(block(0xfeff)).toBe('EC8CDF7398607CB0F2D21675EA9EA1E4');
    expect(block(0xff00)).toBe('362B7C3C6773516318A077D7FC5073AE');
    expect(block(0xff01)).toBe('6A2CC3787889374FBEB4C81B17BA6C44');
  });

  it('B.3 key derivation', () => {
    const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
    const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
    expect(deriveKey(mk, ms, 0, 16).toString('hex').toUpperCase()).toBe('C61E7A93744F39EE10734AFE3FF7A087');
    expect(deriveKey(mk, ms, 2, 14).toString('hex').toUpperCase()).toBe('30CBBC08863D8C85D49DB34A9AE1');
    expect(deriveKey(mk, ms, 1, 20).toString('hex').toUpperCase()).toBe(
      'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4',
    );
  });
});

/** A 172-byte PCMU packet (12 header + 160 payload) with room for the tag. */
function packet(seq: number, ssrc = 0x11223344, fill = 0x55): { buf: Buffer; len: number } {
  const buf = Buffer.alloc(RTP_HEADER_SIZE + 160 + SRTP_AUTH_TAG_LEN);
  writeRtpHeader(buf, 0, 0, false, seq, seq * 160, ssrc);
  buf.fill(fill, RTP_HEADER_SIZE, RTP_HEADER_SIZE + 160);
  return { buf, len: RTP_HEADER_SIZE + 160 };
}

function pair(): { tx: SrtpContext; rx: SrtpContext } {
  const key = randomBytes(30);
  return { tx: new SrtpContext(key), rx: new SrtpContext(key) };
}

describe('SrtpContext', () => {
  it('round trip: the payload is encrypted on the wire and comes back intact', () => {
    const { tx, rx } = pair();
    const { buf, len } = packet(1000);
    const plain = Buffer.from(buf.subarray(0, len));
    const n = tx.protect(buf, len, RTP_HEADER_SIZE);
    expect(n).toBe(len + SRTP_AUTH_TAG_LEN);
    expect(buf.subarray(0, RTP_HEADER_SIZE)).toEqual(plain.subarray(0, RTP_HEADER_SIZE));
    expect(buf.subarray(RTP_HEADER_SIZE, len).equals(plain.subarray(RTP_HEADER_SIZE))).toBe(false);
    expect(rx.unprotect(buf, n, RTP_HEADER_SIZE)).toBe(len);
    expect(buf.subarray(0, len)).toEqual(plain);
  });

  it('a tampered packet (payload, header or tag) is dropped and leaves the buffer as it was', () => {
    const { tx, rx } = pair();
    for (const at of [RTP_HEADER_SIZE + 5, 1, RTP_HEADER_SIZE + 160 + 3]) {
      const { buf, len } = packet(2000 + at);
      const n = tx.protect(buf, len, RTP_HEADER_SIZE);
      buf[at]! ^= 0x01;
      const before = Buffer.from(buf);
      expect(rx.unprotect(buf, n, RTP_HEADER_SIZE)).toBe(SRTP_AUTH_FAILED);
      expect(buf).toEqual(before);
    }
    // A wrong key fails too, and so does a packet shorter than header + tag.
    const other = new SrtpContext(randomBytes(30));
    const { buf, len } = packet(5);
    const n = tx.protect(buf, len, RTP_HEADER_SIZE);
    expect(other.unprotect(buf, n, RTP_HEADER_SIZE)).toBe(SRTP_AUTH_FAILED);
    expect(rx.unprotect(buf, 15, RTP_HEADER_SIZE)).toBe(SRTP_AUTH_FAILED);
  });

  it('replays are dropped; reordering within 64 packets is accepted, older is dropped', () => {
    const { tx, rx } = pair();
    const wire = new Map<number, Buffer>();
    for (let seq = 100; seq < 200; seq++) {
      const { buf, len } = packet(seq);
      wire.set(seq, buf.subarray(0, tx.protect(buf, len, RTP_HEADER_SIZE)));
    }
    const deliver = (seq: number) => {
      const b = Buffer.from(wire.get(seq)!);
      return rx.unprotect(b, b.length, RTP_HEADER_SIZE);
    };
    expect(deliver(100)).toBeGreaterThan(0);
    expect(deliver(100)).toBe(SRTP_REPLAYED);
    expect(deliver(150)).toBeGreaterThan(0);
    expect(deliver(120)).toBeGreaterThan(0); // late, 30 behind: in the window
    expect(deliver(120)).toBe(SRTP_REPLAYED);
    expect(deliver(110)).toBeGreaterThan(0); // 40 behind: upper half of the window
    expect(deliver(110)).toBe(SRTP_REPLAYED);
    expect(deliver(199)).toBeGreaterThan(0);
    expect(deliver(150)).toBe(SRTP_REPLAYED); // 49 behind, seen
    expect(deliver(140)).toBeGreaterThan(0); // 59 behind, never seen
    expect(deliver(130)).toBe(SRTP_REPLAYED); // 69 behind: older than the window
  });

  it('the roll-over counter advances when the sequence wraps 65535 → 0 on both sides', () => {
    const { tx, rx } = pair();
    let seq = 65530;
    for (let i = 0; i < 20; i++) {
      const { buf, len } = packet(seq, 0x01020304, i);
      const plain = Buffer.from(buf.subarray(0, len));
      const n = tx.protect(buf, len, RTP_HEADER_SIZE);
      expect(rx.unprotect(buf, n, RTP_HEADER_SIZE), `seq ${seq}`).toBe(len);
      expect(buf.subarray(0, len)).toEqual(plain);
      seq = (seq + 1) & 0xffff;
    }
    // A packet from before the wrap, arriving late, is still the old ROC's (and a replay here).
    const late = packet(65535, 0x01020304, 5);
    const n = tx.protect(late.buf, late.len, RTP_HEADER_SIZE); // sender: same estimation
    expect(rx.unprotect(late.buf, n, RTP_HEADER_SIZE)).toBe(SRTP_REPLAYED);
  });

  it('a receiver that guesses the wrong ROC fails the tag rather than decrypting garbage', () => {
    const { tx, rx } = pair();
    const a = packet(65535, 7);
    tx.protect(a.buf, a.len, RTP_HEADER_SIZE);
    const b = packet(3, 7); // after the wrap: the sender's ROC is 1
    const n = tx.protect(b.buf, b.len, RTP_HEADER_SIZE);
    expect(rx.unprotect(b.buf, n, RTP_HEADER_SIZE)).toBe(SRTP_AUTH_FAILED); // fresh receiver: ROC 0
  });

  it('streams are kept per SSRC: a replay of the old stream after a switch is caught', () => {
    const { tx, rx } = pair();
    const a = packet(10, 0xaaaa);
    const wireA = Buffer.from(a.buf.subarray(0, tx.protect(a.buf, a.len, RTP_HEADER_SIZE)));
    expect(rx.unprotect(Buffer.from(wireA), wireA.length, RTP_HEADER_SIZE)).toBe(a.len);
    const b = packet(5000, 0xbbbb);
    expect(rx.unprotect(b.buf, tx.protect(b.buf, b.len, RTP_HEADER_SIZE), RTP_HEADER_SIZE)).toBe(b.len);
    expect(rx.unprotect(Buffer.from(wireA), wireA.length, RTP_HEADER_SIZE)).toBe(SRTP_REPLAYED);
  });
});

describe('estimateIndex (RFC 3711 §3.3.1)', () => {
  it('guesses ROC-1, ROC, ROC+1', () => {
    expect(estimateIndex(65535, 0)).toBe(65536);
    expect(estimateIndex(65536 + 2, 65534)).toBe(65534);
    expect(estimateIndex(65536 * 3 + 100, 200)).toBe(65536 * 3 + 200);
    expect(estimateIndex(5, 65000)).toBe(65000); // ROC 0: no ROC-1
  });
});
