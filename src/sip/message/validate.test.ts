import { describe, expect, it } from 'vitest';
import { parseMessage } from './parse.ts';
import type { SipRequest } from './types.ts';
import { checkRequest } from './validate.ts';

const CAPS = {
  methods: ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS'],
  extensions: ['timer'],
  contentTypes: ['application/sdp'],
};

function req(
  extra: string[],
  opts: { method?: string; uri?: string; body?: string; maxForwards?: string } = {},
): SipRequest {
  const method = opts.method ?? 'INVITE';
  const body = opts.body ?? '';
  const text = [
    `${method} ${opts.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    'Via: SIP/2.0/UDP host;branch=z9hG4bK1',
    'From: <sip:a@example.com>;tag=1',
    'To: <sip:bob@example.com>',
    'Call-ID: x@y',
    `CSeq: 1 ${method}`,
    `Max-Forwards: ${opts.maxForwards ?? '70'}`,
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || r.message.kind !== 'request') throw new Error(r.ok ? 'response' : r.error);
  return r.message;
}

describe('checkRequest', () => {
  it('accepts a plain request, tel: URIs and known Require tags', () => {
    expect(checkRequest(req([]), CAPS)).toBeUndefined();
    expect(checkRequest(req([], { uri: 'tel:+15551234' }), CAPS)).toBeUndefined();
    expect(checkRequest(req(['Require: timer']), CAPS)).toBeUndefined();
    // RFC 4475 §3.3.11: a UAS processes Max-Forwards 0 as if it were positive
    expect(checkRequest(req([], { maxForwards: '0' }), CAPS)).toBeUndefined();
  });

  it('answers 420 with Unsupported, but not for ACK/CANCEL', () => {
    expect(checkRequest(req(['Require: 100rel, timer']), CAPS)).toEqual({
      status: 420,
      reason: 'Bad Extension',
      headers: [{ name: 'Unsupported', value: '100rel' }],
    });
    expect(checkRequest(req(['Require: 100rel'], { method: 'CANCEL' }), CAPS)).toBeUndefined();
  });

  it('checks bodies: type, encoding, optional disposition', () => {
    expect(checkRequest(req(['Content-Type: application/sdp'], { body: 'v=0\r\n' }), CAPS)).toBeUndefined();
    expect(
      checkRequest(req(['Content-Type: Application/SDP; charset=utf-8'], { body: 'v=0\r\n' }), CAPS),
    ).toBeUndefined();
    expect(checkRequest(req(['Content-Type: text/html'], { body: '<p>' }), CAPS)?.status).toBe(415);
    expect(checkRequest(req([], { body: 'v=0' }), CAPS)?.status).toBe(415);
    expect(
      checkRequest(req(['Content-Type: application/sdp', 'Content-Encoding: gzip'], { body: 'xx' }), CAPS)
        ?.headers,
    ).toEqual([{ name: 'Accept-Encoding', value: 'identity' }]);
    expect(
      checkRequest(
        req(['Content-Type: text/html', 'Content-Disposition: render;handling=optional'], { body: '<p>' }),
        CAPS,
      ),
    ).toBeUndefined();
  });

  it('checks Accept of an INVITE with wildcards', () => {
    expect(checkRequest(req(['Accept: application/*']), CAPS)).toBeUndefined();
    expect(checkRequest(req(['Accept: */*']), CAPS)).toBeUndefined();
    expect(checkRequest(req(['Accept: text/plain']), CAPS)?.status).toBe(406);
    expect(checkRequest(req(['Accept: text/plain'], { method: 'OPTIONS' }), CAPS)).toBeUndefined();
  });

  it('answers 400 for malformed mandatory headers', () => {
    expect(checkRequest(req([], { maxForwards: 'ten' }), CAPS)?.status).toBe(400);
    expect(checkRequest(req(['Contact: <sip:a@b']), CAPS)?.status).toBe(400);
    expect(checkRequest(req(['Contact: *']), CAPS)).toBeUndefined();
    expect(checkRequest(req(['Route: garbage']), CAPS)?.status).toBe(400);
    expect(checkRequest(req(['Expires: 1', 'Expires: 2']), CAPS)?.status).toBe(400);
  });

  it('leaves unknown methods to the UA', () => {
    expect(checkRequest(req(['Require: nothing'], { method: 'PUBLISH' }), CAPS)).toBeUndefined();
  });
});
