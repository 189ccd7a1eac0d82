import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import {
  SALES,
  agentId,
  answerAgent,
  makeReady,
  setState,
  startWithTrunk,
  waitConnected,
  waitState,
} from '../integration/acd-helpers.ts';
import { eventually, phone } from '../integration/harness.ts';
import { closeRig, openAsSupervisor, SHOTS } from './chromium.ts';

/**
 * The live board (issue 14 item 6) in Chromium, signed in as a supervisor, with a real customer
 * call from the test phone over loopback and the agent's phone on a test trunk.
 */
describe('the live board in Chromium', () => {
  let server: Server;
  let trunk: TestPhone;
  let browser: Browser;
  let page: Page;
  const phones: TestPhone[] = [];
  const CUSTOMER = '+79161234567';

  beforeAll(async () => {
    ({ server, trunk } = await startWithTrunk());
    ({ browser, page } = await openAsSupervisor(server));
    await page.locator('[data-testid=live-indicator].on').waitFor({ timeout: 8000 });
  }, 60_000);

  afterAll(() => closeRig({ phones, trunk, browser, server }));

  const text = async (testId: string): Promise<string> =>
    (await page.getByTestId(testId).textContent()) ?? '';
  const ticks = async (testId: string, what: string): Promise<void> => {
    const first = await text(testId);
    await eventually(async () => (await text(testId)) !== first, 4000, what);
  };

  let customerCall: PhoneCall;

  it("a customer waiting in 101: the card and the call row show the wait, ticking; today's figures are empty", async () => {
    await page.getByTestId('dept-101').waitFor();
    expect(await text('dept-101-sl')).toBe('—');
    expect(await text('dept-101-answered')).toBe('0');
    expect(await text('dept-101-asa')).toBe('—');
    // 1002 is logged in but not ready: the call queues in 101 (1001 is logged out).
    await makeReady(server, '1002');
    await setState(server, '1002', 'not_ready');
    const customer = await phone({ number: CUSTOMER });
    phones.push(customer);
    customerCall = await customer.call(SALES, { port: server.sipPort });
    await page.locator('[data-testid=dept-101-waiting]', { hasText: '1' }).waitFor({ timeout: 8000 });
    const row = page.getByTestId(`call-${CUSTOMER}-time`);
    await row.waitFor({ timeout: 8000 });
    expect(await row.getAttribute('data-kind')).toBe('wait');
    expect(await text(`call-${CUSTOMER}-time`)).toMatch(/^Ожидание \d+:\d\d$/);
    // The client ticks the wait from the server's `waitingSince`: no reload, no new read.
    await ticks(`call-${CUSTOMER}-time`, "the call's wait ticking");
    await ticks('dept-101-longest', "the queue's longest wait ticking");
    expect(await page.getByTestId(`call-${CUSTOMER}`).textContent()).toContain('В очереди');
    // The row opens the call's journey (the journey's own browser test opens that address).
    const live = server.acd.liveCalls[0]!;
    expect(await page.getByTestId(`call-${CUSTOMER}`).locator('a').getAttribute('href')).toBe(
      `#calls/${encodeURIComponent(live.id)}`,
    );
    expect(await text('agent-1002-state')).toBe('Не готов');
  }, 30_000);

  it('a missed offer shows as the reason; once answered the call shows talk time, not the wait', async () => {
    // 1001 comes in, is offered the call and rejects it: temporarily not ready, a missed call.
    await makeReady(server, '1001');
    const missed = await trunk.nextIncoming(10_000, '+79000000001');
    missed.reject(486, 'Busy Here');
    await waitState(server, '1001', 'temporarily_not_ready');
    await page.getByTestId('agent-1001-reason').waitFor({ timeout: 5000 });
    expect(await text('agent-1001-state')).toBe('Временно не готов');
    expect(await text('agent-1001-reason')).toContain('пропущенный звонок');

    await setState(server, '1001', 'ready');
    const { call: agentLeg } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    const time = page.locator(`[data-testid="call-${CUSTOMER}-time"][data-kind=talk]`);
    await time.waitFor({ timeout: 5000 });
    expect(await time.textContent()).toMatch(/^Разговор \d+:\d\d$/);
    await ticks(`call-${CUSTOMER}-time`, 'talk time ticking');
    expect(await text('agent-1001-state')).toBe('Разговор');
    // Answered counts at the answer.
    await page.locator('[data-testid=dept-101-answered]', { hasText: '1' }).waitFor({ timeout: 5000 });

    // 390 px, a phone: the cards, agents and the live call fit without scrolling sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('dept-101').waitFor();
    const { scrollWidth, clientWidth } = await page.evaluate<{ scrollWidth: number; clientWidth: number }>(
      '({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })',
    );
    expect(clientWidth).toBeLessThanOrEqual(390);
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    await page.screenshot({ path: path.join(SHOTS, 'board-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    await agentLeg.hangup();
    await customerCall.ended;
    await page.locator('[data-testid=calls-table]').waitFor({ state: 'detached', timeout: 5000 });
    // From '—' (no call in it yet) to a share: 100% unless this machine kept the customer over 20 s.
    await eventually(async () => /^\d+%$/.test(await text('dept-101-sl')), 5000, 'a service level');
    expect(await text('dept-101-offered')).toBe('1');
    expect(await text('dept-101-abandoned')).toBe('0');
    await eventually(async () => (await text('agent-1001-calls')) === '1', 5000, '1001: one call today');
    // ASA and the agent's AHT today: from '—' to a duration; the time in the new state ticks.
    expect(await text('dept-101-asa')).toMatch(/^\d+:\d\d$/);
    await eventually(async () => /^\d+:\d\d$/.test(await text('agent-1001-aht')), 5000, "1001's AHT today");
    await ticks('agent-1001-since', "1001's time in state ticking");
    await page.screenshot({ path: path.join(SHOTS, 'board.png'), fullPage: true });
  }, 40_000);

  it('filters by department and speaks English', async () => {
    await page.getByTestId('board-department').selectOption('102');
    await page.getByTestId('dept-101').waitFor({ state: 'detached' });
    await page.getByTestId('dept-102').waitFor();
    expect(await page.getByTestId('agent-1001').count()).toBe(0); // 1001 takes 101 only
    await page.getByTestId('agent-1003').waitFor();
    await page.getByTestId('board-department').selectOption('');
    await page.getByTestId('dept-101').waitFor();
    await page.getByTestId('lang-toggle').click();
    expect(await page.getByTestId('dept-101').textContent()).toMatch(/Service level/);
    expect(await text('agent-1002-state')).toBe('Not ready');
    await page.getByTestId('lang-toggle').click();
  });

  it('a break is told apart from a missed call, in Russian and in English', async () => {
    await makeReady(server, '1003');
    await server.agentStates.transition(await agentId(server, '1003'), 'temporarily_not_ready', {
      reason: 'ivr_break', // the service IVR's key 3
      source: 'ivr',
    });
    await page.locator('[data-testid=agent-1003-reason]', { hasText: 'перерыв' }).waitFor({ timeout: 5000 });
    expect(await text('agent-1003-state')).toBe('Временно не готов');
    await page.getByTestId('lang-toggle').click();
    expect(await text('agent-1003-reason')).toContain('break');
    expect(await text('agent-1003-state')).toBe('Temporarily not ready');
    await page.getByTestId('lang-toggle').click();
  });
});
