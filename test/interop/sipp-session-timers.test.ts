/**
 * SIP session timers (RFC 4028, issue 10 "Done when": a peer that stops answering
 * re-INVITEs/UPDATEs loses its call) over real sockets with sipp.
 *
 * RFC 4028 sets Min-SE at 90 s at the least, so an expiry would take a minute or more
 * per test; the server takes a 4 s policy here instead (ServerDeps.sessionTimer, tests
 * only — the CLI cannot go below 90 s). Nothing is timed: each test waits for the
 * events (sipp's messages, the ACD state, the CDR) that the expiry causes.
 *
 * (a) a sipp customer that asks for Session-Expires: 4;refresher=uac, refreshes by
 *     UPDATE a few times while connected to agent 1002 (a registered test phone),
 *     then stops: the server sends BYE, the CDR says `session_expired`, 1002 is freed;
 * (b) agent 1001's sipp phone (behind the trunk) grants refresher=uac to us, allows no
 *     UPDATE, answers our first refresh re-INVITE and no more: its leg is hung up, the
 *     customer goes back to the head of the queue and is connected to 1002;
 * (c) the same phone allowing UPDATE and answering every refresh keeps its call past
 *     several intervals, until the customer hangs up.
 */
import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { TestPhone } from '../phone/phone.ts';
import { eventually, startServer } from '../integration/harness.ts';
import { SALES, agentId, stateOf, waitCdrOutcome, waitConnected } from '../integration/acd-helpers.ts';
import { CLEAN_EXIT, freePortBlock, startSipp, tempDir } from './tools.ts';
import { deskTakesOver, sippSuite, withReport } from './sipp.ts';

const CUSTOMER = '+79161234567';
/** 4 s sessions (see above); 2 s refreshes; the non-refresher gives up at 4 − 4/3 s. */
const FAST_TIMER = { intervalS: 4, minSeS: 4 };

/** The requests of one method sipp logged as received (its message log). */
function received(messages: string, method: string): string[] {
  return messages
    .split(/-{10,}[^\n]*\n/)
    .filter((m) => /^\w+ message received/.test(m))
    .map((m) => m.slice(m.indexOf(`${method} sip:`)))
    .filter((m) => m.startsWith(`${method} sip:`));
}

describe('sipp: SIP session timers (RFC 4028)', () => {
  const suite = sippSuite();

  /** Agent 1002 on a SIP phone registered with us (not behind the sipp trunk). */
  const deskAgent = (srv: Server): Promise<TestPhone> => suite.registeredAgentPhone(srv, '1002');

  it('(a) a customer that stops refreshing is hung up as session_expired and the agent is freed', async () => {
    // No RTP watchdog: only the session timer may end this call.
    const srv = (suite.server = await startServer({ rtpTimeoutSeconds: 0, sessionTimer: FAST_TIMER }));
    const id1002 = await agentId(srv, '1002');
    const desk = await deskAgent(srv);
    await srv.agentStates.transition(id1002, 'ready', { reason: 'test', source: 'api' });

    const dir = tempDir('sipp-session-timer-customer');
    const uac = startSipp(suite.sipp, {
      scenario: 'uac-customer-session-timer.xml',
      cwd: dir,
      remotePort: srv.sipPort,
      service: SALES,
      portBase: await freePortBlock(8),
      name: 'customer-uac',
    });
    const inv = await desk.nextIncoming(10_000);
    expect(inv.caller.user).toBe(CUSTOMER);
    const deskCall = await desk.answer(inv);
    await withReport(waitConnected(srv, '1002'), uac);

    // sipp refreshes four times, then falls silent; it exits 0 only if it got our BYE.
    const exit = await uac.finish(30_000);
    expect(exit, uac.report()).toEqual(CLEAN_EXIT);
    expect(received(uac.messages(), 'BYE')).toHaveLength(1);
    expect(await deskCall.ended).toBe('remote');
    const cdr = (await srv.store.calls.listCdr())[0]!;
    await waitCdrOutcome(srv, 'session_expired', { cdrId: cdr.id });
    expect((await srv.store.calls.getCdr(cdr.id))?.agentIds).toEqual([id1002]);
    await eventually(async () => (await stateOf(srv, '1002')) !== 'busy', 5000, '1002 freed');
    await eventually(() => srv.engine.activeLegs === 0, 5000, 'legs released');
  }, 60_000);

  it('(b) an agent phone that stops answering our refresh re-INVITE loses the call; the customer goes back to the queue', async () => {
    const { server: srv, uasPorts } = await suite.startBehindTrunk({
      rtpTimeoutSeconds: 0,
      sessionTimer: FAST_TIMER,
    });
    const id1001 = await agentId(srv, '1001');
    const id1002 = await agentId(srv, '1002');
    const desk = await deskAgent(srv);

    const { uas, custCall } = await suite.customerOnSippAgent(srv, {
      uas: { scenario: 'uas-agent-deaf-refresh.xml', dirPrefix: 'sipp-session-timer-deaf' },
      uasPorts,
      customer: CUSTOMER,
      toneMs: 30_000,
      echoed: true,
    });
    // 1002 may take calls only now, so that the customer can only reach them after 1001's leg died.
    await srv.agentStates.transition(id1002, 'ready', { reason: 'test', source: 'api' });

    const deskCall = await deskTakesOver(srv, desk, custCall, {
      caller: CUSTOMER,
      timeoutMs: 30_000,
      toneMs: 30_000,
    });

    // The deaf phone got its BYE (sipp exits 0 only then) after at least two refreshes.
    expect(await uas.finish(30_000), uas.report()).toEqual(CLEAN_EXIT);
    const invites = received(uas.messages(), 'INVITE');
    expect(invites.length, uas.report()).toBeGreaterThanOrEqual(3);
    // A refresh re-INVITE carries the very SDP of the initial offer: same o= line (version unchanged).
    const origin = (m: string): string | undefined => /^o=.*$/m.exec(m)?.[0];
    expect(origin(invites[1]!)).toBe(origin(invites[0]!));
    expect(invites[1]).toMatch(/Session-Expires: 4;refresher=uac/);
    expect(await stateOf(srv, '1001')).not.toBe('busy');

    const cdr = (await srv.store.calls.listCdr())[0]!;
    const events = await srv.store.calls.listQueueEvents(cdr.id);
    expect(events.find((e) => e.kind === 'complete_agent' && e.agentId === id1001)?.detail).toBe(
      JSON.stringify({ reason: 'session_expired' }),
    );
    expect(events.at(-1)).toMatchObject({ kind: 'connect', agentId: id1002 });

    await custCall.hangup();
    expect(await deskCall.ended).toBe('remote');
    await waitCdrOutcome(srv, 'answered', { cdrId: cdr.id });
    expect((await srv.store.calls.getCdr(cdr.id))?.agentIds).toEqual([id1001, id1002]);
    await eventually(() => srv.engine.activeLegs === 0, 5000, 'legs released');
  }, 90_000);

  it('(c) an agent phone that answers every refresh UPDATE keeps its call past several intervals', async () => {
    const { server: srv, uasPorts } = await suite.startBehindTrunk({
      rtpTimeoutSeconds: 0,
      sessionTimer: FAST_TIMER,
    });
    const { uas, custCall } = await suite.customerOnSippAgent(srv, {
      uas: { scenario: 'uas-agent-refreshes.xml', dirPrefix: 'sipp-session-timer-alive', timeoutS: 60 },
      uasPorts,
      customer: CUSTOMER,
      toneMs: 60_000,
    });

    // Six refreshes answered = three whole 4 s intervals.
    await eventually(() => received(uas.messages(), 'UPDATE').length >= 6, 40_000, 'six refresh UPDATEs');
    const updates = received(uas.messages(), 'UPDATE');
    expect(updates[0]).toMatch(/Session-Expires: 4;refresher=uac/);
    expect(updates[0]).toMatch(/Content-Length: 0/);
    // Still talking: the customer hears the agent phone's echo, 1001 is busy.
    expect(custCall.state).toBe('up');
    await waitConnected(srv, '1001', 1000);
    custCall.recorder.clear();
    await custCall.waitForTone(1000, 5000, 200);

    await custCall.hangup();
    expect(await uas.finish(10_000), uas.report()).toEqual(CLEAN_EXIT);
    const cdr = (await srv.store.calls.listCdr())[0]!;
    await waitCdrOutcome(srv, 'answered', { cdrId: cdr.id });
    await eventually(() => srv.engine.activeLegs === 0, 5000, 'legs released');
  }, 90_000);
});
