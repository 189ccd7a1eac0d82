import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { promptPath } from '../../src/call/prompts.ts';
import type { PhoneCall } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { eventually } from './harness.ts';
import { loginByCallerId, makeReady, monitorEvents, useCallRig } from './acd-helpers.ts';
import { ACCEPT_HZ, ERROR_HZ, VOICE, doesNotHear, expectListen, expectWhisper, hears } from './hearing.ts';

/**
 * Listen, whisper and barge by phone (issue 14 item 4): supervisor 1004 (the demo's) logs in
 * through the service IVR, keys 9 + 201 (1001's short number) + #, and hears 1001's call with
 * a customer; 1, 2 and 3 change who hears the supervisor, * ends it. Each party speaks its own
 * tone (hearing.ts); the supervisor's is VOICE.colleague. With TEST_MEDIA_WORKERS=2 the same
 * runs on media worker threads (the supervisor's session moves into the pair's worker).
 */
const MAIN_MENU = promptPath('ru', 'main_menu');
const SUPERVISOR_HZ = VOICE.colleague;

describe('listen, whisper, barge by phone', () => {
  const rig = useCallRig({ expectNoLiveCalls: true });

  /** 1001 talks with a customer; supervisor 1004 is at the service menu, speaking its tone. */
  async function floor(): Promise<{ server: Server; customer: PhoneCall; agent: PhoneCall; sup: PhoneCall }> {
    const { server } = await rig.startWithTrunk();
    const { customer, agent } = await rig.connectCustomer();
    customer.send(new SineSource(VOICE.customer, 6000));
    agent.send(new SineSource(VOICE.agent, 6000));
    await hears(customer, VOICE.agent);
    const sup = await loginByCallerId(server, await rig.phone('+79000000004'));
    sup.send(new SineSource(SUPERVISOR_HZ, 6000));
    await sup.waitForPrompt(MAIN_MENU, 8000);
    return { server, customer, agent, sup };
  }

  /** Key 9, the accept beep, then the agent's number and #. */
  async function pick(sup: PhoneCall, who: string): Promise<void> {
    sup.recorder.clear();
    sup.sendDtmf('9');
    await sup.waitForTone(ACCEPT_HZ, 4000, 60);
    sup.sendDtmf(`${who}#`);
  }

  it('listen: hears both, heard by nobody; whisper: only the agent hears; barge: both hear; * ends', async () => {
    const { server, customer, agent, sup } = await floor();
    await pick(sup, '201');
    const call = { customer, agent, sup, supHz: SUPERVISOR_HZ };
    // Listen: the supervisor hears the customer and the agent, nobody hears the supervisor.
    await expectListen(call);
    // Whisper: the agent hears the supervisor (and still the customer); the customer does not.
    sup.sendDtmf('2');
    await expectWhisper(call);
    // Barge: three-way, everyone hears the other two.
    sup.sendDtmf('3');
    await hears(customer, SUPERVISOR_HZ);
    await hears(customer, VOICE.agent);
    await hears(agent, SUPERVISOR_HZ);
    await hears(agent, VOICE.customer);
    await hears(sup, VOICE.customer);
    await hears(sup, VOICE.agent);
    // Back to listening: the supervisor is silent again for both.
    sup.sendDtmf('1');
    await doesNotHear(customer, SUPERVISOR_HZ);
    await doesNotHear(agent, SUPERVISOR_HZ);
    // *: monitoring ends, the supervisor is back at the menu, the pair as it was.
    sup.recorder.clear();
    sup.sendDtmf('*');
    await sup.waitForPrompt(MAIN_MENU, 8000);
    await doesNotHear(sup, VOICE.customer);
    await hears(customer, VOICE.agent);
    await hears(agent, VOICE.customer);
    await eventually(async () => (await monitorEvents(server)).length === 5, 3000, 'monitor events');
    expect(await monitorEvents(server)).toMatchObject([
      { kind: 'monitor_started', agent: '1001', supervisor: '1004', mode: 'listen' },
      { kind: 'monitor_mode', agent: '1001', supervisor: '1004', mode: 'whisper' },
      { kind: 'monitor_mode', mode: 'barge' },
      { kind: 'monitor_mode', mode: 'listen' },
      { kind: 'monitor_stopped', agent: '1001', supervisor: '1004', detail: 'supervisor' },
    ]);
    await customer.hangup();
    await sup.hangup();
  });

  it('the call ending ends monitoring: the supervisor is back at the menu', async () => {
    const { server, customer, sup } = await floor();
    await pick(sup, '1001'); // by login too
    await hears(sup, VOICE.customer);
    sup.recorder.clear();
    await customer.hangup();
    await sup.waitForPrompt(MAIN_MENU, 8000);
    await eventually(
      async () => (await monitorEvents(server)).at(-1)?.detail === 'call_gone',
      3000,
      'monitor_stopped: call_gone',
    );
    await sup.hangup();
  });

  it('an agent in no call, or a caller who is no supervisor: the error beep, back to the menu', async () => {
    const { server, customer, sup } = await floor();
    await makeReady(server, '1003');
    await pick(sup, '203');
    await sup.waitForTone(ERROR_HZ, 4000, 60);
    await sup.waitForPrompt(MAIN_MENU, 8000);
    await doesNotHear(sup, VOICE.customer);
    await sup.hangup();
    // 1002 is no supervisor: key 9 is the error beep at once.
    const other = await loginByCallerId(server, await rig.phone('+79000000002'));
    await other.waitForPrompt(MAIN_MENU, 8000);
    other.recorder.clear();
    other.sendDtmf('9');
    await other.waitForTone(ERROR_HZ, 4000, 60);
    expect(other.recorder.heardTone(ACCEPT_HZ, 60)).toBe(false);
    await other.hangup();
    await customer.hangup();
  });
});
