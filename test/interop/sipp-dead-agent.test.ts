/**
 * Dead calls with a real phone that dies (issue 10, Done when): sipp plays agent 1001's phone
 * behind the trunk (answers, echoes the RTP it gets) and is killed with SIGKILL mid-call, so
 * no BYE and no RTP ever come again. Within --rtp-timeout-seconds the server ends that leg,
 * 1001 is free, and the customer (a test phone) goes back to the head of the queue and is
 * connected to agent 1002 (a SIP phone registered with us): they hear each other.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { eventually, phone, startServer } from '../integration/harness.ts';
import { SALES, agentId, makeReady, stateOf, waitConnected } from '../integration/acd-helpers.ts';
import {
  LOOPBACK,
  finishSuite,
  freePortBlock,
  killAll,
  requireTool,
  startSipp,
  tempDir,
  waitUdpBound,
} from './tools.ts';

const CUSTOMER = '+79161234567'; // checked by uas-agent-phone.xml
const TIMEOUT_S = 2;

describe('sipp: an agent phone killed mid-call (kill -9)', () => {
  let sipp: string;
  let server: Server | undefined;
  const phones: TestPhone[] = [];

  beforeAll(() => {
    sipp = requireTool('sipp', 'sip-tester');
  });

  afterEach(async () => {
    await killAll();
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await server?.stop();
    server = undefined;
  });

  afterAll(finishSuite);

  it('frees the agent and connects the customer to the next agent within the RTP timeout', async () => {
    const uasPorts = await freePortBlock(8);
    server = await startServer({ trunk: `sip:${LOOPBACK}:${uasPorts}`, rtpTimeoutSeconds: TIMEOUT_S });
    const srv = server;
    const id1001 = await agentId(srv, '1001');
    const id1002 = await agentId(srv, '1002');

    // Agent 1002 works from a SIP phone registered with us (not behind the sipp trunk).
    await srv.store.directory.createSipAccount('agent1002', 'secret-1002', 'agentline', id1002);
    await srv.store.directory.updateAgent(id1002, { contact: 'sip:agent1002' });
    await srv.loadSipCredentials();
    const desk = await phone({ number: 'agent1002' });
    phones.push(desk);
    expect(await desk.register('agent1002', 'secret-1002', { port: srv.sipPort })).toBe(200);

    const dir = tempDir('sipp-dead-agent');
    const uas = startSipp(sipp, {
      scenario: 'uas-agent-phone.xml',
      cwd: dir,
      portBase: uasPorts,
      rtpEcho: true,
      name: 'agent-uas',
    });
    await waitUdpBound(uas.sipPort, 5000, uas.proc);
    await makeReady(srv, '1001');

    const cust = await phone({ number: CUSTOMER });
    phones.push(cust);
    const custCall = await cust.call(SALES, { port: srv.sipPort });
    custCall.send(new SineSource(1000, 4000));
    await waitConnected(srv, '1001', 10_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${uas.report()}`);
    });
    // The agent phone is alive: it echoes the customer's tone.
    await custCall.waitForTone(1000, 5000, 200);

    // 1002 may take calls only now; then 1001's phone dies without a word.
    await srv.agentStates.transition(id1002, 'ready', { reason: 'test', source: 'api' });
    uas.proc.child.kill('SIGKILL');
    expect((await uas.proc.exited).signal).toBe('SIGKILL');

    const inv = await desk.nextIncoming(20_000);
    expect(inv.caller.user).toBe(CUSTOMER);
    const deskCall = await desk.answer(inv);
    deskCall.send(new SineSource(1400, 4000));
    await waitConnected(srv, '1002');
    await deskCall.waitForTone(1000, 5000, 200);
    await custCall.recorder.waitFor(
      () => custCall.recorder.heardTone(1400, 200),
      5000,
      'customer hears 1002',
    );
    expect(custCall.state).toBe('up');
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
    await eventually(
      async () => (await srv.store.calls.getCdr(cdr.id))?.outcome === 'answered',
      5000,
      'CDR closed',
    );
    expect((await srv.store.calls.getCdr(cdr.id))?.agentIds).toEqual([id1001, id1002]);
    await eventually(() => srv.engine.activeLegs === 0, 5000, 'legs released');
  }, 60_000);
});
