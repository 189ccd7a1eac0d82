import { describe, expect, it } from 'vitest';
import {
  DtmfFrame,
  DtmfReceiver,
  DtmfSender,
  dtmfDigit,
  dtmfEventCode,
  planDtmf,
  readTelephoneEvent,
  writeTelephoneEvent,
} from './rfc4733.ts';
import { createRtpHeader, readRtpHeader } from '../rtp/packet.ts';

const ev = (event: number, end: boolean, duration: number, volume = 10) => {
  const b = Buffer.alloc(4);
  writeTelephoneEvent(b, 0, event, end, volume, duration);
  return b;
};

function receiver() {
  let now = 1000;
  const digits: Array<[string, number]> = [];
  const r = new DtmfReceiver({ now: () => now });
  r.onDigit = (d, at) => digits.push([d, at]);
  return { r, digits, advance: (ms: number) => (now += ms) };
}

describe('telephone-event payload', () => {
  it('round-trips captured bytes', () => {
    // end packet of /usr/share/sip-tester/dtmf_2833_1.pcap: event 1, E=1, volume 10, duration 2240
    const captured = Buffer.from('018a08c0', 'hex');
    const e = { event: 0, end: false, volume: 0, duration: 0 };
    expect(readTelephoneEvent(captured, 0, 4, e)).toBe(true);
    expect(e).toEqual({ event: 1, end: true, volume: 10, duration: 2240 });
    expect(ev(1, true, 2240).equals(captured)).toBe(true);
  });
  it('maps events to digits', () => {
    expect(dtmfDigit(10)).toBe('*');
    expect(dtmfDigit(11)).toBe('#');
    expect(dtmfDigit(12)).toBe('A');
    expect(dtmfDigit(16)).toBeUndefined();
    expect(dtmfEventCode('d')).toBe(15);
    expect(dtmfEventCode('x')).toBe(-1);
  });
});

describe('DtmfReceiver', () => {
  it('reports a digit once at its start packet', () => {
    const { r, digits, advance } = receiver();
    r.feed(1, 10, 8000, ev(5, false, 160));
    advance(20);
    r.feed(1, 11, 8000, ev(5, false, 320));
    advance(20);
    for (let i = 0; i < 3; i++) r.feed(1, 12 + i, 8000, ev(5, true, 480));
    expect(digits).toEqual([['5', 1000]]);
  });

  it('counts redundant and retransmitted end packets once (same seq too)', () => {
    const { r, digits, advance } = receiver();
    r.feed(1, 10, 8000, ev(1, false, 160));
    for (let i = 0; i < 3; i++) r.feed(1, 20, 8000, ev(1, true, 1120));
    advance(50);
    r.feed(1, 20, 8000, ev(1, true, 1120)); // late network duplicate
    expect(digits.map((d) => d[0])).toEqual(['1']);
  });

  it('treats a new timestamp as a new event even when seq goes backwards', () => {
    const { r, digits, advance } = receiver();
    // sipp pcap '*' then pcap '1': same SSRC, the second restarts at a lower seq
    r.feed(0x0e05384e, 5000, 100_000, ev(10, false, 160));
    for (let i = 0; i < 3; i++) r.feed(0x0e05384e, 5007, 100_000, ev(10, true, 1120));
    advance(400);
    r.feed(0x0e05384e, 4000, 50_000, ev(1, false, 160));
    for (let i = 0; i < 3; i++) r.feed(0x0e05384e, 4007, 50_000, ev(1, true, 1120));
    expect(digits).toEqual([
      ['*', 1000],
      ['1', 1400],
    ]);
  });

  it('reports the same pcap replayed after a pause twice', () => {
    const { r, digits, advance } = receiver();
    r.feed(7, 1, 800, ev(4, false, 160));
    r.feed(7, 2, 800, ev(4, true, 320));
    advance(500);
    r.feed(7, 1, 800, ev(4, false, 160));
    r.feed(7, 2, 800, ev(4, true, 320));
    expect(digits.map((d) => d[0])).toEqual(['4', '4']);
  });

  it('detects an event whose start was lost (only end packets)', () => {
    const { r, digits } = receiver();
    for (let i = 0; i < 3; i++) r.feed(1, 30 + i, 16000, ev(11, true, 800));
    expect(digits.map((d) => d[0])).toEqual(['#']);
  });

  it('separates two quick digits and ignores non-DTMF events', () => {
    const { r, digits, advance } = receiver();
    r.feed(1, 1, 0, ev(1, false, 160));
    r.feed(1, 2, 0, ev(1, true, 800));
    advance(100);
    r.feed(1, 3, 1600, ev(2, false, 160));
    r.feed(1, 4, 1600, ev(16, false, 160)); // flash: ignored
    r.feed(1, 5, 1600, Buffer.from([2, 0])); // short: ignored
    expect(digits.map((d) => d[0])).toEqual(['1', '2']);
    expect(r.ignored).toBe(2);
  });
});

// RTP packets of sipp 3.6.1's shipped pcaps (/usr/share/sip-tester), UDP payloads verbatim.
const SIPP_STAR = [
  '80e520cd00014f000e05384e0a0a0000',
  '806520ce00014f000e05384e0a0a0140',
  '806520cf00014f000e05384e0a0a0280',
  '806520d000014f000e05384e0a0a03c0',
  '806520d100014f000e05384e0a0a0500',
  '806520d200014f000e05384e0a0a0640',
  '806520d300014f000e05384e0a0a0780',
  '806520d400014f000e05384e0a8a08c0',
  '806520d400014f000e05384e0a8a08c0',
  '806520d400014f000e05384e0a8a08c0',
];
const SIPP_ONE = [
  '80e51f30000033e00e05384e010a0000',
  '80651f31000033e00e05384e010a0140',
  '80651f32000033e00e05384e010a0280',
  '80651f33000033e00e05384e010a03c0',
  '80651f34000033e00e05384e010a0500',
  '80651f35000033e00e05384e010a0640',
  '80651f36000033e00e05384e010a0780',
  '80651f37000033e00e05384e018a08c0',
  '80651f37000033e00e05384e018a08c0',
  '80651f37000033e00e05384e018a08c0',
];

describe('DtmfReceiver on sipp pcaps', () => {
  it('reports * then 1 although the sequence numbers go backwards', () => {
    const { r, digits, advance } = receiver();
    const h = createRtpHeader();
    for (const pcap of [SIPP_STAR, SIPP_ONE]) {
      for (const hexPkt of pcap) {
        const pkt = Buffer.from(hexPkt, 'hex');
        expect(readRtpHeader(pkt, h)).toBe(true);
        expect(h.payloadType).toBe(101);
        r.feed(h.ssrc, h.sequence, h.timestamp, pkt, h.payloadOffset, h.payloadLength);
        advance(20);
      }
      advance(300);
    }
    expect(digits).toEqual([
      ['*', 1000],
      ['1', 1000 + 200 + 300],
    ]);
  });
});

describe('DtmfSender', () => {
  it('plans start with marker, 20 ms updates, three end packets', () => {
    const plan = planDtmf('5');
    expect(plan).toEqual([
      { frame: 0, marker: true, event: 5, end: false, volume: 10, duration: 160 },
      { frame: 1, marker: false, event: 5, end: false, volume: 10, duration: 320 },
      { frame: 2, marker: false, event: 5, end: false, volume: 10, duration: 480 },
      { frame: 3, marker: false, event: 5, end: false, volume: 10, duration: 640 },
      { frame: 4, marker: false, event: 5, end: true, volume: 10, duration: 800 },
      { frame: 5, marker: false, event: 5, end: true, volume: 10, duration: 800 },
      { frame: 6, marker: false, event: 5, end: true, volume: 10, duration: 800 },
    ]);
  });

  it('leaves a gap between digits', () => {
    const plan = planDtmf('1#', { toneMs: 60, gapMs: 60 });
    const starts = plan.filter((p) => p.marker).map((p) => p.frame);
    expect(starts).toEqual([0, 3 + 2 + 3]);
    expect(plan.filter((p) => p.event === 11 && p.end)).toHaveLength(3);
  });

  it('is idle when empty and rejects non-digits', () => {
    const s = new DtmfSender();
    expect(s.next(Buffer.alloc(4), 0)).toBe(DtmfFrame.Idle);
    expect(() => s.enqueue('1x')).toThrow(RangeError);
    s.enqueue('9');
    expect(s.active).toBe(true);
  });

  it('what it sends, the receiver reports once per digit', () => {
    const { r, digits, advance } = receiver();
    const s = new DtmfSender();
    s.enqueue('12*#');
    const buf = Buffer.alloc(4);
    let ts = 0;
    let eventTs = 0;
    let seq = 0;
    while (s.active) {
      if (s.next(buf, 0) === DtmfFrame.Event) {
        if (s.marker) eventTs = ts;
        r.feed(42, seq++, eventTs, buf);
      }
      ts += 160;
      advance(20);
    }
    expect(digits.map((d) => d[0]).join('')).toBe('12*#');
  });
});
