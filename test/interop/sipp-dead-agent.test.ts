/**
 * Dead calls with a real phone that dies (issue 10, Done when): sipp plays agent 1001's phone
 * behind the trunk (answers, echoes the RTP it gets) and is killed with SIGKILL mid-call, so
 * no BYE and no RTP ever come again. Within --rtp-timeout-seconds the server ends that leg,
 * 1001 is free, and the customer (a test phone) goes back to the head of the queue and is
 * connected to agent 1002 (a SIP phone registered with us): they hear each other.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../integration/harness.ts';
import { agentId, stateOf, waitCdrOutcome } from '../integration/acd-helpers.ts';
import { CUSTOMER_HZ, deskTakesOver, sippSuite } from './sipp.ts';

const CUSTOMER = '+79161234567'; // checked by uas-agent-phone.xml
const TIMEOUT_S = 2;

describe('sipp: an agent phone killed mid-call (kill -9)', () => {
  const suite = sippSuite();

  it('frees the agent and connects the customer to the next agent within the RTP timeout', async () => {
    const { server: srv, uasPorts } = await suite.startBehindTrunk({ rtpTimeoutSeconds: TIMEOUT_S });
    const id1001 = await agentId(srv, '1001');
    const id1002 = await agentId(srv, '1002');

    // Agent 1002 works from a SIP phone registered with us (not behind the sipp trunk).
    const desk = await suite.registeredAgentPhone(srv, '1002');

    // The agent phone is alive: it echoes the customer's tone.
    const { uas, custCall } = await suite.customerOnSippAgent(srv, {
      uas: { scenario: 'uas-agent-phone.xml', dirPrefix: 'sipp-dead-agent' },
      uasPorts,
      customer: CUSTOMER,
      toneMs: 4000,
      echoed: true,
    });

    // 1002 may take calls only now; then 1001's phone dies without a word.
    await srv.agentStates.transition(id1002, 'ready', { reason: 'test', source: 'api' });
    uas.proc.child.kill('SIGKILL');
    expect((await uas.proc.exited).signal).toBe('SIGKILL');

    const deskCall = await deskTakesOver(srv, desk, custCall, {
      caller: CUSTOMER,
      timeoutMs: 20_000,
      toneMs: 4000,
    });
    await deskCall.waitForTone(CUSTOMER_HZ, 5000, 200);
    expect(await stateOf(srv, '1001')).not.toBe('busy');

    const cdr = (await srv.store.calls.listCdr())[0]!;
    const events = await srv.store.calls.listQueueEvents(cdr.id);
    expect(events.map((e) => [e.kind, e.agentId])).toContainEqual(['complete_agent', id1001]);
    expect(events.find((e) => e.kind === 'complete_agent')?.detail).toBe(
      JSON.stringify({ reason: 'media_timeout' }),
    );
    expect(events.at(-1)).toMatchObject({ kind: 'connect', agentId: id1002 });

    await custCall.hangup();
    expect(await deskCall.ended).toBe('remote');
    await waitCdrOutcome(srv, 'answered', { cdrId: cdr.id });
    expect((await srv.store.calls.getCdr(cdr.id))?.agentIds).toEqual([id1001, id1002]);
    await eventually(() => srv.engine.activeLegs === 0, 5000, 'legs released');
  }, 60_000);
});
