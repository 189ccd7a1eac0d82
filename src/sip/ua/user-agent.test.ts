/**
 * The UA core (RFC 3261 §8, §9, §13–§15) over a loopback UDP socket, with a
 * FakeClock for the 2xx retransmission timers: what it answers by itself, how
 * it hands INVITEs to its delegate, CANCEL, the 2xx/ACK handshake and BYE.
 */
import dgram from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../util/fake-clock.ts';
import { getHeader, getHeaderValues, tagOf } from '../message/headers.ts';
import type { SipMessage, SipRequest, SipResponse } from '../message/types.ts';
import { buildRequest, buildResponse } from '../message/build.ts';
import { serializeMessage } from '../message/serialize.ts';
import { parseUri } from '../message/uri.ts';
import { SipStack } from '../stack.ts';
import { UdpTransport } from '../transport/udp.ts';
import type { IncomingInvite } from './incoming-invite.ts';
import type { DialogUser } from './invite-session.ts';
import { UserAgent } from './user-agent.ts';
import { parseOrThrow as parse } from '../message/testing.ts';
import { quiet, sleep, until } from '../../util/testing.ts';

const T1 = 100;

let n = 0;

describe('UserAgent (UAS side) over loopback UDP', () => {
  let clock: FakeClock;
  let stack: SipStack;
  let ua: UserAgent;
  let invites: IncomingInvite[];
  let peer: dgram.Socket;
  let got: SipMessage[];
  let serverPort: number;
  let peerPort: number;

  beforeEach(async () => {
    clock = new FakeClock();
    const udp = await UdpTransport.listen('127.0.0.1', 0);
    serverPort = udp.local.port;
    stack = new SipStack({
      transports: [udp],
      clock,
      logger: quiet,
      timers: { t1: T1, t2: 4 * T1, t4: 5 * T1 },
    });
    invites = [];
    ua = new UserAgent({ stack, clock, logger: quiet, delegate: { onInvite: (inv) => invites.push(inv) } });
    peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    peerPort = peer.address().port;
    got = [];
    peer.on('message', (m) => got.push(parse(m)));
  });

  afterEach(async () => {
    peer.close();
    await stack.close();
  });

  interface Req {
    method: string;
    callId: string;
    branch: string;
    cseq: number;
    toTag?: string;
    extra?: string;
    body?: string;
    cseqMethod?: string;
  }
  const req = (o: Partial<Req> & { method: string }): Req => ({
    callId: `ua-${++n}@127.0.0.1`,
    branch: `z9hG4bKua${n}x${Math.random().toString(36).slice(2)}`,
    cseq: 1,
    ...o,
  });
  const text = (r: Req): string => {
    const body = r.body ?? '';
    return (
      `${r.method} sip:9001@127.0.0.1:${serverPort} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${peerPort};branch=${r.branch};rport\r\n` +
      'Max-Forwards: 70\r\n' +
      `From: <sip:7900@127.0.0.1>;tag=caller1\r\n` +
      `To: <sip:9001@127.0.0.1>${r.toTag ? `;tag=${r.toTag}` : ''}\r\n` +
      `Call-ID: ${r.callId}\r\n` +
      `CSeq: ${r.cseq} ${r.cseqMethod ?? r.method}\r\n` +
      `Contact: <sip:7900@127.0.0.1:${peerPort}>\r\n` +
      (r.extra ?? '') +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body
    );
  };
  const send = (r: Req): void => void peer.send(Buffer.from(text(r)), serverPort, '127.0.0.1');
  const responses = (cseqMethod?: string): SipResponse[] =>
    got.filter(
      (m): m is SipResponse =>
        m.kind === 'response' &&
        (cseqMethod === undefined || (getHeader(m, 'cseq') ?? '').endsWith(cseqMethod)),
    );
  const statuses = (cseqMethod?: string): number[] => responses(cseqMethod).map((r) => r.status);
  const waitStatus = async (status: number, cseqMethod?: string): Promise<SipResponse> => {
    await until(
      () => statuses(cseqMethod).includes(status),
      `a ${status}${cseqMethod ? ` to ${cseqMethod}` : ''}`,
    );
    return responses(cseqMethod).find((r) => r.status === status) as SipResponse;
  };
  /** A new INVITE from the peer, and what the delegate got for it. */
  const arrive = async (): Promise<{ inv: Req; invite: IncomingInvite }> => {
    const inv = req({ method: 'INVITE' });
    send(inv);
    await until(() => invites.length === 1, 'the INVITE');
    return { inv, invite: invites[0] as IncomingInvite };
  };
  /** An INVITE answered and ACKed, `user` its dialog user: the INVITE and our To tag. */
  const establish = async (user: DialogUser): Promise<{ inv: Req; toTag: string | undefined }> => {
    const { inv, invite } = await arrive();
    const accepted = invite.accept('v=0\r\n');
    const ok = await waitStatus(200, 'INVITE');
    const toTag = tagOf(getHeader(ok, 'to') ?? '');
    send({ ...inv, method: 'ACK', branch: `${inv.branch}ack`, toTag });
    const result = await accepted;
    if (result) result.session.user = user;
    return { inv, toTag };
  };

  describe('requests it answers itself', () => {
    it('OPTIONS outside a dialog: 200 with Allow and Accept', async () => {
      send(req({ method: 'OPTIONS' }));
      const res = await waitStatus(200);
      expect(getHeaderValues(res, 'allow')).toContain('INVITE');
      expect(getHeader(res, 'accept')).toContain('application/sdp');
    });

    it('an unknown method: 501; a known one we do not do: 405 with Allow', async () => {
      send(req({ method: 'FROBNICATE' }));
      send(req({ method: 'SUBSCRIBE' }));
      await waitStatus(501);
      const res = await waitStatus(405);
      expect(getHeaderValues(res, 'allow')).toEqual([
        'INVITE',
        'ACK',
        'BYE',
        'CANCEL',
        'OPTIONS',
        'INFO',
        'REGISTER',
        'UPDATE',
      ]);
    });

    it('REGISTER without a registrar delegate: 405', async () => {
      send(req({ method: 'REGISTER' }));
      await waitStatus(405);
    });

    it('BYE and INFO for no dialog: 481', async () => {
      send(req({ method: 'BYE', toTag: 'nosuch' }));
      send(req({ method: 'INFO' }));
      await until(() => got.length === 2, 'two responses');
      expect(statuses()).toEqual([481, 481]);
    });

    it('CANCEL matching no INVITE: 481', async () => {
      send(req({ method: 'CANCEL' }));
      await waitStatus(481);
    });

    it('Require with an unknown extension: 420 with Unsupported', async () => {
      send(req({ method: 'OPTIONS', extra: 'Require: 100rel-ng\r\n' }));
      const res = await waitStatus(420);
      expect(getHeader(res, 'unsupported')).toBe('100rel-ng');
      expect(invites).toHaveLength(0);
    });
  });

  describe('INVITE', () => {
    it('gets 100 Trying and goes to the delegate', async () => {
      send(req({ method: 'INVITE' }));
      await waitStatus(100);
      expect(invites).toHaveLength(1);
      expect(invites[0]?.calledUser).toBe('9001');
      expect(invites[0]?.caller.user).toBe('7900');
    });

    it('refuseNewCalls: 503 with Retry-After, the delegate never sees it', async () => {
      ua.refuseNewCalls = true;
      send(req({ method: 'INVITE' }));
      const res = await waitStatus(503);
      expect(getHeader(res, 'retry-after')).toBe('30');
      expect(invites).toHaveLength(0);
      expect(statuses()).toEqual([503]);
    });

    it('CANCEL of a pending INVITE: 200 to the CANCEL, 487 to the INVITE, onCancel called', async () => {
      const { inv, invite } = await arrive();
      let cancelled = 0;
      invite.onCancel = () => cancelled++;
      invite.provisional(180);
      send({ ...inv, method: 'CANCEL' });
      await waitStatus(200, 'CANCEL');
      const res = await waitStatus(487, 'INVITE');
      expect(cancelled).toBe(1);
      expect(tagOf(getHeader(res, 'to') ?? '')).toBe(invite.localTag);
    });

    it('accept(): the 2xx is retransmitted at T1, 2T1 … until the ACK, which resolves the session', async () => {
      const { inv, invite } = await arrive();
      const accepted = invite.accept('v=0\r\n');
      await waitStatus(200, 'INVITE');
      clock.advance(T1 + 2 * T1); // two retransmissions
      await until(() => statuses('INVITE').filter((s) => s === 200).length === 3, 'two 2xx retransmissions');
      const toTag = tagOf(
        getHeader(responses('INVITE').find((r) => r.status === 200) as SipResponse, 'to') ?? '',
      );
      send({ ...inv, method: 'ACK', branch: `${inv.branch}ack`, toTag });
      const result = await accepted;
      expect(result?.session.state).toBe('confirmed');
      expect(ua.sessionCount).toBe(1);
      clock.advance(64 * T1);
      await sleep(30);
      expect(statuses('INVITE').filter((s) => s === 200)).toHaveLength(3);
      expect(clock.pending()).toBe(0);
    });

    it('no ACK within 64·T1: accept() resolves undefined and the call is ended with BYE', async () => {
      const { invite } = await arrive();
      const accepted = invite.accept('v=0\r\n');
      // §13.3.1.4: given up at 64·T1 exactly, not at the next retransmission due after it.
      clock.advance(64 * T1 - 1);
      expect(ua.sessionCount).toBe(1);
      clock.advance(1);
      expect(await accepted).toBeUndefined();
      await until(() => got.some((m) => m.kind === 'request' && m.method === 'BYE'), 'the BYE');
      expect(ua.sessionCount).toBe(0);
    });

    it('a BYE in the dialog: 200, the session ends, the dialog user hears of it', async () => {
      let byes = 0;
      const { inv, toTag } = await establish({
        onBye: () => byes++,
        onReinvite: () => ({ status: 488 }),
        onInfo: () => {},
      });
      send({ ...inv, method: 'BYE', branch: `${inv.branch}bye`, cseq: 2, toTag });
      await waitStatus(200, 'BYE');
      expect(byes).toBe(1);
      expect(ua.sessionCount).toBe(0);
      // The same BYE again (a new transaction): the dialog is gone.
      send({ ...inv, method: 'BYE', branch: `${inv.branch}bye2`, cseq: 3, toTag });
      await waitStatus(481, 'BYE');
    });

    it('a re-INVITE whose 2xx is never ACKed: the call is ended with BYE and the dialog user hears of it', async () => {
      let byes = 0;
      const { inv, toTag } = await establish({
        onBye: () => byes++,
        onReinvite: () => ({ sdp: 'v=0\r\n' }),
        onInfo: () => {},
      });
      send({
        ...inv,
        branch: `${inv.branch}re`,
        cseq: 2,
        toTag,
        body: 'v=0\r\n',
        extra: 'Content-Type: application/sdp\r\n',
      });
      await until(() => statuses('INVITE').filter((s) => s === 200).length === 2, 'the 2xx to the re-INVITE');
      clock.advance(64 * T1 + 4 * T1);
      await until(() => got.some((m) => m.kind === 'request' && m.method === 'BYE'), 'the BYE');
      expect(byes).toBe(1);
      expect(ua.sessionCount).toBe(0);
    });

    it('an INVITE with Session-Expires answered 422: one retry, CSeq + 1, new branch, at the Min-SE it names (RFC 4028 §7.1)', async () => {
      const out = ua.invite({
        requestUri: parseUri(`sip:100@127.0.0.1:${peerPort}`)!,
        destination: { transport: 'udp', address: '127.0.0.1', port: peerPort },
        fromUser: 'agentline',
        sdp: 'v=0\r\n',
        headers: [
          { name: 'Supported', value: 'timer' },
          { name: 'Session-Expires', value: '1800' },
          { name: 'Min-SE', value: '90' },
        ],
      });
      const invitesSeen = (): SipRequest[] =>
        got.filter((m): m is SipRequest => m.kind === 'request' && m.method === 'INVITE');
      await until(() => invitesSeen().length >= 1, 'the INVITE');
      const first = invitesSeen()[0]!;
      const tooSmall = buildResponse(first, 422, {
        toTag: 'peer1',
        headers: [{ name: 'Min-SE', value: '3600' }],
      });
      peer.send(serializeMessage(tooSmall), serverPort, '127.0.0.1');
      await until(() => invitesSeen().some((m) => getHeader(m, 'cseq') === '2 INVITE'), 'the retry');
      const retry = invitesSeen().find((m) => getHeader(m, 'cseq') === '2 INVITE')!;
      expect(getHeader(retry, 'session-expires')).toBe('3600');
      expect(getHeader(retry, 'min-se')).toBe('3600');
      expect(getHeader(retry, 'call-id')).toBe(getHeader(first, 'call-id'));
      expect(getHeader(retry, 'via')).not.toBe(getHeader(first, 'via'));
      // A second 422 is the end of it: no third attempt.
      peer.send(
        serializeMessage(
          buildResponse(retry, 422, { toTag: 'peer2', headers: [{ name: 'Min-SE', value: '7200' }] }),
        ),
        serverPort,
        '127.0.0.1',
      );
      const outcome = await out.result;
      expect(outcome).toMatchObject({ kind: 'failed', status: 422 });
      expect(invitesSeen().filter((m) => getHeader(m, 'cseq') === '3 INVITE')).toHaveLength(0);
    });

    it('an UPDATE in the dialog is handed to the dialog user; its headers go into the 200 (RFC 3311)', async () => {
      let seen: string | undefined;
      const { inv, toTag } = await establish({
        onBye: () => {},
        onReinvite: () => ({ status: 488 }),
        onUpdate: (_offer, r) => {
          seen = getHeader(r, 'session-expires');
          return { headers: [{ name: 'Session-Expires', value: '90;refresher=uac' }] };
        },
        onInfo: () => {},
      });
      send({
        ...inv,
        method: 'UPDATE',
        branch: `${inv.branch}up`,
        cseq: 2,
        toTag,
        extra: 'Session-Expires: 90;refresher=uac\r\nSupported: timer\r\n',
      });
      const res = await waitStatus(200, 'UPDATE');
      expect(seen).toBe('90;refresher=uac');
      expect(getHeader(res, 'session-expires')).toBe('90;refresher=uac');
      expect(getHeaderValues(res, 'supported')).toContain('timer');
      expect(res.body.length).toBe(0);
      // Outside a dialog an UPDATE finds nothing to refresh.
      send(req({ method: 'UPDATE' }));
      await waitStatus(481, 'UPDATE');
    });

    it('a retransmitted INVITE after our 2xx is not a second call (RFC 6026 §7.1)', async () => {
      const { inv, invite } = await arrive();
      const accepted = invite.accept('v=0\r\n');
      const ok = await waitStatus(200, 'INVITE');
      // The 100 and the 200 crossed the caller's INVITE retransmission.
      send(inv);
      await until(() => stack.counters.received === 2, 'the retransmission');
      await sleep(30);
      expect(invites).toHaveLength(1);
      expect(statuses('INVITE').filter((s) => s === 100)).toHaveLength(1);
      expect(stack.counters.retransmissionsAbsorbed).toBe(1);
      send({ ...inv, method: 'ACK', branch: `${inv.branch}ack`, toTag: tagOf(getHeader(ok, 'to') ?? '') });
      expect((await accepted)?.session.state).toBe('confirmed');
      // 64·T1 later the transaction is forgotten and nothing is left running.
      clock.advance(64 * T1);
      expect(clock.pending()).toBe(0);
    });
  });

  describe('outgoing INVITE, cancelled', () => {
    const dial = () =>
      ua.invite({
        requestUri: parseUri(`sip:100@127.0.0.1:${peerPort}`)!,
        destination: { transport: 'udp', address: '127.0.0.1', port: peerPort },
        fromUser: 'agentline',
        sdp: 'v=0\r\n',
      });
    const requests = (method: string): SipRequest[] =>
      got.filter((m): m is SipRequest => m.kind === 'request' && m.method === method);
    const answer = (to: SipRequest, status: number): void =>
      peer.send(serializeMessage(buildResponse(to, status, { toTag: 'callee' })), serverPort, '127.0.0.1');

    it('before any provisional: cancel-pending, no CANCEL until the 180 (§9.1); then with the branch and CSeq number of the INVITE', async () => {
      const out = dial();
      await until(() => requests('INVITE').length >= 1, 'the INVITE');
      const invite = requests('INVITE')[0]!;
      answer(invite, 100);
      out.cancel();
      expect(out.state).toBe('cancel-pending');
      await sleep(30);
      expect(requests('CANCEL')).toHaveLength(0);
      answer(invite, 180);
      await until(() => requests('CANCEL').length === 1, 'the CANCEL');
      expect(out.state).toBe('cancelling');
      const cancel = requests('CANCEL')[0]!;
      expect(getHeader(cancel, 'via')).toBe(getHeader(invite, 'via'));
      expect(getHeader(cancel, 'cseq')).toBe('1 CANCEL');
      expect(getHeader(cancel, 'call-id')).toBe(getHeader(invite, 'call-id'));
      answer(invite, 487);
      expect(await out.result).toMatchObject({ kind: 'cancelled', status: 487 });
      expect(out.state).toBe('cancelled');
    });

    it('a 200 that crosses our CANCEL: ACKed, then ended with BYE; the outcome is cancelled', async () => {
      const out = dial();
      await until(() => requests('INVITE').length >= 1, 'the INVITE');
      const invite = requests('INVITE')[0]!;
      answer(invite, 180);
      await until(() => out.state === 'early', 'early');
      out.cancel();
      await until(() => requests('CANCEL').length === 1, 'the CANCEL');
      const ok = buildResponse(invite, 200, {
        toTag: 'callee',
        headers: [{ name: 'Contact', value: `<sip:100@127.0.0.1:${peerPort}>` }],
      });
      peer.send(serializeMessage(ok), serverPort, '127.0.0.1');
      expect(await out.result).toMatchObject({ kind: 'cancelled', status: 487 });
      await until(() => requests('ACK').length === 1 && requests('BYE').length === 1, 'the ACK and the BYE');
      expect(getHeader(requests('ACK')[0]!, 'cseq')).toBe('1 ACK');
    });
  });
});

/**
 * §8.1.2, §12.2.1.1: behind an outbound proxy (--outbound-proxy) a request
 * outside a dialog goes to the proxy with a Route naming it, whatever its
 * Request-URI; in the dialog the route set the proxy recorded is used instead.
 */
describe('UserAgent with an outbound proxy', () => {
  let stack: SipStack;
  let ua: UserAgent;
  let proxy: dgram.Socket;
  let got: SipRequest[];
  let proxyPort: number;

  beforeEach(async () => {
    proxy = dgram.createSocket('udp4');
    await new Promise<void>((r) => proxy.bind(0, '127.0.0.1', () => r()));
    proxyPort = proxy.address().port;
    got = [];
    proxy.on('message', (m) => {
      const msg = parse(m);
      if (msg.kind === 'request') got.push(msg);
    });
    const udp = await UdpTransport.listen('127.0.0.1', 0);
    stack = new SipStack({
      transports: [udp],
      clock: new FakeClock(),
      logger: quiet,
      timers: { t1: T1, t2: 4 * T1, t4: 5 * T1 },
    });
    ua = new UserAgent({
      stack,
      clock: new FakeClock(),
      logger: quiet,
      delegate: { onInvite: () => {} },
      outboundProxy: {
        uri: `sip:127.0.0.1:${proxyPort}`,
        endpoint: { transport: 'udp', address: '127.0.0.1', port: proxyPort },
      },
    });
  });

  afterEach(async () => {
    proxy.close();
    await stack.close();
  });

  const reply = (r: SipRequest, status: number, headers: { name: string; value: string }[] = []): void => {
    const res = buildResponse(r, status, { toTag: status > 100 ? 'proxytag' : undefined, headers });
    const bytes = serializeMessage(res);
    proxy.send(bytes, stack.localAddress('udp').port, '127.0.0.1');
  };

  it('sends an INVITE for a phone elsewhere to the proxy with a loose Route, then ACK and BYE along the recorded route', async () => {
    const uri = parseUri('sip:1001@127.0.0.9:5999');
    if (!uri) throw new Error('uri');
    const out = ua.invite({
      requestUri: uri,
      destination: { transport: 'udp', address: '127.0.0.9', port: 5999 },
      fromUser: '+74950000001',
      sdp: 'v=0\r\n',
    });
    await until(() => got.some((r) => r.method === 'INVITE'));
    const invite = got.find((r) => r.method === 'INVITE');
    if (!invite) throw new Error('no INVITE');
    expect(invite.rawUri).toBe('sip:1001@127.0.0.9:5999');
    expect(getHeaderValues(invite, 'route')).toEqual([`<sip:127.0.0.1:${proxyPort};lr>`]);
    const rr = `<sip:127.0.0.1:${proxyPort};lr;ftag=x>`;
    reply(invite, 200, [
      { name: 'Record-Route', value: rr },
      { name: 'Contact', value: '<sip:1001@127.0.0.9:5999>' },
      { name: 'Content-Type', value: 'application/sdp' },
    ]);
    const result = await out.result;
    if (result.kind !== 'answered') throw new Error(result.kind);
    await until(() => got.some((r) => r.method === 'ACK'));
    const ack = got.find((r) => r.method === 'ACK');
    expect(ack?.rawUri).toBe('sip:1001@127.0.0.9:5999');
    expect(ack && getHeaderValues(ack, 'route')).toEqual([rr]);
    void result.session.bye();
    await until(() => got.some((r) => r.method === 'BYE'));
    const bye = got.find((r) => r.method === 'BYE');
    expect(bye && getHeaderValues(bye, 'route')).toEqual([rr]);
  });

  it('sends OPTIONS and REGISTER to a trunk through the proxy, our Via as the proxy sees us', async () => {
    const uri = parseUri('sip:127.0.0.9:5999');
    if (!uri) throw new Error('uri');
    const req = buildRequest('OPTIONS', uri, {
      via: 'SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKstale',
      from: '<sip:agentline@127.0.0.9>;tag=1',
      to: '<sip:127.0.0.9:5999>',
      callId: 'proxy-options',
      cseq: 1,
    });
    const answered = ua.request(req, { transport: 'udp', address: '127.0.0.9', port: 5999 });
    await until(() => got.length > 0);
    const sent = got[0];
    if (!sent) throw new Error('nothing sent');
    expect(getHeaderValues(sent, 'route')).toEqual([`<sip:127.0.0.1:${proxyPort};lr>`]);
    expect(getHeader(sent, 'via')).toContain(`127.0.0.1:${stack.localAddress('udp').port}`);
    reply(sent, 200);
    expect((await answered)?.status).toBe(200);
  });
});
