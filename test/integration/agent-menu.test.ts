import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { CompanySettings } from '../../src/store/store.ts';
import { promptPath, type PromptId } from '../../src/call/prompts.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { eventually, phone, sleep } from './harness.ts';
import {
  SALES,
  agentId,
  answerAgent,
  makeReady,
  startWithTrunk,
  stateOf,
  waitConnected,
  waitState,
} from './acd-helpers.ts';
import { ACCEPT_HZ, ERROR_HZ, VOICE, doesNotHear, hears } from './hearing.ts';

const ru = (id: PromptId): string => promptPath('ru', id);
const RINGBACK_HZ = 425;

describe('in-call agent menu', () => {
  let server: Server;
  let trunk: TestPhone;
  let customerPhone: TestPhone;
  let customer: PhoneCall;
  let agent: PhoneCall;

  /** Customer on SALES, delivered to agent 1001, both speaking. */
  async function connected(settings: Partial<CompanySettings> = {}): Promise<void> {
    ({ server, trunk } = await startWithTrunk({ sipT1: 25 }));
    if (Object.keys(settings).length) await server.store.directory.updateCompanySettings(1, settings);
    await makeReady(server, '1001');
    customerPhone = await phone({ number: '+79161112233' });
    customer = await customerPhone.call(SALES, { port: server.sipPort });
    ({ call: agent } = await answerAgent(trunk, '1001'));
    await waitConnected(server, '1001');
    customer.send(new SineSource(VOICE.customer, 6000));
    agent.send(new SineSource(VOICE.agent, 6000));
    await hears(agent, VOICE.customer);
    await hears(customer, VOICE.agent);
  }

  /** The agent opens the menu: customer on music, agent hears the accept beep. */
  async function openMenu(): Promise<void> {
    agent.recorder.clear();
    agent.sendDtmf('*');
    await agent.waitForTone(ACCEPT_HZ, 3000, 60);
    await doesNotHear(customer, VOICE.agent);
    expect(customer.recorder.level(300)).toBeGreaterThan(100); // music on hold
  }

  async function cdrEvents(): Promise<{ kind: string; detail: string | null }[]> {
    const cdr = (await server.store.calls.listCdr())[0];
    return cdr ? server.store.calls.listQueueEvents(cdr.id) : [];
  }

  async function transferRecords(): Promise<Record<string, unknown>[]> {
    return (await cdrEvents())
      .filter((e) => e.kind === 'transfer')
      .map((e) => JSON.parse(e.detail ?? '{}') as Record<string, unknown>);
  }

  afterEach(async () => {
    await customerPhone?.close();
    await trunk?.close();
    // Nothing is left behind: legs, dialogs, ports, and (once SIP transactions expire) timers.
    await eventually(() => server.engine.activeLegs === 0, 5000, 'legs released');
    await eventually(() => server.ua.sessionCount === 0, 5000, 'dialogs gone');
    // A call ends after its last records are written (round trips on PostgreSQL), not with its legs.
    await eventually(() => server.acd.liveCalls.length === 0, 5000, 'live calls ended');
    expect(server.pool.free).toBe(server.pool.capacity);
    await eventually(
      () => server.clock.pending() === server.agentStates.pendingTimers(),
      5000,
      'only agent break timers left',
    );
    await server.stop();
  });

  it('* holds the customer with music and 5 brings the agent back', async () => {
    await connected();
    await openMenu();
    agent.sendDtmf('5');
    await hears(customer, VOICE.agent);
    await hears(agent, VOICE.customer);
    await customer.hangup();
  });

  it('the menu returns to the customer after 10 s without a key (3 s in tests)', async () => {
    await connected();
    await openMenu();
    await hears(customer, VOICE.agent, 6000);
    await customer.hangup();
  });

  it('a key the menu does not know gets the error beep', async () => {
    await connected();
    await openMenu();
    agent.recorder.clear();
    agent.sendDtmf('9');
    await agent.waitForTone(ERROR_HZ, 3000, 60);
    await customer.hangup();
  });

  it('4 puts the customer in waiting mode; * reopens the menu and 5 returns', async () => {
    await connected();
    await openMenu();
    agent.sendDtmf('4');
    await sleep(300);
    await doesNotHear(customer, VOICE.agent);
    agent.sendDtmf('*');
    await agent.waitForTone(ACCEPT_HZ, 3000, 60);
    agent.sendDtmf('5');
    await hears(customer, VOICE.agent);
    await customer.hangup();
  });

  it('the agent hanging up in waiting mode puts the customer back at the head of the queue', async () => {
    await connected();
    await makeReady(server, '1002');
    await openMenu();
    agent.sendDtmf('4');
    await sleep(300);
    await agent.hangup();
    const { call: second } = await answerAgent(trunk, '1002');
    await waitConnected(server, '1002');
    second.send(new SineSource(VOICE.colleague, 6000));
    await hears(customer, VOICE.colleague);
    await waitState(server, '1001', 'ready');
    await customer.hangup();
  });

  it('2 + unknown department: error beep, still in the menu; 2 + 102 moves the customer to that queue', async () => {
    await connected();
    await makeReady(server, '1003');
    await openMenu();
    agent.recorder.clear();
    agent.sendDtmf('2999');
    await agent.waitForTone(ERROR_HZ, 3000, 60);
    const queuedBefore = (await server.store.calls.listCdr())[0]!.queuedAt;
    agent.sendDtmf('2102');
    expect(await agent.ended).toBe('remote');
    const { call: support } = await answerAgent(trunk, '1003');
    await waitConnected(server, '1003');
    support.send(new SineSource(VOICE.colleague, 6000));
    await hears(customer, VOICE.colleague);
    await waitState(server, '1001', 'ready');
    const cdr = (await server.store.calls.listCdr())[0]!;
    expect(cdr.departmentId).toBe((await server.store.directory.getDepartmentByCode(1, '102'))!.id);
    // The original entry time is kept for reporting.
    expect(cdr.queuedAt).toBe(queuedBefore);
    expect(await transferRecords()).toEqual([{ type: 'department', to: '102', outcome: 'queued' }]);
    await customer.hangup();
    expect((await server.store.calls.getCdr(cdr.id))!.agentIds).toEqual([
      await agentId(server, '1001'),
      await agentId(server, '1003'),
    ]);
  });

  it('2 + a department with nobody logged in: the customer gets its overflow (no-agents message), never silence', async () => {
    await connected();
    await openMenu();
    agent.sendDtmf('2102'); // 1002–1004 are logged out
    expect(await agent.ended).toBe('remote');
    await customer.waitForPrompt(ru('no_agents'), 6000);
    expect(await customer.ended).toBe('remote');
    await waitState(server, '1001', 'ready');
    await eventually(
      async () => (await server.store.calls.listCdr())[0]?.outcome === 'no_agents',
      3000,
      'no_agents CDR',
    );
  });

  it('1 with external transfer disabled: error beep, the customer stays on hold', async () => {
    await connected({ externalTransfer: 'disabled' });
    await openMenu();
    agent.recorder.clear();
    agent.sendDtmf('189261234567#');
    await agent.waitForTone(ERROR_HZ, 3000, 60);
    agent.sendDtmf('5');
    await hears(customer, VOICE.agent);
    await customer.hangup();
  });

  it('1 to a destination outside allowedDestinations is refused (toll-fraud protection)', async () => {
    await connected();
    await openMenu();
    agent.recorder.clear();
    agent.sendDtmf('1004412345678#');
    await agent.waitForTone(ERROR_HZ, 3000, 60);
    expect(trunk.unclaimedIncoming).toHaveLength(0);
    await customer.hangup();
  });

  it('release_immediately: the agent leaves at #, the customer hears ringback, then talks to the target', async () => {
    await connected({ externalTransfer: 'release_immediately' });
    await openMenu();
    agent.sendDtmf('189261234567#');
    expect(await agent.ended).toBe('remote');
    const inv = await trunk.nextIncoming(5000, '+79261234567');
    expect(inv.caller.user).toBe('+79161112233');
    inv.provisional(180);
    await customer.waitForTone(RINGBACK_HZ, 4000, 300);
    const target = await trunk.answer(inv);
    target.send(new SineSource(VOICE.target, 6000));
    await hears(customer, VOICE.target);
    await hears(target, VOICE.customer);
    await waitState(server, '1001', 'ready');
    expect(await transferRecords()).toEqual([
      { type: 'external', to: '+79261234567', mode: 'release_immediately', outcome: 'connected' },
    ]);
    await target.hangup();
    expect(await customer.ended).toBe('remote');
    expect((await server.store.calls.listCdr())[0]).toMatchObject({ outcome: 'transferred', transfers: 1 });
  });

  it('release_immediately with a busy target: the customer goes back to the head of the queue', async () => {
    await connected({ externalTransfer: 'release_immediately' });
    await openMenu();
    agent.sendDtmf('189261234567#');
    await agent.ended;
    const inv = await trunk.nextIncoming(5000, '+79261234567');
    inv.reject(486, 'Busy Here');
    await waitState(server, '1001', 'ready');
    // Back in the queue: offered to 1001 again (ready, longest idle).
    const { call: again } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    again.send(new SineSource(VOICE.colleague, 6000));
    await hears(customer, VOICE.colleague);
    expect((await transferRecords())[0]).toMatchObject({ outcome: 'busy' });
    await customer.hangup();
  });

  it('release_on_answer: the agent hears ringback; on answer the agent leaves and customer and target talk', async () => {
    await connected({ externalTransfer: 'release_on_answer' });
    await openMenu();
    agent.sendDtmf('189261234567#');
    const inv = await trunk.nextIncoming(5000, '+79261234567');
    inv.provisional(180);
    await agent.waitForTone(RINGBACK_HZ, 4000, 300);
    const target = await trunk.answer(inv);
    expect(await agent.ended).toBe('remote');
    target.send(new SineSource(VOICE.target, 6000));
    await hears(customer, VOICE.target);
    await hears(target, VOICE.customer);
    await customer.hangup();
    expect(await target.ended).toBe('remote');
  });

  it('release_on_answer with no answer: the agent is back with the customer (error beep)', async () => {
    await connected({ externalTransfer: 'release_on_answer', ringSeconds: 5 });
    await openMenu();
    agent.sendDtmf('189261234567#');
    const inv = await trunk.nextIncoming(5000, '+79261234567');
    inv.provisional(180);
    await agent.waitForTone(ERROR_HZ, 8000, 60);
    await eventually(() => inv.state === 'cancelled', 2000, 'target INVITE cancelled');
    await hears(customer, VOICE.agent);
    await hears(agent, VOICE.customer);
    expect((await transferRecords())[0]).toMatchObject({ outcome: 'no_answer' });
    await customer.hangup();
  });

  it('consult: agent and target talk while the customer waits; the agent hanging up completes the transfer', async () => {
    await connected({ externalTransfer: 'consult' });
    await openMenu();
    agent.sendDtmf('189261234567#');
    const target = await (async () => trunk.answer(await trunk.nextIncoming(5000, '+79261234567')))();
    target.send(new SineSource(VOICE.target, 6000));
    await hears(agent, VOICE.target);
    await hears(target, VOICE.agent);
    await doesNotHear(customer, VOICE.target);
    await doesNotHear(target, VOICE.customer);
    await agent.hangup();
    await hears(customer, VOICE.target);
    await hears(target, VOICE.customer);
    await waitState(server, '1001', 'ready');
    await customer.hangup();
  });

  it('consult: * 5 drops the target and returns the agent to the customer', async () => {
    await connected({ externalTransfer: 'consult' });
    await openMenu();
    agent.sendDtmf('189261234567#');
    const target = await trunk.answer(await trunk.nextIncoming(5000, '+79261234567'));
    target.send(new SineSource(VOICE.target, 6000));
    await hears(agent, VOICE.target);
    agent.sendDtmf('*');
    await sleep(400);
    agent.sendDtmf('5');
    expect(await target.ended).toBe('remote');
    await hears(customer, VOICE.agent);
    await hears(agent, VOICE.customer);
    expect((await transferRecords()).map((r) => r.outcome)).toEqual(['dropped']);
    await customer.hangup();
  });

  it('a short number reaches that agent, who becomes busy, and keeps the in-call menu', async () => {
    await connected({ externalTransfer: 'release_on_answer' });
    await makeReady(server, '1002');
    await openMenu();
    agent.sendDtmf('1202#');
    const { call: colleague } = await answerAgent(trunk, '1002');
    expect(await agent.ended).toBe('remote');
    await waitState(server, '1002', 'busy');
    colleague.send(new SineSource(VOICE.colleague, 6000));
    await hears(customer, VOICE.colleague);
    // The colleague can hold the customer in turn.
    colleague.recorder.clear();
    colleague.sendDtmf('*');
    await colleague.waitForTone(ACCEPT_HZ, 3000, 60);
    colleague.sendDtmf('5');
    await hears(customer, VOICE.colleague);
    await customer.hangup();
    await waitState(server, '1002', 'ready');
    expect(await stateOf(server, '1001')).toBe('ready');
  });

  it('a short number whose agent phone cannot be reached: error beep, and that agent is not left offered', async () => {
    await connected({ externalTransfer: 'release_on_answer' });
    await makeReady(server, '1002');
    // 1002 works from a SIP phone that is not registered: no route.
    await server.store.directory.setSessionContact(await agentId(server, '1002'), 'sip:desk1002');
    await openMenu();
    agent.recorder.clear();
    agent.sendDtmf('1202#');
    await agent.waitForTone(ERROR_HZ, 3000, 60);
    await hears(customer, VOICE.agent);
    await waitState(server, '1002', 'ready');
    expect(await server.availability.isReserved(await agentId(server, '1002'))).toBe(false);
    await customer.hangup();
  });

  describe('3: announce a number', () => {
    const announced = async (): Promise<void> => {
      await openMenu();
      agent.sendDtmf('389261234567#');
      await customer.waitForPrompt(ru('announce_number'), 5000);
      await customer.waitForPrompt(ru('announce_offer'), 15_000);
      // Digit by digit: 8, 9, 2, 6 …
      const at = (id: PromptId): number => customer.recorder.promptAt(ru(id));
      expect(at('digit_8')).toBeLessThan(at('digit_9'));
      expect(at('digit_9')).toBeLessThan(at('announce_offer'));
    };

    it('disabled: error beep', async () => {
      await connected({ announceNumber: 'disabled' });
      await openMenu();
      agent.recorder.clear();
      agent.sendDtmf('389261234567#');
      await agent.waitForTone(ERROR_HZ, 3000, 60);
      await customer.hangup();
    });

    it('stay_until_connected: customer presses 1, hears ringback, is connected; the agent leaves on connect', async () => {
      await connected({ announceNumber: 'stay_until_connected' });
      await announced();
      expect(agent.state).toBe('up');
      customer.sendDtmf('1');
      const inv = await trunk.nextIncoming(5000, '+79261234567');
      inv.provisional(180);
      await customer.waitForTone(RINGBACK_HZ, 4000, 300);
      const target = await trunk.answer(inv);
      expect(await agent.ended).toBe('remote');
      target.send(new SineSource(VOICE.target, 6000));
      await hears(customer, VOICE.target);
      expect(await transferRecords()).toEqual([
        { type: 'announce', to: '+79261234567', mode: 'stay_until_connected', outcome: 'connected' },
      ]);
      await customer.hangup();
    }, 40_000);

    it('stay_until_connected: customer presses 2 and is back with the agent', async () => {
      await connected({ announceNumber: 'stay_until_connected' });
      await announced();
      customer.sendDtmf('2');
      await hears(customer, VOICE.agent);
      await hears(agent, VOICE.customer);
      await customer.hangup();
    }, 40_000);

    it('release_agent: the agent leaves at #; customer 2 goes back to the department queue', async () => {
      await connected({ announceNumber: 'release_agent' });
      await openMenu();
      agent.sendDtmf('389261234567#');
      expect(await agent.ended).toBe('remote');
      await customer.waitForPrompt(ru('announce_offer'), 15_000);
      await waitState(server, '1001', 'ready');
      customer.sendDtmf('2');
      const { call: again } = await answerAgent(trunk, '1001');
      await waitConnected(server, '1001');
      again.send(new SineSource(VOICE.colleague, 6000));
      await hears(customer, VOICE.colleague);
      await customer.hangup();
    }, 40_000);

    it('no choice from the customer: the offer is repeated, then treated as 2', async () => {
      await connected({ announceNumber: 'stay_until_connected' });
      await announced();
      // Three offers 2.5 s apart in tests (15 s in production), then back to the agent.
      await hears(customer, VOICE.agent, 45_000);
      expect((await transferRecords())[0]).toMatchObject({ outcome: 'back' });
      await customer.hangup();
    }, 70_000);

    it('* from the customer: goodbye and the call ends', async () => {
      await connected({ announceNumber: 'stay_until_connected' });
      await announced();
      customer.sendDtmf('*');
      await customer.waitForPrompt(ru('goodbye'), 5000);
      expect(await customer.ended).toBe('remote');
      expect(await agent.ended).toBe('remote');
    }, 40_000);
  });
});
