import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { eventually, sleep } from './harness.ts';
import { CONTACT, SALES, answerAgent, makeReady, waitConnected, useCallRig } from './acd-helpers.ts';

const ACCEPT_HZ = 1000;

/**
 * Issue 10 (intro, "Done when"): an agent who hangs up while the customer is in
 * waiting mode (`*4`) or in the agent menu (`*`) gives the customer back to the
 * head of the queue (SPEC §5): the next call connected is that customer's, ahead
 * of the callers who were already waiting — not one of them offered to the agent
 * freed a moment earlier.
 */
describe('a customer the agent leaves on hold goes back ahead of the queue', () => {
  let server: Server;
  let trunk: TestPhone;
  const rig = useCallRig();

  const dial = async (number: string): Promise<PhoneCall> => {
    const p = await rig.phone(number);
    return p.call(SALES, { port: server.sipPort });
  };

  const queued = (n: number): boolean =>
    server.acd.liveCalls.filter((c) => c.state === 'queued').length === n;

  /**
   * A talks with the "third" customer, B with another one; two more callers
   * wait. A opens the menu (and, for `waiting`, keys 4), then hangs up.
   */
  async function scenario(mode: 'waiting' | 'menu'): Promise<void> {
    ({ server, trunk } = await rig.startWithTrunk({ sipT1: 25 }));
    await makeReady(server, '1001');
    await dial('+79160000003');
    const { call: agentA } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    await makeReady(server, '1002');
    await dial('+79160000004');
    await answerAgent(trunk, '1002');
    await waitConnected(server, '1002');
    await dial('+79160000001');
    await eventually(() => queued(1), 5000, 'first caller queued');
    await dial('+79160000002');
    await eventually(() => queued(2), 5000, 'second caller queued');

    agentA.recorder.clear();
    agentA.sendDtmf('*');
    await agentA.waitForTone(ACCEPT_HZ, 3000, 60);
    if (mode === 'waiting') {
      agentA.sendDtmf('4');
      await eventually(
        () => server.acd.liveCalls.some((c) => c.inCall?.state === 'waiting'),
        3000,
        'waiting mode',
      );
    }
    await agentA.hangup();

    // The next offer (A is free again at once: no wrap-up in the demo company) is the third customer's.
    const next = await trunk.nextIncoming(10_000);
    expect(next.caller.user).toBe('+79160000003');
    const to = Object.entries(CONTACT).find(([, n]) => n === next.calledUser)?.[0];
    expect(to).toBe('1001');
    await trunk.answer(next);
    await waitConnected(server, '1001');
    const withA = server.acd.liveCalls.find((c) => c.state === 'connected' && c.agentIds.length === 2);
    expect(withA?.callerId).toBe('+79160000003');
    // The two who were waiting are still waiting, in their order.
    await sleep(200);
    expect(server.acd.liveCalls.filter((c) => c.state === 'queued').map((c) => c.callerId)).toEqual([
      '+79160000001',
      '+79160000002',
    ]);
  }

  it('agent hangs up in waiting mode (*4)', async () => {
    await scenario('waiting');
  });

  it('agent hangs up in the agent menu (*)', async () => {
    await scenario('menu');
  });
});
