import { describe, expect, it } from 'vitest';
import { formatUri, parseUri } from './uri.ts';
import { itRejects } from './testing.ts';

describe('parseUri', () => {
  it('parses a full sip URI', () => {
    const u = parseUri(
      'sip:alice:secret@Example.COM:5070;transport=TCP;lr?Subject=hi%20there&Priority=urgent',
    );
    expect(u).toMatchObject({
      scheme: 'sip',
      user: 'alice',
      password: 'secret',
      host: 'Example.COM',
      port: 5070,
    });
    expect([...(u?.params ?? [])]).toEqual([
      ['transport', 'TCP'],
      ['lr', null],
    ]);
    expect(u?.headers.get('Subject')).toBe('hi there');
  });

  it('parses IPv6 references without brackets in host', () => {
    expect(parseUri('sips:[2001:db8::1]:5061')).toMatchObject({
      scheme: 'sips',
      host: '2001:db8::1',
      port: 5061,
    });
    expect(parseUri('sip:bob@[::1];transport=udp')?.host).toBe('::1');
    expect(
      formatUri(
        parseUri('sip:bob@[::1]:5060') ?? { scheme: 'sip', host: '', params: new Map(), headers: new Map() },
      ),
    ).toBe('sip:bob@[::1]:5060');
  });

  it('parses tel and unknown schemes', () => {
    expect(parseUri('tel:+1-201-555-0123;phone-context=example.com')).toMatchObject({
      scheme: 'tel',
      user: '+1-201-555-0123',
      host: '',
    });
    expect(parseUri('im:alice@example.com')).toMatchObject({
      scheme: 'im',
      host: '',
      opaque: 'alice@example.com',
    });
    expect(parseUri('HTTP://www.example.com/x')).toMatchObject({
      scheme: 'http',
      opaque: '//www.example.com/x',
    });
  });

  itRejects(parseUri, [
    '',
    'sip:',
    'sip:@host',
    '<sip:a@b>',
    'sip:a@b c',
    'sip:a@b:99999',
    'sip:a@b:5x',
    'sip:a@[::1',
    'sip:a@b;;x',
    'sip:a@b?x',
    '1sip:a@b',
    'sip:a@b"',
    'tel:',
  ]);

  it('unescapes and re-escapes', () => {
    const u = parseUri('sip:sips%3Auser%40example.com@example.net;n%61me=v%61lue%25');
    expect(u?.user).toBe('sips:user@example.com');
    expect(u?.params.get('name')).toBe('value%');
    const s = formatUri(u ?? { scheme: 'sip', host: '', params: new Map(), headers: new Map() });
    expect(s).toBe('sip:sips%3Auser%40example.com@example.net;name=value%25');
    expect(
      formatUri({ scheme: 'sip', user: 'I have spaces', host: 'h', params: new Map(), headers: new Map() }),
    ).toBe('sip:I%20have%20spaces@h');
    expect(formatUri({ scheme: 'sip', user: 'ü', host: 'h', params: new Map(), headers: new Map() })).toBe(
      'sip:%C3%BC@h',
    );
  });

  it('round-trips', () => {
    for (const s of [
      'sip:alice@atlanta.com',
      'sips:bob:pw@biloxi.com:5061;transport=tls;maddr=239.255.255.1;ttl=15',
      'sip:+1-212-555-1212:1234@gateway.com;user=phone',
      'sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com',
      "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
      'sip:user;par=u%40example.net@example.com',
      'tel:+358-555-1234567;postd=pp22',
      'urn:service:sos',
    ]) {
      const u = parseUri(s);
      expect(u, s).toBeDefined();
      if (!u) continue;
      expect(parseUri(formatUri(u)), s).toEqual(u);
    }
  });
});

describe('lenient user parts', () => {
  it('accepts a raw "#" and escapes it when formatting', () => {
    const u = parseUri('sip:*21#@pbx.example');
    expect(u?.user).toBe('*21#');
    expect(u && formatUri(u)).toBe('sip:*21%23@pbx.example');
  });
});
