import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { promptPath } from '../../src/call/prompts.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SERVICE, api, eventually, phone, startServer } from '../integration/harness.ts';
import { SHOTS, launchChromium, signInAs as signInOn } from './chromium.ts';

/** The web console in real headless Chromium (`chromium.ts`). */

/** A day of made-up calls (local time) so that the report has something to draw. */
async function seedCalls(server: Server): Promise<void> {
  const agents = await server.store.directory.listAgents({ companyId: 1 });
  const day = new Date();
  day.setHours(0, 0, 0, 0);
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const volume = [0, 0, 0, 0, 0, 0, 0, 1, 4, 9, 12, 10, 7, 9, 11, 8, 6, 3, 1, 0, 0, 0, 0, 0];
  let n = 0;
  for (let h = 0; h < 24; h++) {
    for (let i = 0; i < (volume[h] ?? 0); i++) {
      const startedAt = day.getTime() + h * 3600_000 + Math.floor(rnd() * 3500_000);
      const wait = Math.floor(rnd() * (h === 10 || h === 14 ? 60 : 30)) * 1000;
      const abandoned = rnd() < (h === 10 ? 0.25 : 0.08);
      const agent = agents[Math.floor(rnd() * agents.length)];
      const talk = 40 + Math.floor(rnd() * 300);
      await server.store.calls.insertCdr({
        id: `demo-${n++}`,
        startedAt,
        companyId: 1,
        hotline: rnd() < 0.6 ? '+74950000001' : '+74950000002',
        callerId: `+7916${String(1000000 + Math.floor(rnd() * 8999999))}`,
        departmentId: rnd() < 0.6 ? 1 : 2,
        queuedAt: startedAt + 2000,
        answeredAt: abandoned ? null : startedAt + 2000 + wait,
        endedAt: startedAt + 2000 + wait + (abandoned ? 0 : talk * 1000),
        agentIds: abandoned || !agent ? [] : [agent.id],
        outcome: abandoned ? 'abandoned' : 'answered',
        talkSeconds: abandoned ? 0 : talk,
      });
    }
  }
}

const stateOf = (page: Page, login: string): Promise<string | null> =>
  page.getByTestId(`agent-${login}-state`).getAttribute('data-state');

describe('web console in Chromium', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  const phones: TestPhone[] = [];

  beforeAll(async () => {
    server = await startServer();
    await seedCalls(server);
    for (const user of [
      { username: 'olga', password: 'olga-console-pw', role: 'admin' },
      { username: 'sveta', password: 'sveta-console-pw', role: 'supervisor', companyIds: [1] },
    ]) {
      const r = await api(server, '/api/v1/users', { method: 'POST', body: JSON.stringify(user) });
      expect(r.status).toBe(201);
    }
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 760 }, locale: 'ru-RU' });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await browser?.close();
    await server?.stop();
  });

  const signInAs = (username: string, password: string): Promise<void> => signInOn(page, username, password);

  it('signs in with username and password (and refuses a wrong one); the session is an HttpOnly cookie', async () => {
    await page.goto(`http://127.0.0.1:${server.httpPort}/`);
    await signInAs('olga', 'wrong-password');
    await page.getByText('Неверное имя пользователя или пароль').waitFor();
    await signInAs('olga', 'olga-console-pw');
    await page.getByTestId('agents-table').waitFor();
    expect(await page.getByTestId('agent-1001-state').textContent()).toBe('Не в системе');
    expect(await page.getByTestId('signed-in-user').textContent()).toBe('olga');
    // Script sees no secret: not in storage, and the cookie is HttpOnly.
    expect(
      await page.evaluate('JSON.stringify(sessionStorage) + JSON.stringify(localStorage) + document.cookie'),
    ).toBe('{}{}');
    const cookies = await page.context().cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: 'agentline_session',
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
    });
    // A reload keeps the session (the cookie), no second sign-in.
    await page.reload();
    await page.getByTestId('agents-table').waitFor();
  });

  it('changes ringSeconds in the settings and it is saved', async () => {
    await page.getByTestId('nav-settings').click();
    const ring = page.getByTestId('settings-ringSeconds');
    await ring.waitFor();
    expect(await ring.inputValue()).toBe('20');
    expect(await page.getByTestId('settings-country').inputValue()).toBe('RU');
    await ring.fill('25');
    await page.getByTestId('settings-save').click();
    await page.getByTestId('status-saved').first().waitFor();
    const { body } = await api<{ ringSeconds: number }>(server, '/api/v1/companies/1/settings');
    expect(body.ringSeconds).toBe(25);
    // A value the API refuses shows its message and changes nothing.
    await ring.fill('1');
    await page.getByTestId('settings-save').click();
    await page.getByTestId('status-error').first().waitFor();
    expect(await page.getByTestId('status-error').first().textContent()).toMatch(/ringSeconds/);
    expect(
      (await api<{ ringSeconds: number }>(server, '/api/v1/companies/1/settings')).body.ringSeconds,
    ).toBe(25);
    await page.reload();
    await page.getByTestId('settings-ringSeconds').waitFor();
    expect(await page.getByTestId('settings-ringSeconds').inputValue()).toBe('25');
  });

  it('trunks: creates one with a write-only password, edits it without touching the password, deletes it', async () => {
    await page.getByTestId('nav-trunks').click();
    await page.getByTestId('trunks-table').waitFor();
    const secret = 'trunk-pw-s3cret';
    await page.getByTestId('trunk-field-name').fill('carrier-a');
    await page.getByTestId('trunk-field-uri').fill('sip:127.0.0.1:5999');
    await page.getByTestId('trunk-field-username').fill('7495123');
    await page.getByTestId('trunk-field-password').fill(secret);
    await page.getByTestId('trunk-field-qualifySeconds').fill('0');
    await page.getByTestId('trunk-field-numberFormat').selectOption('national');
    await page.getByTestId('trunk-save').click();
    await page.getByTestId('trunk-row-carrier-a').waitFor();
    expect(await page.getByTestId('trunk-carrier-a-registration').getAttribute('data-state')).toBe('off');
    expect(await page.getByTestId('trunk-carrier-a-status').getAttribute('data-state')).toBe('unknown');
    const created = await server.store.trunks.get('carrier-a');
    expect(created).toMatchObject({ username: '7495123', password: secret, numberFormat: 'national' });
    // Edit: the password field starts empty (never shown back) and an empty one changes nothing.
    await page.getByTestId('trunk-edit-carrier-a').click();
    expect(await page.getByTestId('trunk-field-password').inputValue()).toBe('');
    expect(await page.getByTestId('trunk-field-uri').inputValue()).toBe('sip:127.0.0.1:5999');
    await page.getByTestId('trunk-field-priority').fill('5');
    await page.getByTestId('trunk-field-inbandDtmf').selectOption('always');
    await page.getByTestId('trunk-save').click();
    await page.getByTestId('status-saved').first().waitFor();
    await eventually(
      async () => (await server.store.trunks.get('carrier-a'))?.priority === 5,
      3000,
      'priority saved',
    );
    expect(await server.store.trunks.get('carrier-a')).toMatchObject({
      password: secret,
      inbandDtmf: 'always',
    });
    expect(await page.content()).not.toContain(secret);
    // The API refuses register without credentials; the page shows its message.
    await page.getByTestId('trunk-edit-carrier-a').click();
    await page.getByTestId('trunk-field-clearPassword').check();
    await page.getByTestId('trunk-field-register').check();
    await page.getByTestId('trunk-save').click();
    await page.getByTestId('status-error').first().waitFor();
    expect(await page.getByTestId('status-error').first().textContent()).toMatch(/register/);
    expect((await server.store.trunks.get('carrier-a'))?.password).toBe(secret);
    await page.screenshot({ path: path.join(SHOTS, 'trunks.png'), fullPage: true });
    page.once('dialog', (d) => void d.accept());
    await page.getByTestId('trunk-delete-carrier-a').click();
    await page.getByTestId('trunk-row-carrier-a').waitFor({ state: 'detached' });
    expect(await server.store.trunks.get('carrier-a')).toBeNull();
  });

  it('shows agent 1001 logging in through the service IVR live, and the waiting call', async () => {
    await page.getByTestId('nav-board').click();
    await page.locator('[data-testid=live-indicator].on').waitFor({ timeout: 5000 });
    // Some colour on the board: supervisors' changes and a customer waiting in 102.
    await api(server, '/api/v1/agents/1002/state', {
      method: 'POST',
      body: JSON.stringify({ state: 'ready' }),
    });
    await api(server, '/api/v1/agents/1002/state', {
      method: 'POST',
      body: JSON.stringify({ state: 'not_ready' }),
    });
    await api(server, '/api/v1/agents/1003/state', {
      method: 'POST',
      body: JSON.stringify({ state: 'ready' }),
    });
    await api(server, '/api/v1/agents/1003/state', {
      method: 'POST',
      body: JSON.stringify({ state: 'temporarily_not_ready' }),
    });
    expect(await stateOf(page, '1001')).toBe('logged_out');

    const agentPhone = await phone({ number: '+79000000001' });
    phones.push(agentPhone);
    const ivr = await agentPhone.call(SERVICE, { port: server.sipPort });
    await ivr.waitForPrompt(promptPath('ru', 'enter_pin'));
    ivr.sendDtmf('2580#');
    await ivr.waitForPrompt(promptPath('ru', 'registered'), 8000);
    // The board follows the event stream: no reload.
    await page.locator('[data-testid=agent-1001-state][data-state=ready]').waitFor({ timeout: 5000 });
    expect(await page.getByTestId('agent-1001-state').textContent()).toBe('Готов');
    const since = page.getByTestId('agent-1001-since');
    const first = await since.textContent();
    await eventually(async () => (await since.textContent()) !== first, 3000, 'time in state ticking');
    await ivr.hangup();

    const customer = await phone({ number: '+79161234567' });
    phones.push(customer);
    const waiting = await customer.call('+74950000002', { port: server.sipPort });
    await page.locator('[data-testid=calls-table] >> text=+79161234567').waitFor({ timeout: 8000 });
    // The board's screenshots (wide and 390 px) are taken by board.test.ts.
    await waiting.hangup();
    await page.locator('[data-testid=calls-table]').waitFor({ state: 'detached', timeout: 5000 });
  }, 60_000);

  it('lists calls with filters', async () => {
    await page.getByTestId('nav-calls').click();
    await page.locator('[data-testid=cdr-table] tbody tr').first().waitFor();
    await page.getByRole('combobox').filter({ hasText: 'отвечен' }).selectOption('abandoned');
    await page.getByRole('button', { name: 'Найти' }).click();
    await eventually(
      async () =>
        (await page.locator('[data-testid=cdr-table] tbody tr').allTextContents()).every((r) =>
          r.includes('потерян'),
        ),
      3000,
      'filtered',
    );
  });

  it('draws the report and switches to English', async () => {
    await page.getByTestId('nav-report').click();
    await page.getByTestId('hour-chart').waitFor();
    expect(await page.locator('[data-testid=hour-chart] rect').count()).toBeGreaterThan(10);
    expect(await page.getByTestId('report-kpis').textContent()).toMatch(/Уровень обслуживания/);
    await page.screenshot({ path: path.join(SHOTS, 'report.png'), fullPage: true });
    await page.getByTestId('lang-toggle').click();
    expect(await page.getByTestId('nav-report').textContent()).toBe('Report');
    expect(await page.getByTestId('report-kpis').textContent()).toMatch(/Service level/);
    await page.getByTestId('lang-toggle').click();
  });

  it('signs out; a supervisor signs in and sees no settings page', async () => {
    await page.getByTestId('sign-out').click();
    await page.locator('input[name=username]').waitFor();
    expect(await page.context().cookies()).toHaveLength(0);
    await signInAs('sveta', 'sveta-console-pw');
    await page.getByTestId('nav-board').click();
    await page.getByTestId('agents-table').waitFor();
    expect(await page.getByTestId('signed-in-user').textContent()).toBe('sveta');
    expect(await page.getByTestId('nav-settings').count()).toBe(0);
    expect(await page.getByTestId('nav-trunks').count()).toBe(0);
    expect(await page.getByTestId('nav-board').count()).toBe(1);
  });
});
