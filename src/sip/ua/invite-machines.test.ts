/**
 * The UA's INVITE roles as state machines, driven without sockets: a fake
 * stack records what would go on the wire and hands back each client
 * transaction's user, so a test answers our requests itself. Each table is
 * walked move by move through the role's own methods, plus one forbidden move.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../util/fake-clock.ts';
import { allMoves, type StateChange, type TransitionTable } from '../../util/state-machine.ts';
import { Dialog } from '../dialog/dialog.ts';
import { buildResponse } from '../message/build.ts';
import { parseCSeq, parseVia } from '../message/headers.ts';
import { parseMessage } from '../message/parse.ts';
import type { SipMessage, SipRequest, SipResponse } from '../message/types.ts';
import { parseUri } from '../message/uri.ts';
import type { SipStack } from '../stack.ts';
import type { ClientTxUser } from '../transaction/client.ts';
import type { ServerTransaction } from '../transaction/server.ts';
import type { Endpoint } from '../transport/transport.ts';
import { INCOMING_INVITE_TRANSITIONS, IncomingInvite, type IncomingInviteHost } from './incoming-invite.ts';
import { InviteSession, SESSION_TRANSITIONS } from './invite-session.ts';
import { OUTGOING_INVITE_TRANSITIONS, OutgoingInvite } from './outgoing-invite.ts';

const T1 = 100;
const PEER: Endpoint = { transport: 'udp', address: '127.0.0.1', port: 5070 };

/** What a host of any role sees: the wire (sent, requests) and what the UA was told. */
function fakeHost() {
  const clock = new FakeClock();
  const wire: SipMessage[] = [];
  const requests: { req: SipRequest; user: ClientTxUser; cancelSent: boolean }[] = [];
  const forgotten: string[] = [];
  let branch = 0;
  const stack = {
    timers: { t1: T1, t2: 4 * T1, t4: 5 * T1 },
    send: (m: SipMessage) => wire.push(m),
    sendRequest: (req: SipRequest, _to: Endpoint, user: ClientTxUser) => {
      const r = { req, user, cancelSent: false };
      requests.push(r);
      return { cancelSent: () => (r.cancelSent = true) };
    },
  };
  const host: IncomingInviteHost & {
    sessionById(): undefined;
    logAuthFailure(): void;
  } = {
    stack: stack as unknown as SipStack,
    clock,
    log: pino({ level: 'silent' }),
    viaFor: () => `SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfake${++branch}`,
    contactFor: () => '<sip:agentline@127.0.0.1:5060>',
    forgetSession: (s) => forgotten.push(`session ${s.dialog.id}`),
    forgetInvite: (i) => forgotten.push(`invite ${i.callId}`),
    addSession: () => {},
    sessionById: () => undefined,
    logAuthFailure: () => {},
    response: ({ request }, status, toTag, sdp) =>
      buildResponse(request, status, {
        toTag,
        body: sdp === undefined ? undefined : Buffer.from(sdp),
        contentType: sdp === undefined ? undefined : 'application/sdp',
      }),
  };
  /** The method of the last request we sent and of the last message put on the wire. */
  const last = () => ({ request: requests.at(-1), wired: wire.at(-1) });
  return { clock, wire, requests, forgotten, host, last };
}

function parse(text: string): SipMessage {
  const r = parseMessage(Buffer.from(text));
  if (!r.ok) throw new Error(r.error);
  return r.message;
}

let calls = 0;
/** A request from the peer (7900) to us, `extra` header lines included. */
function inviteText(method = 'INVITE', ...extra: string[]): SipRequest {
  const head = [
    `${method} sip:9001@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKpeer${++calls}`,
    'From: <sip:7900@127.0.0.1>;tag=peer',
    'To: <sip:9001@127.0.0.1>',
    `Call-ID: machines-${calls}`,
    `CSeq: 1 ${method}`,
    'Contact: <sip:7900@127.0.0.1:5070>',
    ...extra,
    'Content-Length: 0',
  ];
  return parse(`${head.join('\r\n')}\r\n\r\n`) as SipRequest;
}

/** Moves the tests made, per table: each describe checks its table was walked whole. */
function recorder<S extends string>(table: TransitionTable<S>) {
  const seen = new Set<string>();
  return {
    watch: <T extends { onStateChange(l: (c: StateChange<S>) => void): unknown }>(flow: T): T => {
      flow.onStateChange((c) => seen.add(`${c.from}>${c.to}`));
      return flow;
    },
    check: () => expect([...seen].sort()).toEqual(allMoves(table).sort()),
  };
}

function incoming(h: ReturnType<typeof fakeHost>) {
  const request = inviteText();
  const responses: SipResponse[] = [];
  const tx = { respond: (res: SipResponse) => responses.push(res), responseTarget: PEER };
  const invite = new IncomingInvite(h.host, {
    request,
    source: PEER,
    tx: tx as unknown as ServerTransaction,
    via: parseVia(request.headers.find((x) => x.name === 'Via')?.value ?? '')!,
    cseq: parseCSeq('1 INVITE')!,
  });
  return { invite, responses, statuses: () => responses.map((r) => r.status) };
}

describe('IncomingInvite (INCOMING_INVITE_TRANSITIONS)', () => {
  const moves = recorder(INCOMING_INVITE_TRANSITIONS);

  it('pending → early → early: each provisional goes out', () => {
    const { invite, statuses } = incoming(fakeHost());
    moves.watch(invite).provisional(180);
    invite.provisional(183, 'v=0\r\n');
    expect(invite.state).toBe('early');
    expect(statuses()).toEqual([180, 183]);
  });

  it('pending → accepted → confirmed by the ACK; early → rejected; early → cancelled answers 487', async () => {
    const h = fakeHost();
    const { invite, statuses } = incoming(h);
    const accepted = moves.watch(invite).accept('v=0\r\n');
    expect(invite.state).toBe('accepted');
    invite.session!.acked(inviteText('ACK'));
    expect((await accepted)?.session.state).toBe('confirmed');
    expect(invite.state).toBe('confirmed');
    expect(statuses()).toEqual([200]);

    const rejected = incoming(h);
    moves.watch(rejected.invite).provisional(180);
    rejected.invite.reject(486);
    expect(rejected.invite.state).toBe('rejected');
    expect(rejected.statuses()).toEqual([180, 486]);

    const cancelled = incoming(h);
    let told = 0;
    cancelled.invite.onCancel = () => told++;
    moves.watch(cancelled.invite).provisional(180);
    cancelled.invite.cancelled();
    expect(cancelled.invite.state).toBe('cancelled');
    expect(cancelled.statuses()).toEqual([180, 487]);
    expect(told).toBe(1);
  });

  it('pending → rejected, pending → cancelled, early → accepted → failed when no ACK comes', async () => {
    const h = fakeHost();
    moves.watch(incoming(h).invite).reject(404);
    moves.watch(incoming(h).invite).cancelled();
    const { invite } = incoming(h);
    moves.watch(invite).provisional(180);
    const accepted = invite.accept('v=0\r\n');
    h.clock.advance(64 * T1);
    expect(await accepted).toBeUndefined();
    expect(invite.state).toBe('failed');
    expect(h.last().request?.req.method).toBe('BYE');
  });

  it('refuses to answer twice: accept after reject sends nothing and resolves undefined', async () => {
    const { invite, statuses } = incoming(fakeHost());
    invite.reject(603);
    expect(await invite.accept('v=0\r\n')).toBeUndefined();
    invite.provisional(180);
    expect(invite.state).toBe('rejected');
    expect(statuses()).toEqual([603]);
  });

  it('walked every move of the table', () => moves.check());
});

function session(h: ReturnType<typeof fakeHost>): InviteSession {
  const dialog = new Dialog({
    callId: `machines-session-${++calls}`,
    localTag: 'us',
    remoteTag: 'peer',
    localUri: '<sip:9001@127.0.0.1>',
    remoteUri: '<sip:7900@127.0.0.1>',
    remoteTarget: parseUri('sip:7900@127.0.0.1:5070')!,
    routeSet: [],
    localSeq: 1,
    remoteSeq: 1,
    flow: PEER,
    contact: '<sip:agentline@127.0.0.1:5060>',
  });
  return new InviteSession(h.host, dialog, 'uas');
}

describe('InviteSession (SESSION_TRANSITIONS)', () => {
  const moves = recorder(SESSION_TRANSITIONS);
  const ok = buildResponse(inviteText(), 200, { toTag: 'us' });

  it('confirmed → awaiting-ack → confirmed: the 2xx is resent at T1, 2T1 until the ACK, then no more', () => {
    const h = fakeHost();
    const s = moves.watch(session(h));
    const acks: (SipRequest | undefined)[] = [];
    s.retransmit2xx(ok, (ack) => acks.push(ack));
    expect(s.state).toBe('awaiting-ack');
    expect(s.live).toBe(true);
    h.clock.advance(T1 + 2 * T1);
    expect(h.wire).toHaveLength(2);
    s.acked(inviteText('ACK'));
    expect(s.state).toBe('confirmed');
    h.clock.advance(64 * T1);
    expect(h.wire).toHaveLength(2);
    expect(acks).toHaveLength(1);
    expect(h.clock.pending()).toBe(0);
  });

  it('awaiting-ack → terminating → terminated when no ACK comes: the waiter hears first, then the BYE', () => {
    const h = fakeHost();
    const s = moves.watch(session(h));
    const states: string[] = [];
    s.retransmit2xx(ok, () => states.push(s.state));
    h.clock.advance(64 * T1);
    expect(states).toEqual(['awaiting-ack']);
    expect(h.last().request?.req.method).toBe('BYE');
    expect(s.state).toBe('terminated');
    expect(h.forgotten).toEqual([`session ${s.dialog.id}`]);
  });

  it('awaiting-ack → terminated by a BYE that overtook the ACK: the retransmission stops', () => {
    const h = fakeHost();
    const s = moves.watch(session(h));
    const acks: (SipRequest | undefined)[] = [];
    s.retransmit2xx(ok, (ack) => acks.push(ack));
    s.end();
    expect(acks).toEqual([undefined]);
    expect(h.clock.pending()).toBe(0);
  });

  it('confirmed → terminating (our BYE) and confirmed → terminated (theirs); a dead dialog sends nothing', async () => {
    const h = fakeHost();
    const ours = moves.watch(session(h));
    const bye = ours.bye();
    expect(ours.state).toBe('terminated');
    h.last().request?.user.onResponse(buildResponse(h.last().request!.req, 200));
    await bye;
    const theirs = moves.watch(session(h));
    theirs.end();
    expect(theirs.state).toBe('terminated');
    const sent = h.requests.length;
    expect(await theirs.reinvite('v=0\r\n')).toBeUndefined();
    theirs.info('application/dtmf-relay', 'Signal=1');
    await theirs.bye();
    expect(h.requests).toHaveLength(sent);
  });

  it('awaiting-ack → terminating by our own BYE meanwhile', () => {
    const h = fakeHost();
    const s = moves.watch(session(h));
    s.retransmit2xx(ok, () => {});
    void s.bye();
    expect(s.state).toBe('terminated');
    expect(h.clock.pending()).toBe(0);
  });

  it('refuses a second 2xx while one awaits its ACK (the UA answers that re-INVITE 491)', () => {
    const h = fakeHost();
    const s = session(h);
    s.retransmit2xx(ok, () => {});
    const second: (SipRequest | undefined)[] = [];
    s.retransmit2xx(ok, (ack) => second.push(ack));
    expect(second).toEqual([undefined]);
    expect(s.state).toBe('awaiting-ack');
  });

  it('walked every move of the table', () => moves.check());
});

function outgoing(h: ReturnType<typeof fakeHost>, withAuth = false) {
  const out = new OutgoingInvite(
    h.host,
    inviteText('INVITE', 'Session-Expires: 90'),
    PEER,
    undefined,
    withAuth
      ? {
          label: 'trunk',
          client: {
            answer: () => ({ name: 'Authorization', value: 'Digest username="x"' }),
          } as never,
        }
      : undefined,
  );
  out.start();
  /** Our INVITE as the fake stack last got it, and a response to it. */
  const reply = (status: number, extra: [string, string][] = []): void => {
    const sent = h.requests.filter((r) => r.req.method === 'INVITE').at(-1)!;
    const res = buildResponse(sent.req, status, {
      toTag: status > 100 ? 'callee' : undefined,
      headers: extra.map(([name, value]) => ({ name, value })),
    });
    sent.user.onResponse(res);
  };
  const cancels = () => h.requests.filter((r) => r.req.method === 'CANCEL').length;
  return { out, reply, cancels };
}

describe('OutgoingInvite (OUTGOING_INVITE_TRANSITIONS)', () => {
  const moves = recorder(OUTGOING_INVITE_TRANSITIONS);

  it('calling → early → answered; calling → answered without a provisional', async () => {
    const h = fakeHost();
    const a = outgoing(h);
    moves.watch(a.out);
    a.reply(100);
    expect(a.out.responded).toBe(true);
    a.reply(180);
    a.reply(183);
    expect(a.out.state).toBe('early');
    a.reply(200);
    expect((await a.out.result).kind).toBe('answered');
    const b = outgoing(h);
    moves.watch(b.out);
    b.reply(200);
    expect(b.out.state).toBe('answered');
  });

  it('calling → failed (486 busy), early → failed (503), and calling → failed when nothing comes (Timer B)', async () => {
    const h = fakeHost();
    const busy = outgoing(h);
    moves.watch(busy.out);
    busy.reply(486);
    expect(await busy.out.result).toMatchObject({ kind: 'busy', status: 486 });
    const down = outgoing(h);
    moves.watch(down.out);
    down.reply(180);
    down.reply(503);
    expect(await down.out.result).toMatchObject({ kind: 'failed', status: 503 });
    const silent = outgoing(h);
    h.requests.at(-1)!.user.onTimeout();
    expect(await silent.out.result).toMatchObject({ kind: 'failed', status: 408 });
    expect(silent.out.responded).toBe(false);
  });

  it('calling → calling on a challenge (a new transaction with credentials), early → calling on a 422', () => {
    const h = fakeHost();
    const auth = outgoing(h, true);
    moves.watch(auth.out);
    auth.reply(401, [['WWW-Authenticate', 'Digest realm="x", nonce="y"']]);
    expect(auth.out.state).toBe('calling');
    expect(h.requests.filter((r) => r.req.method === 'INVITE')).toHaveLength(2);
    const small = outgoing(h);
    moves.watch(small.out);
    small.reply(180);
    small.reply(422, [['Min-SE', '120']]);
    expect(small.out.state).toBe('calling');
    expect(small.out.request.headers.find((x) => x.name === 'Session-Expires')?.value).toBe('120');
  });

  it('calling → cancel-pending → cancelling: the CANCEL waits for a provisional (§9.1), then → cancelled', async () => {
    const h = fakeHost();
    const { out, reply, cancels } = outgoing(h);
    moves.watch(out).cancel();
    expect(out.state).toBe('cancel-pending');
    expect(cancels()).toBe(0);
    reply(180);
    expect(out.state).toBe('cancelling');
    expect(cancels()).toBe(1);
    reply(487);
    expect(await out.result).toMatchObject({ kind: 'cancelled', status: 487 });
  });

  it('early → cancelling at once; cancel-pending → cancelled when the 200 crosses the CANCEL (ACKed, then BYE)', async () => {
    const h = fakeHost();
    const early = outgoing(h);
    moves.watch(early.out);
    early.reply(180);
    early.out.cancel();
    expect(early.out.state).toBe('cancelling');
    expect(early.cancels()).toBe(1);
    const crossed = outgoing(h);
    moves.watch(crossed.out).cancel();
    crossed.reply(200);
    expect(await crossed.out.result).toMatchObject({ kind: 'cancelled', status: 487 });
    expect(h.wire.at(-1)).toMatchObject({ kind: 'request', method: 'ACK' });
    expect(h.requests.at(-1)?.req.method).toBe('BYE');
  });

  it('refuses to leave a final state: a 486 after the 200 settles nothing else', async () => {
    const h = fakeHost();
    const { out, reply } = outgoing(h);
    reply(200);
    reply(486);
    out.cancel();
    expect(out.state).toBe('answered');
    expect((await out.result).kind).toBe('answered');
  });

  it('walked every move of the table', () => moves.check());
});
