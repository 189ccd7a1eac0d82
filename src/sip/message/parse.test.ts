import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildBadRequest } from './build.ts';
import { getHeader, getHeaderValues, parseCSeq, parseNameAddr, parseVia } from './headers.ts';
import { frameStream, MAX_MESSAGE_SIZE, parseMessage } from './parse.ts';
import { serializeMessage } from './serialize.ts';
import { checkRequest } from './validate.ts';

const crlf = (lines: string[]): string => lines.join('\r\n');

/** Captured from a softphone registering and calling (RFC 3261 §24 shapes). */
const INVITE = crlf([
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9;rport',
  'Max-Forwards: 70',
  'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
  'To: Bob <sip:bob@biloxi.example.com>',
  'Call-ID: 3848276298220188511@atlanta.example.com',
  'CSeq: 1 INVITE',
  'Contact: <sip:alice@192.0.2.10:5060;transport=udp>',
  'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY',
  'Supported: replaces, timer',
  'User-Agent: Softphone/1.2',
  'Content-Type: application/sdp',
  'Content-Length: 153',
  '',
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 101',
  'a=rtpmap:101 telephone-event/8000',
  '',
]);

const OK = crlf([
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9;rport=5060;received=192.0.2.10',
  'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
  'To: Bob <sip:bob@biloxi.example.com>;tag=8321234356',
  'Call-ID: 3848276298220188511@atlanta.example.com',
  'CSeq: 1 INVITE',
  'Contact: <sip:bob@192.0.2.4>',
  'Content-Length: 0',
  '',
  '',
]);

const REGISTER_COMPACT = crlf([
  'REGISTER sip:example.com SIP/2.0',
  'v: SIP/2.0/TCP 10.0.0.7:50611;branch=z9hG4bK-1,SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-0',
  'f: <sip:100@example.com>;tag=a1',
  't: <sip:100@example.com>',
  'i: reg-1@10.0.0.7',
  'CSeq: 2 REGISTER',
  'm: <sip:100@10.0.0.7:50611;transport=tcp>;expires=300, <sip:100@10.0.0.7:5060>;q=0.5',
  'k: path, outbound',
  'l: 0',
  '',
  '',
]);

function sample(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

describe('parseMessage', () => {
  it('round-trips captured messages byte for byte', () => {
    for (const text of [INVITE, OK, REGISTER_COMPACT]) {
      const r = parseMessage(sample(text));
      expect(r.ok).toBe(true);
      if (r.ok) expect(serializeMessage(r.message).toString('utf8')).toBe(text);
    }
  });

  it('reads requests', () => {
    const r = parseMessage(sample(INVITE));
    if (!r.ok || r.message.kind !== 'request') throw new Error('no request');
    expect(r.message.method).toBe('INVITE');
    expect(r.message.uri.user).toBe('bob');
    expect(r.message.body.toString()).toContain('telephone-event');
    expect(r.message.body.length).toBe(153);
    expect(getHeaderValues(r.message, 'Allow')).toHaveLength(8);
    expect(r.length).toBe(Buffer.byteLength(INVITE));
  });

  it('reads compact and comma-joined headers', () => {
    const r = parseMessage(sample(REGISTER_COMPACT));
    if (!r.ok) throw new Error(r.error);
    expect(getHeaderValues(r.message, 'Via').map((v) => parseVia(v)?.transport)).toEqual(['TCP', 'UDP']);
    expect(getHeaderValues(r.message, 'Contact').map((c) => parseNameAddr(c)?.uri.port)).toEqual([
      50611, 5060,
    ]);
    expect(getHeaderValues(r.message, 'Supported')).toEqual(['path', 'outbound']);
    expect(getHeader(r.message, 'Call-ID')).toBe('reg-1@10.0.0.7');
    expect(parseCSeq(getHeader(r.message, 'cseq') ?? '')?.method).toBe('REGISTER');
  });

  it('reads responses', () => {
    const r = parseMessage(sample(OK));
    if (!r.ok || r.message.kind !== 'response') throw new Error('no response');
    expect(r.message.status).toBe(200);
    expect(r.message.reason).toBe('OK');
  });

  it('unfolds continuation lines', () => {
    const r = parseMessage(
      sample(INVITE.replace('Supported: replaces, timer', 'Supported: replaces,\r\n\t timer')),
    );
    expect(r.ok && getHeaderValues(r.message, 'Supported')).toEqual(['replaces', 'timer']);
  });

  it('skips leading CRLF and takes the rest of the datagram without Content-Length', () => {
    const r = parseMessage(sample('\r\n\r\n' + INVITE.replace('Content-Length: 153\r\n', '')));
    expect(r.ok && r.message.body.length).toBe(153);
  });

  it('refuses what it must', () => {
    expect(parseMessage(Buffer.alloc(0)).ok).toBe(false);
    expect(parseMessage(sample('\r\n\r\n')).ok).toBe(false);
    expect(parseMessage(Buffer.alloc(MAX_MESSAGE_SIZE + 1, 0x41))).toEqual({
      ok: false,
      error: 'Message too large',
    });
    const tooLong = parseMessage(sample(INVITE.replace('Content-Length: 153', 'Content-Length: 154')));
    expect(tooLong.ok === false && tooLong.request?.method).toBe('INVITE');
    const badHeader = parseMessage(sample(INVITE.replace('Max-Forwards: 70', 'Max-Forwards 70')));
    expect(badHeader.ok === false && badHeader.request !== undefined).toBe(true);
    const badResponse = parseMessage(sample(OK.replace('CSeq: 1 INVITE', 'CSeq: x')));
    expect(badResponse.ok === false && badResponse.request).toBe(undefined);
    expect(parseMessage(sample(OK.replace('200 OK', '2000 OK'))).ok).toBe(false);
    expect(parseMessage(sample('HELLO\r\n\r\n'))).toMatchObject({ ok: false });
  });
});

describe('frameStream', () => {
  const one = Buffer.from(INVITE);
  it('finds the end of a message', () => {
    expect(frameStream(Buffer.concat([one, one]))).toEqual({ length: one.length });
  });
  it('waits for more', () => {
    expect(frameStream(one.subarray(0, 100))).toBe('incomplete');
    expect(frameStream(one.subarray(0, one.length - 1))).toBe('incomplete');
    expect(frameStream(Buffer.alloc(0))).toBe('incomplete');
  });
  it('signals keep-alive CRLFs to discard', () => {
    expect(frameStream(Buffer.from('\r\n\r\nINVITE'))).toEqual({ length: 4, keepAlive: true });
    expect(frameStream(Buffer.from('\r'))).toBe('incomplete');
  });
  it('fails without or with a broken Content-Length', () => {
    expect(frameStream(Buffer.from(INVITE.replace('Content-Length: 153\r\n', '')))).toHaveProperty('error');
    expect(
      frameStream(Buffer.from(INVITE.replace('Content-Length: 153', 'Content-Length: -1'))),
    ).toHaveProperty('error');
    expect(
      frameStream(Buffer.from(INVITE.replace('Content-Length: 153', 'Content-Length: 1\r\nl: 2'))),
    ).toHaveProperty('error');
    expect(frameStream(Buffer.alloc(MAX_MESSAGE_SIZE + 10, 0x41))).toHaveProperty('error');
  });
  it('reads compact l and folded headers', () => {
    const text = REGISTER_COMPACT.replace('l: 0', 'l:\r\n 0');
    expect(frameStream(Buffer.from(text))).toEqual({ length: Buffer.byteLength(text) });
  });
});

describe('robustness', () => {
  const seeds = [
    ...[INVITE, OK, REGISTER_COMPACT].map(sample),
    ...readdirSync(new URL('../../../test/fixtures/rfc4475/', import.meta.url))
      .filter((f) => f.endsWith('.dat'))
      .map((f) => readFileSync(new URL(`../../../test/fixtures/rfc4475/${f}`, import.meta.url))),
  ];
  const special = Buffer.from('\r\n:;,"<>%@ \t\\[]=?/0\x00\xff');
  const caps = {
    methods: ['INVITE', 'ACK', 'BYE', 'OPTIONS', 'REGISTER'],
    extensions: [],
    contentTypes: ['application/sdp'],
  };

  // mulberry32: a deterministic generator so failures reproduce
  let state = 0x5eed;
  const rand = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (n: number): number => Math.floor(rand() * n);

  function mutate(src: Buffer): Buffer {
    const b = Buffer.from(src);
    const edits = 1 + pick(8);
    let out = b;
    for (let e = 0; e < edits; e++) {
      const at = pick(out.length + 1);
      switch (pick(5)) {
        case 0:
          if (at < out.length) out[at] = pick(256);
          break;
        case 1:
          out = Buffer.concat([
            out.subarray(0, at),
            Buffer.from([special[pick(special.length)] ?? 0]),
            out.subarray(at),
          ]);
          break;
        case 2:
          out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + pick(20)))]);
          break;
        case 3:
          out = out.subarray(0, at);
          break;
        default: {
          const from = pick(out.length);
          out = Buffer.concat([out.subarray(0, at), out.subarray(from, from + pick(40)), out.subarray(at)]);
        }
      }
    }
    return out;
  }

  it('never throws on mutated messages', () => {
    for (let i = 0; i < 5000; i++) {
      const input = mutate(seeds[pick(seeds.length)] ?? Buffer.alloc(0));
      const r = parseMessage(input);
      if (!r.ok) expect(r.error).not.toMatch(/^Parser failure/);
      frameStream(input);
      if (r.ok) {
        serializeMessage(r.message);
        if (r.message.kind === 'request') checkRequest(r.message, caps);
        for (const h of r.message.headers) {
          parseNameAddr(h.value);
          parseVia(h.value);
          parseCSeq(h.value);
        }
      } else if (r.request) {
        buildBadRequest(r.request, r.error);
      }
    }
  });

  it('has no pathological slowness on long hostile lines', () => {
    const evil =
      'INVITE sip:a@b SIP/2.0\r\nVia: ' +
      'SIP/2.0/UDP h;'.repeat(3000) +
      '\r\nTo: ' +
      '"'.repeat(20000) +
      '\r\nCSeq: ' +
      '1'.repeat(20000) +
      ' INVITE\r\n\r\n';
    const t0 = performance.now();
    const r = parseMessage(Buffer.from(evil));
    if (r.ok && r.message.kind === 'request') checkRequest(r.message, caps);
    expect(performance.now() - t0).toBeLessThan(200);
  });
});
