import { describe, expect, it } from 'vitest';
import {
  addHeader,
  canonicalName,
  formatNameAddr,
  formatVia,
  getHeader,
  getHeaderValues,
  parseCSeq,
  parseNameAddr,
  parseParams,
  parseVia,
  removeHeader,
  setHeader,
  splitList,
  tagOf,
  unquote,
} from './headers.ts';
import type { HeaderField } from './types.ts';
import { itRejects, withHeaders } from './testing.ts';

const msg = (headers: [string, string][]): { headers: HeaderField[] } => withHeaders(...headers);

describe('header names', () => {
  it('knows the compact forms', () => {
    const pairs: [string, string][] = [
      ['i', 'Call-ID'],
      ['m', 'Contact'],
      ['e', 'Content-Encoding'],
      ['l', 'Content-Length'],
      ['c', 'Content-Type'],
      ['f', 'From'],
      ['s', 'Subject'],
      ['k', 'Supported'],
      ['t', 'To'],
      ['v', 'Via'],
      ['o', 'Event'],
      ['r', 'Refer-To'],
      ['u', 'Allow-Events'],
      ['x', 'Session-Expires'],
      ['b', 'Referred-By'],
      ['CSEQ', 'CSeq'],
      ['www-authenticate', 'WWW-Authenticate'],
      ['x-custom-thing', 'X-Custom-Thing'],
    ];
    for (const [short, full] of pairs) expect(canonicalName(short)).toBe(full);
  });

  it('looks up case-insensitively and through compact forms', () => {
    const m = msg([
      ['v', 'SIP/2.0/UDP a;branch=z9hG4bK1'],
      ['VIA', 'SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c'],
      ['i', 'abc@host'],
      ['m', '<sip:a@b>;expires=60, "x, y" <sip:c@d;p=1,2>'],
    ]);
    expect(getHeader(m, 'call-id')).toBe('abc@host');
    expect(getHeader(m, 'Via')).toBe('SIP/2.0/UDP a;branch=z9hG4bK1');
    expect(getHeaderValues(m, 'via')).toEqual([
      'SIP/2.0/UDP a;branch=z9hG4bK1',
      'SIP/2.0/UDP b;branch=z9hG4bK2',
      'SIP/2.0/UDP c',
    ]);
    expect(getHeaderValues(m, 'Contact')).toEqual(['<sip:a@b>;expires=60', '"x, y" <sip:c@d;p=1,2>']);
    expect(getHeader(m, 'Route')).toBeUndefined();
  });

  it('never splits authentication headers', () => {
    const v = 'Digest username="bob", realm="a,b", nonce="x", uri="sip:a", response="0"';
    const m = msg([
      ['Authorization', v],
      ['WWW-Authenticate', v],
    ]);
    expect(getHeaderValues(m, 'authorization')).toEqual([v]);
    expect(getHeader(m, 'www-authenticate')).toBe(v);
  });

  it('splits respecting quotes, escapes and <>', () => {
    expect(splitList('a, "b,\\" c", <sip:x;a=1,2>;q=1 ,, d')).toEqual([
      'a',
      '"b,\\" c"',
      '<sip:x;a=1,2>;q=1',
      'd',
    ]);
  });

  it('sets, adds and removes', () => {
    const h: HeaderField[] = [
      { name: 'Via', value: '1' },
      { name: 'Max-Forwards', value: '70' },
      { name: 'v', value: '2' },
    ];
    setHeader(h, 'via', '3');
    expect(h).toEqual([
      { name: 'via', value: '3' },
      { name: 'Max-Forwards', value: '70' },
    ]);
    addHeader(h, 'Contact', '<sip:a@b>');
    setHeader(h, 'Expires', '60');
    expect(h.map((x) => x.name)).toEqual(['via', 'Max-Forwards', 'Contact', 'Expires']);
    expect(removeHeader(h, 'm')).toBe(1);
    expect(h).toHaveLength(3);
  });
});

describe('Via', () => {
  it('parses with LWS and params', () => {
    const v = parseVia(
      'SIP / 2.0 / udp  host.example.com : 5070 ; branch = z9hG4bKx ;rport; received=192.0.2.1',
    );
    expect(v).toEqual({
      protocol: 'SIP/2.0',
      transport: 'UDP',
      host: 'host.example.com',
      port: 5070,
      params: new Map<string, string | null>([
        ['branch', 'z9hG4bKx'],
        ['rport', null],
        ['received', '192.0.2.1'],
      ]),
    });
    expect(parseVia('SIP/2.0/TCP [2001:db8::9]:5060;branch=z9hG4bK1')?.host).toBe('2001:db8::9');
  });

  itRejects(parseVia, [
    '',
    'SIP/2.0 host',
    'SIP/2.0/UDP',
    'SIP/2.0/UDP host;;',
    'SIP/2.0/UDP host;',
    'SIP/2.0/UDP host:x',
    'SIP/2.0/UDP h;a=',
  ]);

  it('formats', () => {
    const s = 'SIP/2.0/UDP [::1]:5060;branch=z9hG4bK1;rport=5060;received=::1';
    expect(formatVia(parseVia(s) ?? { protocol: '', transport: '', host: '', params: new Map() })).toBe(s);
  });
});

describe('name-addr', () => {
  it('parses the forms of RFC 3261 §20.10', () => {
    expect(parseNameAddr('"A. G. Bell" <sip:agb@bell-telephone.com> ;tag=a48s')).toMatchObject({
      displayName: 'A. G. Bell',
      uri: { user: 'agb', host: 'bell-telephone.com' },
    });
    expect(parseNameAddr('Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8')?.displayName).toBe('Anonymous');
    const spec = parseNameAddr('sip:+12125551212@server.phone2net.com;tag=887s');
    expect(spec?.uri.params.size).toBe(0);
    expect(spec?.params.get('tag')).toBe('887s');
    const bracketed = parseNameAddr('<sip:a@b;transport=tcp>;expires=30;+sip.instance="<urn:uuid:1>"');
    expect(bracketed?.uri.params.get('transport')).toBe('tcp');
    expect(bracketed?.params.get('+sip.instance')).toBe('"<urn:uuid:1>"');
    expect(unquote(bracketed?.params.get('+sip.instance') ?? '')).toBe('<urn:uuid:1>');
  });

  itRejects(parseNameAddr, [
    '',
    '"unterminated <sip:a@b>',
    'Bell, Alexander <sip:a@b>',
    '<sip:a@b',
    '<sip:a@b>;',
    '<sip:a@b> junk',
    '*',
  ]);

  it('formats with quotes and escapes', () => {
    const na = parseNameAddr('"Say \\"hi\\"" <sip:a@b>;tag=1');
    expect(na?.displayName).toBe('Say "hi"');
    expect(
      formatNameAddr(
        na ?? { uri: { scheme: 'sip', host: '', params: new Map(), headers: new Map() }, params: new Map() },
      ),
    ).toBe('"Say \\"hi\\"" <sip:a@b>;tag=1');
  });

  it('tagOf', () => {
    expect(tagOf('<sip:a@b>;tag=xyz')).toBe('xyz');
    expect(tagOf('sip:a@b')).toBeUndefined();
  });
});

describe('CSeq and params', () => {
  it('parses CSeq', () => {
    expect(parseCSeq('4711 INVITE')).toEqual({ seq: 4711, method: 'INVITE' });
    expect(parseCSeq('0009  INVITE ')).toEqual({ seq: 9, method: 'INVITE' });
    expect(parseCSeq('4294967295 BYE')).toEqual({ seq: 4294967295, method: 'BYE' });
    for (const bad of [
      '',
      'INVITE',
      '1',
      '4294967296 BYE',
      '36893488147419103232 REGISTER',
      '1 IN VITE',
      '-1 BYE',
    ]) {
      expect(parseCSeq(bad), bad).toBeUndefined();
    }
  });

  it('parses params', () => {
    expect(parseParams(';a=b;c ; D = "x;y"')).toEqual(
      new Map<string, string | null>([
        ['a', 'b'],
        ['c', null],
        ['d', '"x;y"'],
      ]),
    );
    expect(parseParams('a=b')?.get('a')).toBe('b');
    expect(parseParams('')?.size).toBe(0);
    expect(parseParams(';a=')).toBeUndefined();
    expect(parseParams(';a="x')).toBeUndefined();
  });
});
