import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { TestPhone } from '../phone/phone.ts';
import {
  CONTACT,
  SALES,
  answerAgent,
  makeReady,
  setState,
  startWithTrunk,
  stateOf,
  waitCdrOutcome,
  waitConnected,
  waitState,
} from '../integration/acd-helpers.ts';
import { api, eventually, phone } from '../integration/harness.ts';
import { closeRig, openAsSupervisor } from './chromium.ts';

/**
 * Supervisor actions in the console (issue 14 item 5), in Chromium as a supervisor, on real
 * calls from the test phone: the board's "end" ends a connected call, "take off and log out"
 * logs out an agent in a call and puts the customer back in the queue. Both ask first. "Listen"
 * picks a supervisor and a mode and has the server call that supervisor's phone.
 */
describe('supervisor actions in Chromium', () => {
  let server: Server;
  let trunk: TestPhone;
  let browser: Browser;
  let page: Page;
  const phones: TestPhone[] = [];

  beforeAll(async () => {
    ({ server, trunk } = await startWithTrunk({ sipT1: 25 }));
    ({ browser, page } = await openAsSupervisor(server));
    page.on('dialog', (d) => void d.accept());
  }, 60_000);

  afterAll(() => closeRig({ phones, trunk, browser, server }));

  async function connected(login: string, from: string) {
    await makeReady(server, login);
    const p = await phone({ number: from });
    phones.push(p);
    const customer = await p.call(SALES, { port: server.sipPort });
    const { call: agent } = await answerAgent(trunk, login);
    await waitConnected(server, login);
    return { customer, agent, callId: server.acd.liveCalls.find((c) => c.callerId === from)!.id };
  }

  it('the board ends a connected call: both sides are hung up', async () => {
    const { customer, agent, callId } = await connected('1001', '+79161110001');
    await page.getByTestId(`end-call-${callId}`).click();
    expect(await customer.ended).toBe('remote');
    expect(await agent.ended).toBe('remote');
    await waitCdrOutcome(server, 'ended_by_supervisor', { cdrId: callId });
    await waitState(server, '1001', 'ready');
  });

  it('the board takes a busy agent off the call and logs them out; the customer waits again', async () => {
    // 1001 is ready again after the first call: not ready, so that 1002 takes this one, and
    // still logged in, so that 101 keeps the customer waiting (with nobody logged in it would not).
    await setState(server, '1001', 'not_ready');
    const { customer, agent, callId } = await connected('1002', '+79161110002');
    await page.getByTestId('force-logout-1002').click();
    expect(await agent.ended).toBe('remote');
    await waitState(server, '1002', 'logged_out');
    await eventually(
      () => server.acd.liveCalls.find((c) => c.id === callId)?.state === 'queued',
      5000,
      'the customer back in the queue',
    );
    expect(customer.state).toBe('up');
    expect(await stateOf(server, '1002')).toBe('logged_out');
    await customer.hangup();
    await waitCdrOutcome(server, 'answered', { cdrId: callId });
  });

  it("the board's Listen calls the chosen supervisor's phone, which then hears the call", async () => {
    await makeReady(server, '1001');
    const { customer, callId } = await connected('1001', '+79161110003');
    await page.getByTestId('monitor-1001').click();
    // The company's supervisor agents, the first chosen.
    await expect.poll(() => page.getByTestId('monitor-supervisor-1001').inputValue()).toBe('1004');
    await page.getByTestId('monitor-mode-1001').selectOption('whisper');
    await page.getByTestId('monitor-call-1001').click();
    const invite = await trunk.nextIncoming(8000, CONTACT['1004']);
    expect(await page.getByTestId('monitor-result-1001').textContent()).toContain('1004');
    const sup = await trunk.answer(invite);
    const events = async (): Promise<{ kind: string; mode?: string }[]> =>
      (await api<{ events: { kind: string; mode?: string }[] }>(server, `/api/v1/calls/${callId}`)).body
        .events;
    await eventually(
      async () => (await events()).some((e) => e.kind === 'monitor_started' && e.mode === 'whisper'),
      5000,
      'monitor_started in whisper',
    );
    await customer.hangup();
    await sup.ended;
  });
});
