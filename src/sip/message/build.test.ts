import { describe, expect, it } from 'vitest';
import {
  buildBadRequest,
  buildCancel,
  buildNon2xxAck,
  buildResponse,
  buildRetry,
  reasonPhrase,
} from './build.ts';
import { getHeader, getHeaderValues, tagOf } from './headers.ts';
import { parseMessage } from './parse.ts';
import { serializeMessage } from './serialize.ts';
import type { SipRequest } from './types.ts';

const INVITE = [
  'INVITE sip:bob@b.example SIP/2.0',
  'v: SIP/2.0/UDP p1.example;branch=z9hG4bK1, SIP/2.0/UDP p0.example;branch=z9hG4bK0',
  'Via: SIP/2.0/UDP a.example;branch=z9hG4bKa',
  'Record-Route: <sip:p1.example;lr>',
  'Max-Forwards: 68',
  'f: <sip:alice@a.example>;tag=1',
  't: <sip:bob@b.example>',
  'i: c1',
  'CSeq: 5 INVITE',
  'Timestamp: 54',
  'l: 0',
  '',
  '',
].join('\r\n');

function req(text = INVITE): SipRequest {
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || r.message.kind !== 'request') throw new Error('bad fixture');
  return r.message;
}

describe('buildResponse', () => {
  it('copies Via in order, From, To, Call-ID, CSeq (§8.2.6.2)', () => {
    const res = buildResponse(req(), 486);
    expect(res.reason).toBe('Busy Here');
    expect(getHeaderValues(res, 'Via')).toEqual([
      'SIP/2.0/UDP p1.example;branch=z9hG4bK1',
      'SIP/2.0/UDP p0.example;branch=z9hG4bK0',
      'SIP/2.0/UDP a.example;branch=z9hG4bKa',
    ]);
    expect(getHeader(res, 'From')).toBe('<sip:alice@a.example>;tag=1');
    expect(getHeader(res, 'Call-ID')).toBe('c1');
    expect(getHeader(res, 'CSeq')).toBe('5 INVITE');
    expect(getHeader(res, 'Record-Route')).toBeUndefined();
    expect(getHeader(res, 'Timestamp')).toBeUndefined();
  });

  it('adds the To tag once, Record-Route for 18x/2xx, Timestamp for 100', () => {
    const ok = buildResponse(req(), 200, {
      toTag: 'xyz',
      body: Buffer.from('v=0\r\n'),
      contentType: 'application/sdp',
    });
    expect(tagOf(getHeader(ok, 'To') ?? '')).toBe('xyz');
    expect(getHeader(ok, 'Record-Route')).toBe('<sip:p1.example;lr>');
    expect(getHeader(ok, 'Content-Type')).toBe('application/sdp');
    expect(serializeMessage(ok).toString()).toContain('Content-Length: 5\r\n\r\nv=0\r\n');
    const tagged = buildResponse(
      req(INVITE.replace('t: <sip:bob@b.example>', 't: <sip:bob@b.example>;tag=old')),
      200,
      { toTag: 'new' },
    );
    expect(tagOf(getHeader(tagged, 'To') ?? '')).toBe('old');
    expect(getHeader(buildResponse(req(), 100), 'Timestamp')).toBe('54');
  });

  it('serializes to something that parses back', () => {
    const again = parseMessage(
      serializeMessage(
        buildResponse(req(), 180, { toTag: 't1', headers: [{ name: 'Contact', value: '<sip:b@b>' }] }),
      ),
    );
    expect(again.ok && again.message.kind === 'response' && again.message.status).toBe(180);
  });
});

describe('buildBadRequest', () => {
  it('needs a usable Via and CSeq, and never answers ACK', () => {
    const partial = { method: 'INVITE', headers: req().headers };
    const res = buildBadRequest(partial, 'Malformed Request-URI');
    expect(res?.status).toBe(400);
    expect(res?.reason).toBe('Malformed Request-URI');
    expect(tagOf(getHeader(res ?? { headers: [] }, 'To') ?? '')).toMatch(/^[0-9a-f]{16}$/);
    expect(buildBadRequest({ method: 'ACK', headers: partial.headers }, 'x')).toBeUndefined();
    expect(
      buildBadRequest({ method: 'INVITE', headers: partial.headers.filter((h) => h.name !== 'CSeq') }, 'x'),
    ).toBeUndefined();
    expect(
      buildBadRequest(
        {
          method: 'INVITE',
          headers: [
            { name: 'Via', value: 'garbage' },
            { name: 'CSeq', value: '1 INVITE' },
          ],
        },
        'x',
      ),
    ).toBeUndefined();
    expect(buildBadRequest(partial, 'a\r\nInjected: 1')?.reason).toBe('a Injected: 1');
  });
});

describe('reasonPhrase', () => {
  it('knows the usual phrases and falls back by class', () => {
    expect(reasonPhrase(423)).toBe('Interval Too Brief');
    expect(reasonPhrase(416)).toBe('Unsupported URI Scheme');
    expect(reasonPhrase(499)).toBe('Request Failure');
  });
});

/** An INVITE as we send it: one Via, a Route, a body. */
const OURS = [
  'INVITE sip:bob@b.example SIP/2.0',
  'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKours;rport',
  'Max-Forwards: 70',
  'Route: <sip:proxy.example;lr>',
  'From: <sip:agentline@10.0.0.1>;tag=me',
  'To: <sip:bob@b.example>',
  'Call-ID: c2',
  'CSeq: 3 INVITE',
  'Contact: <sip:agentline@10.0.0.1:5060>',
  'Proxy-Authorization: Digest username="old"',
  'Content-Type: application/sdp',
  'Content-Length: 5',
  '',
  'v=0\r\n',
].join('\r\n');

describe('requests derived from one we sent', () => {
  it('CANCEL (§9.1): same top Via and Route, From, To, Call-ID; CSeq number with CANCEL; no body', () => {
    const cancel = buildCancel(req(OURS));
    expect(cancel.method).toBe('CANCEL');
    expect(cancel.headers.map((h) => h.name)).toEqual([
      'Via',
      'Route',
      'Max-Forwards',
      'From',
      'To',
      'Call-ID',
      'CSeq',
    ]);
    expect(getHeader(cancel, 'via')).toBe('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKours;rport');
    expect(getHeader(cancel, 'cseq')).toBe('3 CANCEL');
    expect(cancel.body.length).toBe(0);
  });

  it('ACK for a non-2xx (§17.1.1.3): the To of the response (its tag), CSeq number with ACK', () => {
    const invite = req(OURS);
    const ack = buildNon2xxAck(invite, buildResponse(invite, 486, { toTag: 'busy' }));
    expect(ack.method).toBe('ACK');
    expect(getHeader(ack, 'to')).toBe('<sip:bob@b.example>;tag=busy');
    expect(getHeader(ack, 'cseq')).toBe('3 ACK');
    expect(getHeader(ack, 'route')).toBe('<sip:proxy.example;lr>');
    expect(ack.uri).toEqual(invite.uri);
  });

  it('a retry (§8.1.3.5): the new Via, CSeq + 1, headers rewritten or dropped, extras at the end, same body', () => {
    const retry = buildRetry(
      req(OURS),
      'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKnew;rport',
      (key, h) => (key === 'proxy-authorization' ? undefined : h),
      [{ name: 'Proxy-Authorization', value: 'Digest username="new"' }],
    );
    expect(getHeaderValues(retry, 'via')).toEqual(['SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKnew;rport']);
    expect(getHeader(retry, 'cseq')).toBe('4 INVITE');
    expect(getHeaderValues(retry, 'proxy-authorization')).toEqual(['Digest username="new"']);
    expect(retry.headers.at(-1)?.name).toBe('Proxy-Authorization');
    expect(getHeader(retry, 'call-id')).toBe('c2');
    expect(retry.body.toString()).toBe('v=0\r\n');
  });
});
