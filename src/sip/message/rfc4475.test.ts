/**
 * Every message of RFC 4475 (test/fixtures/rfc4475/*.dat, raw bytes) through
 * parseMessage → checkRequest / buildBadRequest, with the outcome the RFC's
 * section asks for. Where the RFC lets an element either reject or be liberal,
 * the choice is written beside the entry.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildBadRequest, buildResponse } from './build.ts';
import { getHeader, getHeaderValues, headerKey, parseNameAddr, parseVia } from './headers.ts';
import { parseMessage } from './parse.ts';
import { serializeMessage } from './serialize.ts';
import type { SipMessage, SipRequest } from './types.ts';
import { checkRequest } from './validate.ts';

const DIR = new URL('../../../test/fixtures/rfc4475/', import.meta.url);
const load = (name: string): Buffer => readFileSync(new URL(`${name}.dat`, DIR));

const CAPS = {
  methods: [
    'INVITE',
    'ACK',
    'BYE',
    'CANCEL',
    'OPTIONS',
    'REGISTER',
    'INFO',
    'NOTIFY',
    'REFER',
    'UPDATE',
    'PRACK',
  ],
  extensions: ['replaces', 'timer'],
  contentTypes: ['application/sdp', 'application/dtmf-relay', 'message/sipfrag'],
};

/**
 * - 'accept': parses and passes checkRequest (the UA then answers as for any
 *   request — 'ua' notes what it answers when that is not a success);
 * - { check }: parses, checkRequest answers this status;
 * - 'parse400': parseMessage fails with a salvageable request, buildBadRequest gives a 400;
 * - 'response': a response that parses;
 * - 'drop': nothing is answered.
 */
type Outcome = 'accept' | { check: number } | 'parse400' | 'response' | 'drop';

type Row = [file: string, section: string, outcome: Outcome, note?: string];

const TABLE = (
  [
    ['wsinv', '3.1.1.1', 'accept'],
    ['intmeth', '3.1.1.2', 'accept', 'unknown method: UA answers 501'],
    ['esc01', '3.1.1.3', 'accept'],
    ['escnull', '3.1.1.4', 'accept'],
    ['esc02', '3.1.1.5', 'accept', 'RE%47IST%45R is not REGISTER: UA answers 501'],
    ['lwsdisp', '3.1.1.6', 'accept'],
    ['longreq', '3.1.1.7', 'accept'],
    ['dblreq', '3.1.1.8', 'accept', 'only the REGISTER; trailing INVITE ignored'],
    ['semiuri', '3.1.1.9', 'accept'],
    ['transports', '3.1.1.10', 'accept'],
    ['mpart01', '3.1.1.11', 'accept', 'MESSAGE not implemented: UA answers 405/501'],
    ['unreason', '3.1.1.12', 'response'],
    ['noreason', '3.1.1.13', 'response'],
    ['badinv01', '3.1.2.1', { check: 400 }],
    ['clerr', '3.1.2.2', 'parse400'],
    ['ncl', '3.1.2.3', 'parse400'],
    ['scalar02', '3.1.2.4', { check: 400 }, 'CSeq > 2^32-1'],
    ['scalarlg', '3.1.2.5', 'drop'],
    ['quotbal', '3.1.2.6', { check: 400 }],
    ['ltgtruri', '3.1.2.7', 'parse400'],
    ['lwsruri', '3.1.2.8', 'parse400'],
    ['lwsstart', '3.1.2.9', 'accept', 'liberal: extra SP ignored'],
    ['trws', '3.1.2.10', 'accept', 'liberal: trailing SP ignored'],
    ['escruri', '3.1.2.11', { check: 400 }, 'strict: headers in Request-URI'],
    ['baddate', '3.1.2.12', 'accept', 'liberal: Date not used'],
    ['regbadct', '3.1.2.13', 'accept', 'liberal: unambiguous addr-spec with ?headers'],
    ['badaspec', '3.1.2.14', 'accept', 'liberal: spaces inside <> ignored'],
    ['baddn', '3.1.2.15', { check: 400 }],
    ['badvers', '3.1.2.16', { check: 505 }],
    ['mismatch01', '3.1.2.17', { check: 400 }],
    ['mismatch02', '3.1.2.18', 'accept', 'unknown method: UA answers 501 (RFC prefers 501 to 400)'],
    ['bigcode', '3.1.2.19', 'drop'],
    ['badbranch', '3.2.1', 'accept'],
    ['insuf', '3.3.1', { check: 400 }],
    ['unkscm', '3.3.2', { check: 416 }],
    ['novelsc', '3.3.3', { check: 416 }],
    ['unksm2', '3.3.4', 'accept', 'a registrar answers 400 (To not sip/sips)'],
    ['bext01', '3.3.5', { check: 420 }],
    ['invut', '3.3.6', { check: 415 }],
    ['regaut01', '3.3.7', 'accept', 'registrar answers 401'],
    ['multi01', '3.3.8', { check: 400 }],
    ['mcl01', '3.3.9', 'parse400'],
    ['bcast', '3.3.10', 'response', 'parses; the transaction layer discards it'],
    ['zeromf', '3.3.11', 'accept', 'a UAS ignores Max-Forwards 0'],
    ['cparam01', '3.3.12', 'accept'],
    ['cparam02', '3.3.13', 'accept'],
    ['regescrt', '3.3.14', 'accept'],
    ['sdp01', '3.3.15', { check: 406 }],
    ['inv2543', '3.4.1', 'accept'],
    ['test', '(not RFC)', 'drop'],
  ] satisfies Row[]
).map(([file, section, outcome, note]) => ({ file, section, outcome, note }));

function outcomeOf(buf: Buffer): Outcome {
  const r = parseMessage(buf);
  if (r.ok) {
    if (r.message.kind === 'response') return 'response';
    const c = checkRequest(r.message, CAPS);
    return c ? { check: c.status } : 'accept';
  }
  if (r.request && buildBadRequest(r.request, r.error)?.status === 400) return 'parse400';
  return 'drop';
}

function request(name: string): SipRequest {
  const r = parseMessage(load(name));
  if (!r.ok || r.message.kind !== 'request') throw new Error(`${name} did not parse`);
  return r.message;
}

/** A message without its Content-Length (serialize adds one where there was none). */
function comparable(m: SipMessage): unknown {
  const headers = m.headers.filter((h) => headerKey(h.name) !== 'content-length');
  return { ...m, headers, body: m.body.toString('hex') };
}

describe('RFC 4475 torture messages', () => {
  it('the table covers every fixture', () => {
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith('.dat'))
      .map((f) => f.slice(0, -4))
      .sort();
    expect(TABLE.map((t) => t.file).sort()).toEqual(files);
  });

  for (const { file, section, outcome, note } of TABLE) {
    it(`${file} (§${section}) → ${JSON.stringify(outcome)}${note ? ` — ${note}` : ''}`, () => {
      expect(outcomeOf(load(file))).toEqual(outcome);
    });
  }

  it('every message that parses survives serialize → parse unchanged', () => {
    for (const { file } of TABLE) {
      const r = parseMessage(load(file));
      if (!r.ok) continue;
      const again = parseMessage(serializeMessage(r.message));
      expect(again.ok, file).toBe(true);
      if (again.ok) expect(comparable(again.message), file).toEqual(comparable(r.message));
    }
  });

  it('wsinv: folding, LWS everywhere, compact and oddly-cased names', () => {
    const req = request('wsinv');
    expect(req.uri.params.has('unknownparam')).toBe(true);
    expect(getHeader(req, 'max-forwards')).toBe('0068');
    expect(getHeader(req, 'cseq')).toBe('0009 INVITE');
    expect(getHeader(req, 'Subject')).toBe('');
    expect(getHeader(req, 'NewFangledHeader')).toBe('newfangled value continued newfangled value');
    const vias = getHeaderValues(req, 'via').map(parseVia);
    expect(vias.map((v) => v?.host)).toEqual(['192.0.2.2', 'spindle.example.com', '192.168.255.111']);
    expect(vias.map((v) => v?.params.get('branch'))).toEqual(['390skdjuw', 'z9hG4bK9ikj8', 'z9hG4bK30239']);
    const from = parseNameAddr(getHeader(req, 'from') ?? '');
    expect(from?.displayName).toBe('J Rosenberg \\"');
    expect(from?.params.get('tag')).toBe('98asjd8');
    const to = parseNameAddr(getHeader(req, 'to') ?? '');
    expect(to?.params.get('tag')).toBe('1918181833n');
    const contact = parseNameAddr(getHeader(req, 'contact') ?? '');
    expect(contact?.displayName).toBe('Quoted string ""');
    expect(contact?.params.get('q')).toBe('0.33');
    expect(contact?.params.get('secondparam')).toBeNull();
    expect(req.body.length).toBe(150);
  });

  it('intmeth: unusual user, password and display names', () => {
    const req = request('intmeth');
    expect(req.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(req.uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(req.uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(req.uri.host).toBe('example.com');
    expect(parseNameAddr(getHeader(req, 'To') ?? '')?.displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    const from = parseNameAddr(getHeader(req, 'From') ?? '');
    expect(from?.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(from?.params.get('tag')).toBe("_token~1'+`*%!-.");
    expect(getHeader(req, "extensionHeader-!.%*+_`'~")).toBe('\u{FEFF}大停電');
  });

  it('esc01 / escnull / semiuri: user parts are unescaped', () => {
    expect(request('esc01').uri.user).toBe('sips:user@example.com');
    expect(parseNameAddr(getHeader(request('esc01'), 'To') ?? '')?.uri.user).toBe('user');
    const contact = parseNameAddr(getHeader(request('esc01'), 'Contact') ?? '');
    expect(contact?.uri.user).toBe('caller');
    expect(contact?.uri.params.has('lr')).toBe(true);
    expect(contact?.uri.params.get('name')).toBe('value%41');
    expect(getHeaderValues(request('escnull'), 'Contact').map((c) => parseNameAddr(c)?.uri.user)).toEqual([
      '\0',
      '\0\0',
    ]);
    expect(request('semiuri').uri.user).toBe('user;par=u@example.net');
    expect(request('semiuri').uri.params.size).toBe(0);
    expect(getHeaderValues(request('semiuri'), 'Accept')).toHaveLength(6);
  });

  it('esc02: C%6Fntact is not Contact', () => {
    expect(getHeaderValues(request('esc02'), 'Contact')).toHaveLength(2);
  });

  it('dblreq: only the first request of the datagram is used', () => {
    const buf = load('dblreq');
    const r = parseMessage(buf);
    expect(r.ok && r.message.kind === 'request' && r.message.method).toBe('REGISTER');
    expect(r.ok && r.length).toBe(buf.indexOf('\r\n\r\n') + 4);
  });

  it('transports, longreq: all Via values, every spelling of the name', () => {
    expect(getHeaderValues(request('transports'), 'Via').map((v) => parseVia(v)?.transport)).toEqual([
      'UDP',
      'SCTP',
      'TLS',
      'UNKNOWN',
      'TCP',
    ]);
    expect(getHeaderValues(request('longreq'), 'Via')).toHaveLength(34);
  });

  it('unreason / noreason: reason phrases kept as sent', () => {
    const r = parseMessage(load('unreason'));
    expect(r.ok && r.message.kind === 'response' && r.message.reason.startsWith('= 2**3 * 5**2 но')).toBe(
      true,
    );
    const n = parseMessage(load('noreason'));
    expect(n.ok && n.message.kind === 'response' && n.message.reason).toBe('');
  });

  it('bext01 and invut say what is unsupported', () => {
    expect(checkRequest(request('bext01'), CAPS)?.headers).toEqual([
      { name: 'Unsupported', value: 'nothingSupportsThis, nothingSupportsThisEither' },
    ]);
    expect(checkRequest(request('invut'), CAPS)?.headers).toEqual([
      { name: 'Accept', value: 'application/sdp, application/dtmf-relay, message/sipfrag' },
    ]);
  });

  it('mpart01: once MESSAGE is implemented, multipart/mixed gets 415', () => {
    expect(checkRequest(request('mpart01'), { ...CAPS, methods: [...CAPS.methods, 'MESSAGE'] })?.status).toBe(
      415,
    );
  });

  it('unknown-scheme URIs parse with host "" and the rest kept', () => {
    expect(request('unkscm').uri).toMatchObject({
      scheme: 'nobodykNowsThisScheme'.toLowerCase(),
      host: '',
      opaque: 'totallyopaquecontent',
    });
    expect(parseNameAddr(getHeader(request('unksm2'), 'From') ?? '')?.uri.scheme).toBe('http');
  });

  it('insuf: a 400 can still be built from what is there', () => {
    const req = request('insuf');
    const res = buildResponse(req, 400, { reason: 'Missing From' });
    expect(getHeader(res, 'Via')).toBe('SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf');
    expect(getHeader(res, 'CSeq')).toBe('193942 INVITE');
  });

  it('parse400 answers copy Via, From, To (tagged), Call-ID and CSeq', () => {
    const r = parseMessage(load('clerr'));
    expect(r.ok).toBe(false);
    if (r.ok || !r.request) return;
    const res = buildBadRequest(r.request, r.error);
    expect(res?.reason).toBe('Content-Length larger than message');
    expect(getHeader(res ?? { headers: [] }, 'Call-ID')).toBe('clerr.0ha0isndaksdjweiafasdk3');
    expect(getHeader(res ?? { headers: [] }, 'To')).toMatch(/^sip:j\.user@example\.com;tag=[0-9a-f]+$/);
  });
});
