import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { promptPath } from '../../src/call/prompts.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { SERVICE, eventually, phone, sleep, startServer } from './harness.ts';
import { SALES, answerAgent, makeReady, startWithTrunk, waitConnected } from './acd-helpers.ts';

const ACCEPT_HZ = 1000;

/** Packets a phone receives from the server: payload type and arrival time. */
function tap(call: PhoneCall): { pkts: { pt: number; at: number }[] } {
  const pkts: { pt: number; at: number }[] = [];
  call.rtp.onPacket = (pt) => pkts.push({ pt, at: performance.now() });
  return { pkts };
}

/**
 * Watches `ms` of what arrives: at least `min` packets (50 per second are due) and no gap
 * over 200 ms — a phone with an RTP timeout never sees the stream stop.
 */
async function steady(t: { pkts: { pt: number; at: number }[] }, ms: number, min: number) {
  const from = t.pkts.length;
  await sleep(ms);
  const window = t.pkts.slice(from);
  expect(window.length).toBeGreaterThanOrEqual(min);
  let maxGap = 0;
  for (let i = 1; i < window.length; i++) maxGap = Math.max(maxGap, window[i]!.at - window[i - 1]!.at);
  expect(maxGap).toBeLessThan(200);
  return window;
}

/** Issue 10 item 7: an answered leg sends RTP every 20 ms whenever nothing else plays to it. */
describe('a leg never goes silent on the wire', () => {
  let server: Server;
  const phones: TestPhone[] = [];

  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await eventually(() => server.engine.activeLegs === 0, 5000, 'legs released');
    await server.stop();
  });

  it('the agent in the agent menu and in waiting mode gets encoded silence (PCMU, no CN offered)', async () => {
    let trunk: TestPhone;
    ({ server, trunk } = await startWithTrunk({ sipT1: 25 }));
    phones.push(trunk);
    await makeReady(server, '1001');
    const customerPhone = await phone({ number: '+79161112233' });
    phones.push(customerPhone);
    const customer = await customerPhone.call(SALES, { port: server.sipPort });
    const { call: agent } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    const t = tap(agent);

    agent.recorder.clear();
    agent.sendDtmf('*');
    await agent.waitForTone(ACCEPT_HZ, 3000, 60);
    // The beep is over within the window's first part; the rest is the menu's silence.
    const menu = await steady(t, 1500, 50);
    expect(menu.every((p) => p.pt === 0)).toBe(true);

    agent.sendDtmf('4');
    await eventually(
      () => server.acd.liveCalls.some((c) => c.inCall?.state === 'waiting'),
      3000,
      'waiting mode',
    );
    await steady(t, 1500, 50);
    await customer.hangup();
  });

  it('a phone that offered CN gets CN between prompts (service IVR waiting for the PIN)', async () => {
    server = await startServer();
    const p = await phone({ number: '+79000000001', comfortNoise: true });
    phones.push(p);
    const call = await p.call(SERVICE, { port: server.sipPort });
    const t = tap(call);
    await call.waitForPrompt(promptPath('ru', 'enter_pin'));
    await eventually(() => t.pkts.some((x) => x.pt === 13), 5000, 'CN after the prompt');
    const window = await steady(t, 1500, 50);
    expect(window.every((x) => x.pt === 13)).toBe(true);
    await call.hangup();
  });
});
