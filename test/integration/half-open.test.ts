/**
 * Legs that never confirm (issue 11): an INVITE whose 200 is never ACKed, or
 * whose offer/answer is garbage, must give its leg, dialog and RTP port back —
 * after 64·T1 at most (RFC 3261 §13.3.1.4: the UAS stops retransmitting the
 * 2xx and ends the session with BYE), at once when the offer is unusable.
 * The harness runs with T1 = 100 ms, so 64·T1 is 6.4 s.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { RawSip, SERVICE, eventually, rawRequest, startServer } from './harness.ts';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

/** The To tag and Contact of a response, to build an in-dialog request. */
function dialogOf(res: string): { toTag: string } {
  const toTag = /^To:.*;tag=([^;\r\n]+)/im.exec(res)?.[1];
  if (!toTag) throw new Error('no To tag in ' + res);
  return { toTag };
}

describe('half-open INVITEs', () => {
  let server: Server;
  let raw: RawSip;
  const t1 = 100;

  beforeAll(async () => {
    server = await startServer({ sipT1: t1 });
    raw = await RawSip.open();
  });

  afterAll(async () => {
    raw.close();
    await server.stop();
  });

  beforeEach(() => {
    raw.received.length = 0;
  });

  const idle = async (what: string): Promise<void> => {
    await eventually(() => server.engine.activeLegs === 0, 5000, `${what}: no leg`);
    await eventually(() => server.ua.sessionCount === 0, 5000, `${what}: no dialog`);
    expect(server.pool.free).toBe(server.pool.capacity);
    expect(server.mediaClock.size).toBe(0);
  };

  it('a 200 never ACKed: the 2xx is retransmitted, then after 64·T1 a BYE, and leg, dialog and port are gone', async () => {
    const callId = `noack-${Date.now()}`;
    raw.sendInvite(SERVICE, server.sipPort, SDP, callId);
    await raw.waitFor(/^SIP\/2\.0 200/);
    expect(server.engine.activeLegs).toBe(1);
    expect(server.pool.free).toBe(server.pool.capacity - 1);
    const bye = await raw.waitFor(
      new RegExp(`^BYE [^\\r]+\\r\\n[\\s\\S]*Call-ID: ${callId}`),
      64 * t1 + 3000,
    );
    const twoHundreds = raw.received.filter((b) => b.toString('latin1').startsWith('SIP/2.0 200')).length;
    expect(twoHundreds).toBeGreaterThan(3); // retransmitted at T1, 2T1, … (UDP)
    expect(bye).toMatch(/^CSeq: \d+ BYE/m);
    await idle('no ACK');
  });

  it('a late offer (INVITE without SDP) whose ACK carries garbage instead of an answer: BYE and release at once', async () => {
    const callId = `garbage-ack-${Date.now()}`;
    const ruri = `sip:${SERVICE}@127.0.0.1:${server.sipPort}`;
    raw.send(
      rawRequest('INVITE', ruri, raw.port, `Contact: <sip:raw@127.0.0.1:${raw.port}>\r\n`, '', callId),
      server.sipPort,
    );
    const ok = await raw.waitFor(/^SIP\/2\.0 200/);
    expect(ok).toMatch(/Content-Type: application\/sdp/);
    const { toTag } = dialogOf(ok);
    const garbage = 'v=0\r\nm=audio banana RTP/AVP\r\nc=IN IP4\r\n';
    const ack = rawRequest('ACK', ruri, raw.port, 'Content-Type: application/sdp\r\n', garbage, callId)
      .replace(/^To: (.*)$/m, `To: $1;tag=${toTag}`)
      .replace('CSeq: 1 ACK', 'CSeq: 1 ACK');
    raw.send(ack, server.sipPort);
    await raw.waitFor(new RegExp(`^BYE [\\s\\S]*Call-ID: ${callId}`), 2000);
    await idle('garbage answer');
  });

  it('garbage offers get a final error and never take a port', async () => {
    const offers = [
      'this is not sdp',
      'v=0\r\nm=audio 65536 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n',
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n', // no c=
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 31\r\n',
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n',
      '\u0000'.repeat(300),
    ];
    for (const [i, body] of offers.entries()) {
      raw.sendInvite(SERVICE, server.sipPort, body, `garbage-offer-${i}-${Date.now()}`);
    }
    await eventually(
      () =>
        raw.received.filter((b) => /^SIP\/2\.0 [4-6]\d\d/.test(b.toString('latin1'))).length >= offers.length,
      3000,
      'a final error for every garbage offer',
    );
    const finals = raw.received
      .map((b) => b.toString('latin1'))
      .filter((t) => /^SIP\/2\.0 [2-6]\d\d/.test(t))
      .map((t) => Number(t.slice(8, 11)));
    expect(finals.every((s) => s === 400 || s === 488)).toBe(true);
    await idle('garbage offers');
  });
});
