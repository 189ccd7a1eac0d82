import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import {
  SALES,
  answerAgent,
  makeReady,
  startWithTrunk,
  waitCdrOutcome,
  waitConnected,
} from '../integration/acd-helpers.ts';
import { eventually, phone, sleep } from '../integration/harness.ts';
import { VOICE, hears } from '../integration/hearing.ts';
import { closeRig, openAsSupervisor, SHOTS } from './chromium.ts';

/** What the test reads of the page's `<audio>` (the test is compiled without the DOM types). */
interface AudioLike {
  error: { code: number } | null;
  duration: number;
  currentTime: number;
  muted: boolean;
  play(): Promise<void>;
}

/**
 * A recorded call in the console (issue 14 item 3), in Chromium as a supervisor: the journey
 * lists the recording with a player, and the browser loads and plays the WAV (with the
 * console's cookie; no token in the address).
 */
describe('a call recording in Chromium', () => {
  let server: Server;
  let trunk: TestPhone;
  let browser: Browser;
  let page: Page;
  const phones: TestPhone[] = [];
  let cdrId: string;
  let recordingId: number;

  beforeAll(async () => {
    ({ server, trunk } = await startWithTrunk({ sipT1: 25 }));
    await server.store.directory.updateCompanySettings(1, { recording: 'all', recordingAnnouncement: 'off' });
    await makeReady(server, '1001');
    const customerPhone = await phone({ number: '+79167654321' });
    phones.push(customerPhone);
    const customer = await customerPhone.call(SALES, { port: server.sipPort });
    customer.send(new SineSource(VOICE.customer, 6000));
    const { call: agent } = await answerAgent(trunk, '1001');
    agent.send(new SineSource(VOICE.agent, 6000));
    await waitConnected(server, '1001');
    await hears(customer, VOICE.agent);
    await sleep(1500);
    await customer.hangup();
    cdrId = (await server.store.calls.listCdr())[0]!.id;
    await waitCdrOutcome(server, 'answered', { cdrId });
    await eventually(
      async () => (await server.store.recordings.listRecordings(cdrId)).some((r) => r.endedAt !== null),
      5000,
      'the recording finished',
    );
    recordingId = (await server.store.recordings.listRecordings(cdrId))[0]!.id;
    ({ browser, page } = await openAsSupervisor(server, `#calls/${cdrId}`));
  }, 60_000);

  afterAll(() => closeRig({ phones, trunk, browser, server }));

  it('the journey lists the recording; its player loads the WAV and plays it', async () => {
    const events = page.getByTestId('journey-events');
    await events.locator('li[data-kind=ended]').waitFor({ timeout: 8000 });
    expect(await events.locator('li[data-kind=recording_started]').textContent()).toContain('запись начата');
    const audio = page.getByTestId(`recording-${recordingId}`);
    await audio.waitFor();
    // The browser fetched it with the session cookie: the address holds no credentials.
    const src = (await audio.getAttribute('src')) ?? '';
    expect(src).toBe(`/api/v1/calls/${cdrId}/recordings/${recordingId}`);
    const read = (): Promise<{ error: number | null; duration: number; time: number }> =>
      audio.evaluate((a: AudioLike) => ({
        error: a.error?.code ?? null,
        duration: a.duration,
        time: a.currentTime,
      }));
    await eventually(
      async () => {
        const st = await read();
        return st.error !== null || (Number.isFinite(st.duration) && st.duration > 0);
      },
      8000,
      'the audio element loaded the WAV (or failed)',
    );
    const state = await read();
    expect(state.error).toBeNull();
    expect(state.duration).toBeGreaterThan(1);
    // Played (a click first: the page has had a user gesture), time moves on.
    await audio.click();
    await audio.evaluate(async (a: AudioLike) => {
      a.muted = true;
      await a.play();
    });
    await eventually(async () => (await read()).time > 0.2, 8000, 'the recording plays');
    expect(await page.getByText('Запись не загрузилась').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'recording.png'), fullPage: true });
  });
});
