import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Server } from '../../src/server.ts';
import { api } from '../integration/harness.ts';

/**
 * Real headless Chromium (Debian's package; CI installs it) for the console's browser tests.
 * Screenshots go to docs/ when UPDATE_SCREENSHOTS=1, else to a scratch folder.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHOTS =
  process.env.UPDATE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs') : path.join(ROOT, 'data', 'screenshots');
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium (or says how to get it) and makes the screenshot folder. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH. The browser test needs a real browser.`,
    );
  }
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Fills the console's sign-in form and submits it. */
export async function signInAs(page: Page, username: string, password: string): Promise<void> {
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(password);
  await page.getByRole('button', { name: 'Войти' }).click();
}

/** A supervisor of company 1 (made here) signed in to the console at `hash`, in Russian, 1280 px wide. */
export async function openAsSupervisor(server: Server, hash = ''): Promise<{ browser: Browser; page: Page }> {
  const user = { username: 'sveta', password: 'sveta-console-pw', role: 'supervisor', companyIds: [1] };
  expect((await api(server, '/api/v1/users', { method: 'POST', body: JSON.stringify(user) })).status).toBe(
    201,
  );
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU' });
  await page.goto(`http://127.0.0.1:${server.httpPort}/${hash}`);
  await signInAs(page, user.username, user.password);
  return { browser, page };
}

/** What a console browser test starts: its phones, the trunk's far end, Chromium and the server. */
export interface ConsoleRig {
  phones: { close(): Promise<void> }[];
  trunk?: { close(): Promise<void> };
  browser?: Browser;
  server?: Server;
}

/** Releases a console test's rig (afterAll): phones, trunk, Chromium, then the server. */
export async function closeRig(rig: ConsoleRig): Promise<void> {
  await Promise.all(rig.phones.splice(0).map((p) => p.close()));
  await rig.trunk?.close();
  await rig.browser?.close();
  await rig.server?.stop();
}
