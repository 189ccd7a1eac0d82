import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { promptPath } from '../../src/call/prompts.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { SERVICE, api, eventually, phone, sleep } from './harness.ts';
import {
  SALES,
  SUPPORT,
  agentId,
  answerAgent,
  makeReady,
  setState,
  stateOf,
  waitConnected,
  waitState,
  startWithTrunk,
  useCallRig,
  deskHearsCustomer,
} from './acd-helpers.ts';
import { TestClock } from './test-clock.ts';

const ru = (id: Parameters<typeof promptPath>[1]): string => promptPath('ru', id);

describe('call distribution', () => {
  let server: Server;
  let trunk: TestPhone;
  const rig = useCallRig({ expectNoLiveCalls: true });
  const customer = (number = '+79161234567'): Promise<TestPhone> => rig.phone(number);
  const setup = async (o: Parameters<typeof startWithTrunk>[0] = {}): Promise<void> => {
    ({ server, trunk } = await rig.startWithTrunk(o));
  };

  it('delivers a hotline call to the ready agent with the caller id, whispers, and bridges audio both ways', async () => {
    await setup();
    await makeReady(server, '1001');
    const c = await customer('+79161234567');
    const custCall = await c.call(SALES, { port: server.sipPort });
    const { call: agentCall, invite } = await answerAgent(trunk, '1001');
    expect(invite.caller.user).toBe('+79161234567');
    // Whisper: department 101, to the agent only.
    await agentCall.waitForPrompt(ru('digit_1'));
    await waitState(server, '1001', 'busy');
    custCall.send(new SineSource(1000, 8000));
    agentCall.send(new SineSource(600, 8000));
    await agentCall.waitForTone(1000, 5000, 200);
    await custCall.waitForTone(600, 5000, 200);
    expect(custCall.recorder.heardPrompt(ru('digit_1'))).toBe(false);
    await custCall.hangup();
    expect(await agentCall.ended).toBe('remote');
    await waitState(server, '1001', 'ready');
    const { body } = await api<{ calls: { outcome: string; agentLogins: string[]; hotline: string }[] }>(
      server,
      '/api/v1/calls',
    );
    expect(body.calls[0]).toMatchObject({
      outcome: 'answered',
      hotline: SALES,
      agentLogins: ['1001'],
    });
    const events = await server.store.calls.listQueueEvents((await server.store.calls.listCdr())[0]!.id);
    expect(events.map((e) => e.kind)).toEqual(['enter', 'offer', 'connect', 'complete_customer']);
  });

  it('the agent hanging up ends the customer call (complete by agent)', async () => {
    await setup();
    await makeReady(server, '1001');
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    const { call: agentCall } = await answerAgent(trunk, '1001');
    await waitState(server, '1001', 'busy');
    await sleep(1500);
    await agentCall.hangup();
    expect(await custCall.ended).toBe('remote');
    const cdr = (await server.store.calls.listCdr())[0]!;
    expect((await server.store.calls.listQueueEvents(cdr.id)).at(-1)?.kind).toBe('complete_agent');
  });

  it('longest_idle offers the call to the agent ready the longest', async () => {
    await setup();
    await makeReady(server, '1002');
    await sleep(50);
    await makeReady(server, '1001');
    const c = await customer();
    await c.call(SALES, { port: server.sipPort });
    const { call } = await answerAgent(trunk, '1002');
    expect(await stateOf(server, '1001')).toBe('ready');
    await waitConnected(server, '1002');
    await call.hangup();
  });

  it('priority offers the call to the agent with the better priority first', async () => {
    await setup();
    const support = (await server.store.directory.getDepartmentByCode(1, '102'))!;
    await server.store.directory.updateDepartment(support.id, { strategy: 'priority' });
    await makeReady(server, '1002'); // priority 2 in 102, ready longer
    await sleep(50);
    await makeReady(server, '1003'); // priority 1
    const c = await customer();
    await c.call(SUPPORT, { port: server.sipPort });
    const { call } = await answerAgent(trunk, '1003');
    await waitConnected(server, '1003');
    await call.hangup();
  });

  it('round_robin goes to the next agent each time', async () => {
    await setup();
    const sales = (await server.store.directory.getDepartmentByCode(1, '101'))!;
    await server.store.directory.updateDepartment(sales.id, { strategy: 'round_robin' });
    await makeReady(server, '1001');
    await makeReady(server, '1002');
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await customer(`+7916000000${i}`);
      const cc = await c.call(SALES, { port: server.sipPort });
      const inv = await trunk.nextIncoming(5000);
      order.push(inv.calledUser);
      const ac = await trunk.answer(inv);
      await waitConnected(server, inv.calledUser === '+79000000001' ? '1001' : '1002');
      await ac.hangup();
      await cc.ended;
      await waitState(server, inv.calledUser === '+79000000001' ? '1001' : '1002', 'ready');
    }
    expect(order).toEqual(['+79000000001', '+79000000002', '+79000000001']);
  });

  it('no answer: the agent becomes temporarily_not_ready (no_answer) and the next agent is tried', async () => {
    await setup();
    await server.store.directory.updateCompanySettings(1, { ringSeconds: 5 });
    await makeReady(server, '1001');
    await sleep(50);
    await makeReady(server, '1002');
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    const first = await trunk.nextIncoming(5000, '+79000000001');
    first.provisional(180); // rings, nobody answers
    const { call } = await answerAgent(trunk, '1002', 10_000);
    expect(first.state).toBe('cancelled');
    expect(await stateOf(server, '1001')).toBe('temporarily_not_ready');
    const last = (
      await server.store.agentStates.listStateHistory({
        agentId: await agentId(server, '1001'),
        newestFirst: true,
        limit: 1,
      })
    )[0];
    expect(last?.reason).toBe('no_answer');
    custCall.send(new SineSource(900, 8000));
    await call.waitForTone(900, 5000, 200);
    await call.hangup();
  });

  it('a busy agent phone (486) sends the call to the next agent', async () => {
    await setup();
    await makeReady(server, '1001');
    await sleep(50);
    await makeReady(server, '1002');
    const c = await customer();
    await c.call(SALES, { port: server.sipPort });
    const first = await trunk.nextIncoming(5000, '+79000000001');
    first.reject(486, 'Busy Here');
    const { call } = await answerAgent(trunk, '1002');
    expect(await stateOf(server, '1001')).toBe('temporarily_not_ready');
    await waitConnected(server, '1002');
    await call.hangup();
  });

  it('a customer who hangs up while queued is recorded as abandoned', async () => {
    await setup();
    await makeReady(server, '1001');
    await setState(server, '1001', 'not_ready'); // logged in, not taking calls
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    await sleep(1200);
    expect(custCall.recorder.level(500)).toBeGreaterThan(0); // music on hold
    await custCall.hangup();
    await eventually(
      async () => (await server.store.calls.listCdr())[0]?.outcome === 'abandoned',
      3000,
      'abandoned CDR',
    );
  });

  it('a customer who hangs up while the agent phone rings: the agent leg is cancelled and the agent is ready again', async () => {
    await setup();
    await makeReady(server, '1001');
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    const inv = await trunk.nextIncoming(5000, '+79000000001');
    inv.provisional(180);
    await waitState(server, '1001', 'offered');
    await custCall.hangup();
    await eventually(() => inv.state === 'cancelled', 3000, 'agent INVITE cancelled');
    await waitState(server, '1001', 'ready');
  });

  it('an agent who makes themselves ready in the service IVR gets the waiting call once they leave it', async () => {
    await setup();
    await makeReady(server, '1001');
    await setState(server, '1001', 'not_ready'); // logged in: the customer queues
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    await sleep(500);
    // The agent calls the service number from their own phone, presses 0 (ready), then * (leave).
    const mobile = await rig.phone('+79000000001');
    const ivr = await mobile.call(SERVICE, { port: server.sipPort });
    await ivr.waitForPrompt(ru('enter_pin'));
    ivr.sendDtmf('2580#');
    await ivr.waitForPrompt(ru('main_menu'), 8000);
    ivr.sendDtmf('0');
    await ivr.waitForPrompt(ru('state_ready'), 8000);
    await ivr.waitForPrompt(ru('main_menu'), 8000);
    ivr.sendDtmf('*');
    expect(await ivr.ended).toBe('remote');
    // Ready and out of the menu: the waiting customer is offered to them.
    const { call } = await answerAgent(trunk, '1001', 5000);
    await waitConnected(server, '1001');
    await call.hangup();
    await custCall.ended;
  });

  it('max wait expiring while the agent hears the whisper does not take the call away', async () => {
    await setup();
    const sales = (await server.store.directory.getDepartmentByCode(1, '101'))!;
    await server.store.directory.updateDepartment(sales.id, { maxWaitSeconds: 1 });
    await makeReady(server, '1001');
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    const inv = await trunk.nextIncoming(5000, '+79000000001');
    inv.provisional(180);
    await sleep(700);
    const agentCall = await trunk.answer(inv);
    // The whisper (1, 0, 1) outlasts the rest of the 1 s max wait.
    await agentCall.waitForPrompt(ru('digit_1'), 4000);
    await waitConnected(server, '1001', 6000);
    await sleep(1000);
    expect(custCall.recorder.heardPrompt(ru('no_agents'))).toBe(false);
    custCall.send(new SineSource(1000, 4000));
    await agentCall.waitForTone(1000, 4000, 200);
    await custCall.hangup();
    await agentCall.ended;
    const cdr = (await server.store.calls.listCdr())[0]!;
    expect(cdr.outcome).toBe('answered');
  });

  it('overflows by wait time: message and hang-up', async () => {
    await setup();
    const sales = (await server.store.directory.getDepartmentByCode(1, '101'))!;
    await server.store.directory.updateDepartment(sales.id, { maxWaitSeconds: 2 });
    await makeReady(server, '1001');
    await setState(server, '1001', 'not_ready');
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    await custCall.waitForPrompt(ru('no_agents'), 6000);
    expect(await custCall.ended).toBe('remote');
    await eventually(
      async () => (await server.store.calls.listCdr())[0]?.outcome === 'overflow',
      3000,
      'overflow CDR',
    );
  });

  it('overflows by queue length into another department', async () => {
    await setup();
    const sales = (await server.store.directory.getDepartmentByCode(1, '101'))!;
    await server.store.directory.updateDepartment(sales.id, {
      maxQueueLength: 1,
      overflow: { kind: 'department', code: '102' },
    });
    await makeReady(server, '1001');
    await setState(server, '1001', 'not_ready');
    await makeReady(server, '1003');
    await setState(server, '1003', 'not_ready');
    const first = await (await customer('+79160000001')).call(SALES, { port: server.sipPort });
    await sleep(300);
    const second = await (await customer('+79160000002')).call(SALES, { port: server.sipPort });
    await sleep(300);
    const support = (await server.store.directory.getDepartmentByCode(1, '102'))!;
    expect(server.acd.waiting(sales.id)).toHaveLength(1);
    expect(server.acd.waiting(support.id)).toHaveLength(1);
    // The overflowed caller is delivered by the other department.
    await setState(server, '1003', 'ready');
    const { call } = await answerAgent(trunk, '1003');
    await waitConnected(server, '1003');
    await call.hangup();
    await second.ended;
    await first.hangup();
  });

  it('with no agent logged in, overflows at once with the no-agents message', async () => {
    await setup();
    const c = await customer();
    const custCall = await c.call(SUPPORT, { port: server.sipPort });
    await custCall.waitForPrompt(ru('no_agents'), 6000);
    expect(await custCall.ended).toBe('remote');
    await eventually(
      async () => (await server.store.calls.listCdr())[0]?.outcome === 'no_agents',
      3000,
      'no_agents CDR',
    );
  });

  it('announces the position in the queue', async () => {
    await setup();
    await server.store.directory.updateCompanySettings(1, { announceSeconds: 10 });
    await makeReady(server, '1001');
    await setState(server, '1001', 'not_ready');
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    await custCall.waitForPrompt(ru('queue_position'), 13_000);
    await custCall.waitForPrompt(ru('digit_1'), 3000);
    await custCall.hangup();
  }, 20_000);

  it('wrap-up holds the agent for wrapUpSeconds after the call', async () => {
    await setup();
    await server.store.directory.updateCompanySettings(1, { wrapUpSeconds: 2 });
    await makeReady(server, '1001');
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    const { call } = await answerAgent(trunk, '1001');
    await waitState(server, '1001', 'busy');
    await custCall.hangup();
    await call.ended;
    await waitState(server, '1001', 'wrap_up', 2000);
    await waitState(server, '1001', 'ready', 4000);
  });

  it('delivers to a SIP-registered agent phone', async () => {
    await setup();
    const id = await agentId(server, '1003');
    await server.store.directory.createSipAccount('agent1003', 'secret-1003', 'agentline', id);
    await server.store.directory.updateAgent(id, { contact: 'sip:agent1003' });
    await server.loadSipCredentials();
    const desk = await rig.phone('agent1003');
    expect(await desk.register('agent1003', 'wrong', { port: server.sipPort })).toBe(403);
    expect(await desk.register('agent1003', 'secret-1003', { port: server.sipPort })).toBe(200);
    await server.agentStates.transition(id, 'ready', { reason: 'test', source: 'api' });
    await deskHearsCustomer(server, desk, await customer('+79165550000'));
  });
});

describe('records and the summary report', () => {
  it('gives the CDR and summary figures of a known scenario to the second', async () => {
    const clock = new TestClock();
    const t0 = Date.UTC(2026, 10, 27, 10, 0, 0);
    clock.frozenWall = t0;
    const { server, trunk } = await startWithTrunk({ clock });
    try {
      await makeReady(server, '1001');
      await setState(server, '1001', 'not_ready');
      // Call 1: waits 30 s, talks 60 s with 1001.
      const c1 = await phone({ number: '+79160000011' });
      const call1 = await c1.call(SALES, { port: server.sipPort });
      await eventually(
        () => server.acd.waiting(1).length === 1 || server.acd.liveCalls.length === 1,
        2000,
        'queued',
      );
      clock.frozenWall = t0 + 30_000;
      await setState(server, '1001', 'ready');
      const { call: agent1 } = await answerAgent(trunk, '1001');
      await waitConnected(server, '1001');
      clock.frozenWall = t0 + 90_000;
      await call1.hangup();
      await agent1.ended;
      await waitState(server, '1001', 'ready');
      // Call 2: abandons after 10 s in the queue.
      await setState(server, '1001', 'not_ready');
      const c2 = await phone({ number: '+79160000012' });
      const call2 = await c2.call(SALES, { port: server.sipPort });
      await sleep(200);
      clock.frozenWall = t0 + 100_000;
      await call2.hangup();
      await eventually(
        async () => (await server.store.calls.listCdr()).every((c) => c.outcome !== null),
        3000,
        'CDRs closed',
      );
      clock.frozenWall = t0 + 120_000;
      const from = new Date(t0 - 1000).toISOString();
      const to = new Date(t0 + 120_000).toISOString();
      const { body: calls } = await api<{
        calls: { outcome: string; queueSeconds: number; talkSeconds: number }[];
      }>(server, `/api/v1/calls?from=${from}&to=${to}`);
      expect(
        calls.calls
          .map((c) => [c.outcome, c.queueSeconds, c.talkSeconds])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      ).toEqual([
        ['abandoned', 10, 0],
        ['answered', 30, 60],
      ]);
      const { body: s } = await api<
        Record<string, unknown> & { agents: { login: string; answered: number; talkSeconds: number }[] }
      >(server, `/api/v1/reports/summary?from=${from}&to=${to}`);
      expect(s).toMatchObject({
        calls: 2,
        answered: 1,
        abandoned: 1,
        serviceLevel: 0,
        averageSpeedOfAnswer: 30,
        averageHandleTime: 60,
        abandonRate: 0.5,
      });
      expect(s.agents.find((a) => a.login === '1001')).toMatchObject({ answered: 1, talkSeconds: 60 });
      await c1.close();
      await c2.close();
    } finally {
      await trunk.close();
      await server.stop();
    }
  });
});
