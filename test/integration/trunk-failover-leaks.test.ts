/**
 * Trunk failover in CallEngine.dial leaves nothing behind on any branch: after
 * each outcome (failover then answer, every trunk failing, a silent trunk
 * skipped, a skipped trunk answering late, ring timeout, cancel before any
 * response and while the next trunk rings) there is no leg, no dialog, no RTP
 * port, no SIP transaction and no timer left. The "trunks" are test phones
 * (503, ring, answer) and a bare UDP socket that says nothing or answers late.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isCalleeFailure, type DialTarget, type Dialing } from '../../src/call/engine.ts';
import type { Server } from '../../src/server.ts';
import { parseUri } from '../../src/sip/message/uri.ts';
import type { TestPhone } from '../phone/phone.ts';
import { RawSip, eventually, phone, sleep, startServer } from './harness.ts';
import { SALES, agentId, makeReady, stateOf } from './acd-helpers.ts';

const NUMBER = '+79000000001';
const NO_RESPONSE_MS = 300;

const SDP_ANSWER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 9 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

/** A response to a raw request: its Via, From, To (tagged), Call-ID and CSeq, and `sdp` if given. */
function responseTo(request: string, status: number, reason: string, contactPort: number, sdp = ''): string {
  const lines = request.split('\r\n');
  const pick = (name: string): string[] =>
    lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  const to = pick('To')[0] ?? '';
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...pick('Via'),
    ...pick('From'),
    to.includes(';tag=') ? to : `${to};tag=late1`,
    ...pick('Call-ID'),
    ...pick('CSeq'),
    `Contact: <sip:trunk@127.0.0.1:${contactPort}>`,
    ...(sdp ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(sdp)}`,
    '',
    sdp,
  ].join('\r\n');
}

describe('trunk failover leaves nothing behind', () => {
  let server: Server;
  const closers: (() => unknown)[] = [];

  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    await server?.stop();
  });

  async function start(): Promise<void> {
    server = await startServer({ sipT1: 25, trunkNoResponseMs: NO_RESPONSE_MS });
    // Idle: the only timers are the agent-state machine's own.
    expect(server.clock.pending()).toBe(server.agentStates.pendingTimers());
  }

  async function trunkPhone(name: string): Promise<TestPhone> {
    const p = await phone({ number: name });
    closers.push(() => p.close());
    return p;
  }

  async function silentTrunk(): Promise<RawSip> {
    const raw = await RawSip.open();
    closers.push(() => raw.close());
    return raw;
  }

  const target = (name: string, port: number): DialTarget => {
    const uri = parseUri(`sip:${NUMBER}@127.0.0.1:${port}`);
    if (!uri) throw new Error('bad uri');
    return { uri, destination: { transport: 'udp', address: '127.0.0.1', port }, trunk: name };
  };

  const dial = (targets: DialTarget[], timeoutMs = 8000, onProgress?: () => void): Promise<Dialing> =>
    server.engine.dial({ targets, callerId: { user: '+79161234567' }, timeoutMs, onProgress });

  async function nothingLeft(): Promise<void> {
    await eventually(() => server.engine.activeLegs === 0, 5000, 'legs released');
    await eventually(() => server.ua.sessionCount === 0, 5000, 'dialogs gone');
    expect(server.pool.free).toBe(server.pool.capacity);
    // Timer B of a never-answered INVITE is 64·T1 = 1.6 s here.
    await eventually(() => server.stack.activeTransactions === 0, 8000, 'SIP transactions done');
    await eventually(
      () => server.clock.pending() === server.agentStates.pendingTimers(),
      5000,
      'no timers left',
    );
  }

  it('503 from the first trunk, the second answers: one leg throughout; nothing left after the hang-up', async () => {
    await start();
    const a = await trunkPhone('trunk-a');
    const b = await trunkPhone('trunk-b');
    const dialing = await dial([target('a', a.sipPort), target('b', b.sipPort)]);
    (await a.nextIncoming(5000, NUMBER)).reject(503, 'Service Unavailable');
    const call = await b.answer(await b.nextIncoming(5000, NUMBER));
    const result = await dialing.result;
    expect(result.kind).toBe('answered');
    expect(server.engine.activeLegs).toBe(1);
    await call.hangup();
    await nothingLeft();
  });

  it('every trunk fails (503, 503): failed, nothing left', async () => {
    await start();
    const a = await trunkPhone('trunk-a');
    const b = await trunkPhone('trunk-b');
    const dialing = await dial([target('a', a.sipPort), target('b', b.sipPort)]);
    (await a.nextIncoming(5000, NUMBER)).reject(503, 'Service Unavailable');
    (await b.nextIncoming(5000, NUMBER)).reject(503, 'Service Unavailable');
    expect(await dialing.result).toMatchObject({ kind: 'failed', status: 503 });
    await nothingLeft();
  });

  it('a silent first trunk is skipped and the second answers; the first INVITE transaction ends on its own', async () => {
    await start();
    const silent = await silentTrunk();
    const b = await trunkPhone('trunk-b');
    const dialing = await dial([target('silent', silent.port), target('b', b.sipPort)]);
    const call = await b.answer(await b.nextIncoming(5000, NUMBER));
    expect((await dialing.result).kind).toBe('answered');
    await silent.waitFor(/^INVITE /);
    await call.hangup();
    await nothingLeft();
  });

  it('a skipped trunk that answers late: its 200 is ACKed and hung up at once, the second trunk keeps the call', async () => {
    await start();
    const late = await silentTrunk();
    const b = await trunkPhone('trunk-b');
    const dialing = await dial([target('late', late.port), target('b', b.sipPort)]);
    const inv = await b.nextIncoming(5000, NUMBER); // the first was skipped
    const invite = await late.waitFor(/^INVITE /);
    late.received.length = 0;
    late.send(responseTo(invite, 200, 'OK', late.port), server.sipPort);
    await late.waitFor(/^ACK /);
    const bye = await late.waitFor(/^BYE /);
    late.send(responseTo(bye, 200, 'OK', late.port), server.sipPort);
    const call = await b.answer(inv);
    expect((await dialing.result).kind).toBe('answered');
    await eventually(() => server.ua.sessionCount === 1, 5000, 'only the second trunk dialog');
    await call.hangup();
    await nothingLeft();
  });

  it('a slow last trunk is not given up at the no-response time: it still answers after a 503 from the first', async () => {
    await start();
    const a = await trunkPhone('trunk-a');
    const slow = await silentTrunk();
    const dialing = await dial([target('a', a.sipPort), target('slow', slow.port)]);
    (await a.nextIncoming(5000, NUMBER)).reject(503, 'Service Unavailable');
    const invite = await slow.waitFor(/^INVITE /);
    // Well past the no-response time, still inside the ring time and Timer B (1.6 s).
    await sleep(2 * NO_RESPONSE_MS);
    slow.received.length = 0;
    slow.send(responseTo(invite, 200, 'OK', slow.port, SDP_ANSWER), server.sipPort);
    const result = await dialing.result;
    expect(result.kind).toBe('answered');
    await slow.waitFor(/^ACK /);
    if (result.kind === 'answered') void result.leg.hangup();
    const bye = await slow.waitFor(/^BYE /);
    slow.send(responseTo(bye, 200, 'OK', slow.port), server.sipPort);
    await nothingLeft();
  });

  it('ring timeout on the second trunk after a 503: CANCEL, no_answer, nothing left', async () => {
    await start();
    const a = await trunkPhone('trunk-a');
    const b = await trunkPhone('trunk-b');
    const dialing = await dial([target('a', a.sipPort), target('b', b.sipPort)], 1500);
    (await a.nextIncoming(5000, NUMBER)).reject(503, 'Service Unavailable');
    const inv = await b.nextIncoming(5000, NUMBER);
    inv.provisional(180);
    expect(await dialing.result).toMatchObject({ kind: 'no_answer' });
    await eventually(() => inv.state === 'cancelled', 3000, 'second INVITE cancelled');
    await nothingLeft();
  });

  it('one silent trunk until its INVITE times out (Timer B before the ring timeout): failed, not the callee no_answer', async () => {
    await start();
    const silent = await silentTrunk();
    // 64·T1 = 1.6 s here; in production 32 s, shorter than a ringSeconds of 40.
    const dialing = await dial([target('silent', silent.port)], 20_000);
    const result = await dialing.result;
    expect(result).toMatchObject({ kind: 'failed', status: 408 });
    // Not the called party's doing: an agent must not be sent on a break for it.
    expect(isCalleeFailure(result)).toBe(false);
    await nothingLeft();
  });

  it('an offer over a trunk that never answers (Timer B): the agent is not blamed, the customer stays queued', async () => {
    const silent = await silentTrunk();
    server = await startServer({ sipT1: 25, trunk: `sip:127.0.0.1:${silent.port}` });
    await makeReady(server, '1001');
    const customer = await phone({ number: '+79161234567' });
    closers.push(() => customer.close());
    const call = await customer.call(SALES, { port: server.sipPort });
    const id = await agentId(server, '1001');
    await eventually(
      async () =>
        (await server.store.agentStates.listStateHistory({ agentId: id })).some(
          (r) => r.reason === 'offer_failed:failed',
        ),
      8000,
      'the offer failed',
    );
    expect(await stateOf(server, '1001')).toBe('ready');
    // The history row is written before the call goes back from offering to queued.
    await eventually(
      () => server.acd.liveCalls.map((c) => c.state).join() === 'queued',
      3000,
      'the customer queued again',
    );
    await call.hangup();
    await nothingLeft();
  });

  it('cancelled before the first trunk said anything: cancelled, nothing left (the INVITE times out)', async () => {
    await start();
    const silent = await silentTrunk();
    const b = await trunkPhone('trunk-b');
    const dialing = await dial([target('silent', silent.port), target('b', b.sipPort)]);
    await silent.waitFor(/^INVITE /);
    dialing.cancel();
    expect(await dialing.result).toMatchObject({ kind: 'cancelled' });
    await nothingLeft();
    // The second trunk was never tried.
    expect(b.unclaimedIncoming).toHaveLength(0);
  });

  it('cancelled while the second trunk rings after a 503: CANCEL, cancelled, nothing left', async () => {
    await start();
    const a = await trunkPhone('trunk-a');
    const b = await trunkPhone('trunk-b');
    let ringing = false;
    const dialing = await dial(
      [target('a', a.sipPort), target('b', b.sipPort)],
      8000,
      () => (ringing = true),
    );
    (await a.nextIncoming(5000, NUMBER)).reject(503, 'Service Unavailable');
    const inv = await b.nextIncoming(5000, NUMBER);
    inv.provisional(180);
    await eventually(() => ringing, 3000, '180 from the second trunk');
    dialing.cancel();
    expect(await dialing.result).toMatchObject({ kind: 'cancelled' });
    await eventually(() => inv.state === 'cancelled', 3000, 'second INVITE cancelled');
    await nothingLeft();
  });
});
