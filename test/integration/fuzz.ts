/**
 * A deterministic SIP mutator for the fuzz test: valid INVITE (with and
 * without SDP), REGISTER, OPTIONS, BYE, ACK and CANCEL messages, each with a
 * fresh Call-ID, branch and tag, then (most of the time) mangled the ways
 * fuzzers and broken phones mangle them — bit flips, truncation, duplicated
 * and deleted headers, huge values, bare LF line ends, wrong Content-Length,
 * garbage SDP. The same seed always gives the same datagrams.
 */

/** mulberry32: small, fast, good enough for test input. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzTarget {
  /** Where the server listens. */
  host: string;
  port: number;
  /** The sender's own address (goes into Via and Contact, so that answers come back). */
  localHost: string;
  localPort: number;
  /** Numbers to call: answered ones, unknown ones. */
  numbers: string[];
}

const SDP_OK = (host: string, port: number): string =>
  `v=0\r\no=fuzz 1 1 IN IP4 ${host}\r\ns=-\r\nc=IN IP4 ${host}\r\nt=0 0\r\n` +
  `m=audio ${port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n` +
  `a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n`;

const GARBAGE_SDP = [
  'v=0\r\nm=audio 65536 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n',
  'v=0\r\nm=audio -5 RTP/AVP 0\r\n',
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 example.invalid\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n',
  'v=0\r\nc=IN IP6 ::::::::1\r\nm=audio 4000 RTP/AVP 999999999999 0\r\n',
  'v=0\r\nm=audio 4000 RTP/AVP\r\n',
  'm=' + 'audio '.repeat(2000) + '\r\n',
  'v=0\r\na=rtpmap:0 ' + 'X'.repeat(5000) + '\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n',
  '\u0000\u0001\u0002\u00ff'.repeat(100),
];

const HUGE_VALUES = [
  '9'.repeat(40),
  '-1',
  '4294967296',
  'A'.repeat(8000),
  '%00%ff%' + 'z'.repeat(300),
  '<sip:' + 'a'.repeat(3000) + '@x>',
  '"\\',
  ';;;;;;;;;;=;=;=',
];

export class SipFuzzer {
  private readonly rand: () => number;
  private seq = 0;

  constructor(
    seed: number,
    private readonly t: FuzzTarget,
  ) {
    this.rand = rng(seed);
  }

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  /** One valid message, fresh identifiers. */
  valid(): { method: string; text: string } {
    const n = ++this.seq;
    const { host, port, localHost, localPort } = this.t;
    const method = this.pick([
      'INVITE',
      'INVITE',
      'INVITE',
      'INVITE',
      'REGISTER',
      'OPTIONS',
      'BYE',
      'ACK',
      'CANCEL',
    ]);
    const user =
      method === 'REGISTER' ? this.pick(['1001', '1002', 'nobody', '']) : this.pick(this.t.numbers);
    const ruri = method === 'REGISTER' ? `sip:${host}:${port}` : `sip:${user}@${host}:${port}`;
    const callId = `fuzz-${n}-${this.int(1e9)}@${localHost}`;
    const cseq = method === 'REGISTER' || method === 'OPTIONS' ? 1 + this.int(5) : 1;
    const headers = [
      `Via: SIP/2.0/UDP ${localHost}:${localPort};branch=z9hG4bK-f${n}-${this.int(1e9)};rport`,
      'Max-Forwards: 70',
      `From: "Fuzz ${n}" <sip:fuzz${n % 7}@${localHost}>;tag=ft${n}`,
      method === 'BYE' || method === 'ACK'
        ? `To: <sip:${user}@${host}>;tag=tt${this.int(1e6)}`
        : `To: <sip:${user || 'anonymous'}@${host}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:fuzz@${localHost}:${localPort}>`,
      'User-Agent: agentline-fuzz',
    ];
    let body = '';
    if (method === 'INVITE' && this.rand() < 0.8) {
      body = this.rand() < 0.7 ? SDP_OK(localHost, 40000 + 2 * this.int(1000)) : this.pick(GARBAGE_SDP);
      headers.push('Content-Type: application/sdp');
    }
    if (method === 'REGISTER') {
      headers.push('Expires: 3600');
      if (this.rand() < 0.5)
        headers.push(
          `Authorization: Digest username="${user}", realm="agentline", nonce="${'n'.repeat(43)}", uri="sip:${host}", response="${'0'.repeat(32)}", algorithm=MD5`,
        );
    }
    headers.push(`Content-Length: ${Buffer.byteLength(body)}`);
    return { method, text: `${method} ${ruri} SIP/2.0\r\n${headers.join('\r\n')}\r\n\r\n${body}` };
  }

  /** One datagram: valid 15% of the time, else one to three mutations of a valid message. */
  next(): { method: string; data: Buffer } {
    const { method, text } = this.valid();
    if (this.rand() < 0.15) return { method, data: Buffer.from(text, 'latin1') };
    let out = text;
    const rounds = 1 + this.int(3);
    for (let i = 0; i < rounds; i++) out = this.mutateText(out);
    let data: Buffer = Buffer.from(out, 'latin1');
    if (this.rand() < 0.3) data = this.flipBits(data);
    return { method, data };
  }

  private mutateText(s: string): string {
    const lines = s.split('\r\n');
    const blank = lines.indexOf('');
    const headerIdx = (): number => 1 + this.int(Math.max(1, (blank > 0 ? blank : lines.length) - 1));
    switch (this.int(11)) {
      case 0: // truncation
        return s.slice(0, this.int(s.length));
      case 1: {
        // header duplication, sometimes many times
        const i = headerIdx();
        const copies = this.rand() < 0.2 ? 200 : 1 + this.int(3);
        lines.splice(i, 0, ...Array<string>(copies).fill(lines[i] ?? ''));
        return lines.join('\r\n');
      }
      case 2: {
        // header deletion
        lines.splice(headerIdx(), 1);
        return lines.join('\r\n');
      }
      case 3: {
        // a huge or hostile value
        const i = headerIdx();
        const line = lines[i] ?? '';
        const colon = line.indexOf(':');
        if (colon > 0) lines[i] = `${line.slice(0, colon)}: ${this.pick(HUGE_VALUES)}`;
        return lines.join('\r\n');
      }
      case 4: // wrong Content-Length
        return s.replace(
          /Content-Length: \d+/,
          `Content-Length: ${this.pick(['0', '5', '99999', '-3', 'x'])}`,
        );
      case 5: // bare LF
        return s.replace(/\r\n/g, '\n');
      case 6: {
        // garbage SDP in place of the body
        const sdp = this.pick(GARBAGE_SDP);
        const head = blank >= 0 ? lines.slice(0, blank).join('\r\n') : s;
        return `${head.replace(/Content-Length: \d+/, `Content-Length: ${Buffer.byteLength(sdp, 'latin1')}`)}\r\n\r\n${sdp}`;
      }
      case 7: {
        // the request line mangled
        lines[0] = this.pick([
          `${this.pick(['INVITE', 'invite', 'INV ITE', 'FOO', ''])} ${this.pick(['sip:', 'sip:@', 'tel:+1', '*', '<>'])} SIP/${this.pick(['2.0', '1.0', '3', ''])}`,
          (lines[0] ?? '').replace('SIP/2.0', 'SIP/2.0 extra'),
          (lines[0] ?? '') + ' '.repeat(this.int(5)),
        ]);
        return lines.join('\r\n');
      }
      case 8: {
        // random bytes inserted
        const at = this.int(s.length);
        const junk = Array.from({ length: 1 + this.int(16) }, () => String.fromCharCode(this.int(256))).join(
          '',
        );
        return s.slice(0, at) + junk + s.slice(at);
      }
      case 9: {
        // a header folded across lines (obsolete line folding) or split
        const i = headerIdx();
        lines[i] = (lines[i] ?? '').replace(/: /, ':\r\n   ');
        return lines.join('\r\n');
      }
      default: {
        // a compact or case-changed header name
        const i = headerIdx();
        lines[i] = (lines[i] ?? '')
          .replace(/^Via:/, 'v:')
          .replace(/^Call-ID:/, 'i:')
          .replace(/^From:/, 'FROM:')
          .replace(/^Content-Length:/, 'l:');
        return lines.join('\r\n');
      }
    }
  }

  private flipBits(b: Buffer): Buffer {
    const out = Buffer.from(b);
    const flips = 1 + this.int(8);
    for (let i = 0; i < flips && out.length > 0; i++) {
      const at = this.int(out.length);
      out[at] = (out[at] ?? 0) ^ (1 << this.int(8));
    }
    return out;
  }
}
