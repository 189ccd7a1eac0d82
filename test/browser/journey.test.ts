import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { TestPhone } from '../phone/phone.ts';
import {
  SALES,
  answerAgent,
  answerThenSendTo,
  makeReady,
  startWithTrunk,
  waitCdrOutcome,
  waitConnected,
} from '../integration/acd-helpers.ts';
import { phone } from '../integration/harness.ts';
import { closeRig, openAsSupervisor, SHOTS } from './chromium.ts';

/**
 * The call journey in the console (issue 14 item 1), in Chromium as a supervisor: a real call
 * from the test phone answered in 101 by 1002 and transferred to 102, where 1003 answers.
 */
describe('the call journey in Chromium', () => {
  let server: Server;
  let trunk: TestPhone;
  let browser: Browser;
  let page: Page;
  const phones: TestPhone[] = [];
  const CUSTOMER = '+79167654321';
  let cdrId: string;

  beforeAll(async () => {
    ({ server, trunk } = await startWithTrunk({ sipT1: 25 }));
    // The transferred call: 101 → 1002, `* 2 102` → 1003, then the customer hangs up.
    await makeReady(server, '1002');
    await makeReady(server, '1003'); // in 102 only
    const customerPhone = await phone({ number: CUSTOMER });
    phones.push(customerPhone);
    const customer = await customerPhone.call(SALES, { port: server.sipPort });
    await answerThenSendTo(server, trunk, customer, '1002', '102');
    await answerAgent(trunk, '1003');
    await waitConnected(server, '1003');
    await customer.hangup();
    cdrId = (await server.store.calls.listCdr())[0]!.id;
    await waitCdrOutcome(server, 'transferred', { cdrId });

    ({ browser, page } = await openAsSupervisor(server, '#calls'));
  }, 60_000);

  afterAll(() => closeRig({ phones, trunk, browser, server }));

  it("the calls list opens a transferred call's journey as a timeline", async () => {
    await page.getByTestId(`journey-link-${cdrId}`).click();
    const events = page.getByTestId('journey-events');
    await events.locator('li[data-kind=ended]').waitFor({ timeout: 8000 });
    expect(await page.getByTestId('journey-departments').textContent()).toBe('101 → 102');
    const items = await events.locator('li').all();
    const kinds = await Promise.all(items.map((li) => li.getAttribute('data-kind')));
    expect(kinds).toEqual([
      'entered',
      'offered',
      'answered',
      'transfer',
      'entered',
      'offered',
      'answered',
      'hangup',
      'ended',
    ]);
    // In Russian, with the people's identifiers: department codes and agent logins.
    const transfer = (await events.locator('li[data-kind=transfer]').textContent()) ?? '';
    expect(transfer).toContain('перевод');
    expect(transfer).toContain('Агент 1002');
    expect(transfer).toContain('→ 102');
    expect(await events.locator('li[data-kind=answered]').last().textContent()).toContain('Агент 1003');
    await page.screenshot({ path: path.join(SHOTS, 'journey.png'), fullPage: true });
  });

  it('the address of a journey opens it directly (the board links its calls there)', async () => {
    await page.goto(`http://127.0.0.1:${server.httpPort}/#calls/${cdrId}`);
    await page.getByTestId('journey-events').locator('li[data-kind=ended]').waitFor({ timeout: 8000 });
    await page.getByTestId('lang-toggle').click();
    await page.getByText('transfer', { exact: true }).waitFor();
  });
});
