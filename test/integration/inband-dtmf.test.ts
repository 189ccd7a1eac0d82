/**
 * Phones whose keys reach us only as tones in the audio (issue 10, item 2): the test
 * phone offers/answers no telephone-event and sends DTMF as G.711 dual tones; the
 * server's leg runs the inband detector and the digits drive the IVRs as RFC 4733 ones do.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { promptPath, type PromptId } from '../../src/call/prompts.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { SERVICE, api, eventually, phone, startServer } from './harness.ts';
import { SALES, answerAgent, makeReady, startWithTrunk, waitConnected } from './acd-helpers.ts';

const ru = (id: PromptId): string => promptPath('ru', id);
const ACCEPT_HZ = 1000;
/** 40 ms keys, 40 ms gaps at −20 dBm0 per tone: the shortest and quietest Q.24 asks for. */
const TONES = { toneMs: 40, gapMs: 60, levelDbm0: -20 };

const agentState = async (server: Server, login: string): Promise<string> =>
  (await api<{ state: string }>(server, `/api/v1/agents/${login}`)).body.state;

describe('inband DTMF', () => {
  let server: Server | undefined;
  const phones: TestPhone[] = [];

  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await server?.stop();
    server = undefined;
  });

  it('service IVR: PIN and menu key as tones in the audio, no telephone-event in the SDP', async () => {
    const srv = (server = await startServer());
    const p = await phone({ number: '+79000000001', inbandDtmf: true });
    phones.push(p);
    const call = await p.call(SERVICE, { port: srv.sipPort });
    // Our answer mirrors the offer: no telephone-event, so the leg listens to the audio.
    const leg = [...srv.engine.legs][0];
    expect(leg?.media?.dtmfPayloadType).toBeUndefined();
    expect(leg?.mediaSession.stats().inbandDtmf).toBe(true);
    await call.waitForPrompt(ru('enter_pin'));
    call.sendDtmf('2580#', 'inband', TONES);
    await call.waitForPrompt(ru('registered'), 8000);
    await eventually(async () => (await agentState(srv, '1001')) === 'ready', 3000, 'ready');
    await call.waitForPrompt(ru('main_menu'), 8000);
    call.sendDtmf('3', 'inband', TONES);
    await eventually(
      async () => (await agentState(srv, '1001')) === 'temporarily_not_ready',
      5000,
      'temporarily_not_ready',
    );
    await call.hangup();
  }, 30_000);

  it('in-call menu: the agent opens it with * sent as tones while both sides talk', async () => {
    let trunk: TestPhone;
    ({ server, trunk } = await startWithTrunk({ sipT1: 25 }, { inbandDtmf: true }));
    phones.push(trunk);
    const srv = server;
    await makeReady(srv, '1001');
    const customerPhone = await phone({ number: '+79161112233' });
    phones.push(customerPhone);
    const customer = await customerPhone.call(SALES, { port: srv.sipPort });
    const { call: agent } = await answerAgent(trunk, '1001');
    await waitConnected(srv, '1001');
    // Talk on both sides (the customer's voice reaches the agent's leg too, bridged).
    customer.send(new SineSource(700, 6000));
    agent.send(new SineSource(1300, 6000));
    agent.recorder.clear();
    await agent.waitForTone(700, 4000, 200);
    expect(agent.recorder.heardTone(ACCEPT_HZ, 60)).toBe(false);
    agent.sendDtmf('*', 'inband', TONES);
    await agent.waitForTone(ACCEPT_HZ, 3000, 60);
    await customer.hangup();
  }, 30_000);
});
