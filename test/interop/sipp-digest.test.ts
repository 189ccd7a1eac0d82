/**
 * Outbound digest authentication against a peer we did not write: sipp plays
 * a trunk that answers our INVITE with 401, then checks the retried INVITE's
 * Authorization with its own `verifyauth` (RFC 2617 MD5, qop=auth) and answers
 * 200 or 403. Our side is the SIP layer alone (stack + UA), over loopback UDP.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/util/clock.ts';
import { parseUri } from '../../src/sip/message/uri.ts';
import { DigestClient } from '../../src/sip/registrar/digest-client.ts';
import { SipStack } from '../../src/sip/stack.ts';
import { UdpTransport } from '../../src/sip/transport/udp.ts';
import { UserAgent } from '../../src/sip/user-agent.ts';
import { memoryLog } from '../integration/harness.ts';
import { CLEAN_EXIT, LOOPBACK, freePortBlock } from './tools.ts';
import { sippSuite } from './sipp.ts';

const OFFER =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

describe('sipp verifyauth: our INVITE retried with credentials after a 401', () => {
  const suite = sippSuite();
  let stack: SipStack | undefined;

  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  async function callTrunk(
    password: string,
  ): Promise<{ kind: string; status?: number; log: string; report: string }> {
    const log = memoryLog();
    const clock = new SystemClock();
    const udp = await UdpTransport.listen(LOOPBACK, 0);
    stack = new SipStack({ transports: [udp], clock, logger: pino({ level: 'silent' }) });
    const ua = new UserAgent({
      stack,
      clock,
      logger: log.logger,
      delegate: { onInvite: () => {} },
    });
    const uas = await suite.startUas({
      scenario: 'uas-digest-401.xml',
      dirPrefix: 'sipp-digest',
      portBase: await freePortBlock(8),
      name: 'trunk-uas',
      timeoutS: 15,
    });
    const uri = parseUri(`sip:79001234567@${LOOPBACK}:${uas.sipPort}`);
    if (!uri) throw new Error('bad uri');
    const out = ua.invite({
      requestUri: uri,
      destination: { transport: 'udp', address: LOOPBACK, port: uas.sipPort },
      fromUser: '74950000001',
      sdp: OFFER,
      auth: { client: new DigestClient({ username: 'agentline', password }), label: 'sipp-trunk' },
    });
    const result = await out.result;
    if (result.kind === 'answered') await result.session.bye();
    const exit = await uas.finish(15_000);
    expect(exit, uas.report()).toEqual(CLEAN_EXIT);
    return {
      kind: result.kind,
      status: result.kind === 'answered' ? undefined : result.status,
      log: log.text(),
      report: uas.report(),
    };
  }

  it('the right password: sipp verifies the digest and answers 200', async () => {
    const r = await callTrunk('trunk-secret');
    expect(r.kind, r.report).toBe('answered');
    expect(r.log).not.toContain('trunk-secret');
  }, 30_000);

  it('a wrong password: 403, auth_failed, and one warn line with the trunk name', async () => {
    const r = await callTrunk('wrong-password');
    expect(r.kind, r.report).toBe('auth_failed');
    expect(r.status).toBe(403);
    const warn = r.log.split('\n').filter((l) => l.includes('trunk authentication failed'));
    expect(warn).toHaveLength(1);
    expect(JSON.parse(warn[0] as string)).toMatchObject({ level: 40, trunk: 'sipp-trunk', status: 403 });
    expect(r.log).not.toContain('wrong-password');
  }, 30_000);
});
