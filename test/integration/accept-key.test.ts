import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { promptPath } from '../../src/call/prompts.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import {
  SALES,
  agentId,
  answerAgent,
  makeReady,
  setState,
  stateOf,
  waitConnected,
  waitState,
  useCallRig,
} from './acd-helpers.ts';

const ru = (id: Parameters<typeof promptPath>[1]): string => promptPath('ru', id);

/** Issue 10 item 1: an answered offer connects the customer only after the agent's accept key. */
describe('accept key (acceptCall: key)', () => {
  let server: Server;
  let trunk: TestPhone;
  const rig = useCallRig({ expectNoLiveCalls: true });

  const customer = (): Promise<TestPhone> => rig.phone('+79161234567');

  const lastReason = async (login: string): Promise<string | undefined> =>
    (
      await server.store.agentStates.listStateHistory({
        agentId: await agentId(server, login),
        newestFirst: true,
        limit: 1,
      })
    )[0]?.reason;

  /**
   * 1001, then 1002 ready (1001 the longest: offered first, longest_idle); a customer calls
   * and 1001 answers, hearing "press 1".
   */
  async function offeredTo1001First(): Promise<{ custCall: PhoneCall; first: PhoneCall }> {
    await makeReady(server, '1001');
    await new Promise((r) => setTimeout(r, 50));
    await makeReady(server, '1002');
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    const { call: first } = await answerAgent(trunk, '1001');
    await first.waitForPrompt(ru('accept_call'));
    return { custCall, first };
  }

  it('the agent hears the whisper and "press 1"; the customer waits (still offering) until the key, then both talk', async () => {
    ({ server, trunk } = await rig.startWithTrunk({ acceptCall: 'key' }));
    await makeReady(server, '1001');
    const c = await customer();
    const custCall = await c.call(SALES, { port: server.sipPort });
    const { call: agentCall } = await answerAgent(trunk, '1001');
    await agentCall.waitForPrompt(ru('accept_call'));
    // Not yet through: the agent is still offered and the customer is still waiting.
    expect(await stateOf(server, '1001')).toBe('offered');
    expect(server.acd.liveCalls[0]?.state).toBe('offering');
    expect(custCall.recorder.heardPrompt(ru('accept_call'))).toBe(false);
    agentCall.sendDtmf('1');
    await waitState(server, '1001', 'busy');
    custCall.send(new SineSource(1000, 8000));
    agentCall.send(new SineSource(600, 8000));
    await agentCall.waitForTone(1000, 5000, 200);
    await custCall.waitForTone(600, 5000, 200);
    expect(agentCall.recorder.heardPrompt(ru('digit_1'))).toBe(true); // department 101
    await custCall.hangup();
    expect(await agentCall.ended).toBe('remote');
    const cdr = (await server.store.calls.listCdr())[0]!;
    expect(cdr.outcome).toBe('answered');
    const events = await server.store.calls.listQueueEvents(cdr.id);
    expect(events.map((e) => e.kind)).toEqual(['enter', 'offer', 'connect', 'complete_customer']);
  });

  it('no key: the customer stays queued, the next agent gets the call, the first is temporarily_not_ready (not_accepted)', async () => {
    ({ server, trunk } = await rig.startWithTrunk({ acceptCall: 'key' }));
    await server.store.directory.updateCompanySettings(1, { acceptSeconds: 3 });
    const { custCall, first } = await offeredTo1001First();
    // The first agent says nothing and presses nothing: hung up once the time is over.
    expect(await first.ended).toBe('remote');
    const { call: second } = await answerAgent(trunk, '1002');
    expect(await stateOf(server, '1001')).toBe('temporarily_not_ready');
    expect(await lastReason('1001')).toBe('not_accepted');
    await second.waitForPrompt(ru('accept_call'));
    second.sendDtmf('1');
    custCall.send(new SineSource(900, 8000));
    await second.waitForTone(900, 5000, 200);
    await second.hangup();
    expect(await custCall.ended).toBe('remote');
    const cdr = (await server.store.calls.listCdr())[0]!;
    const events = await server.store.calls.listQueueEvents(cdr.id);
    expect(events.map((e) => [e.kind, e.detail])).toEqual([
      ['enter', null],
      ['offer', null],
      ['no_answer', 'not_accepted'],
      ['offer', null],
      ['connect', expect.any(String)],
      ['complete_agent', null],
    ]);
    expect(cdr.agentIds).toEqual([await agentId(server, '1002')]);
  });

  it('a wrong key or a hang-up counts as not answered too; the call waits at the head for the next ready agent', async () => {
    ({ server, trunk } = await rig.startWithTrunk({ acceptCall: 'key' }));
    const { custCall, first } = await offeredTo1001First();
    first.sendDtmf('2');
    expect(await first.ended).toBe('remote');
    const { call: second } = await answerAgent(trunk, '1002');
    await second.waitForPrompt(ru('digit_1'));
    await second.hangup();
    await waitState(server, '1002', 'temporarily_not_ready');
    expect(await lastReason('1001')).toBe('not_accepted');
    expect(await lastReason('1002')).toBe('not_accepted');
    expect(server.acd.liveCalls[0]?.state).toBe('queued');
    await setState(server, '1001', 'ready');
    const { call: again } = await answerAgent(trunk, '1001');
    again.sendDtmf('1'); // during the prompts: barge-in, taken as the key
    await waitState(server, '1001', 'busy');
    custCall.send(new SineSource(700, 8000));
    await again.waitForTone(700, 5000, 200);
    await custCall.hangup();
  });

  it('a short-number transfer: the colleague must press 1 too; no key gives the customer back to the agent', async () => {
    ({ server, trunk } = await rig.startWithTrunk({ sipT1: 25 }));
    await makeReady(server, '1001');
    const custCall = await (await customer()).call(SALES, { port: server.sipPort });
    const { call: agentCall } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    // From now on (the transfer reads the settings afresh) the key is asked for.
    await server.store.directory.updateCompanySettings(1, { acceptCall: 'key', acceptSeconds: 3 });
    await makeReady(server, '1002');
    custCall.send(new SineSource(700, 20_000));
    agentCall.recorder.clear();
    agentCall.sendDtmf('*');
    await agentCall.waitForTone(1000, 3000, 60); // the menu's accept beep
    agentCall.sendDtmf('1202#');
    const { call: silent } = await answerAgent(trunk, '1002');
    await silent.waitForPrompt(ru('accept_call'));
    expect(await silent.ended).toBe('remote');
    await waitState(server, '1002', 'ready');
    expect(await lastReason('1002')).toBe('transfer_not_accepted');
    // The agent has the customer back.
    agentCall.recorder.clear();
    await agentCall.waitForTone(700, 5000, 200);
    agentCall.recorder.clear();
    agentCall.sendDtmf('*');
    await agentCall.waitForTone(1000, 3000, 60); // the menu's accept beep
    agentCall.sendDtmf('1202#');
    const { call: colleague } = await answerAgent(trunk, '1002');
    await colleague.waitForPrompt(ru('accept_call'));
    colleague.sendDtmf('1');
    expect(await agentCall.ended).toBe('remote');
    await waitState(server, '1002', 'busy');
    await colleague.waitForTone(700, 5000, 200);
    await custCall.hangup();
    const cdr = (await server.store.calls.listCdr())[0]!;
    const outcomes = (await server.store.calls.listQueueEvents(cdr.id))
      .filter((e) => e.kind === 'transfer')
      .map((e) => (JSON.parse(e.detail ?? '{}') as { outcome?: string }).outcome);
    expect(outcomes).toEqual(['not_accepted', 'connected']);
  });
});
