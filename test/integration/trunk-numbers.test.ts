import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { getHeader, parseNameAddr } from '../../src/sip/message/headers.ts';
import type { CompanySettings, TrunkPatch } from '../../src/store/store.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { promptPath, type PromptId } from '../../src/call/prompts.ts';
import { SERVICE, api } from './harness.ts';
import {
  CONTACT,
  SALES,
  answerAgent,
  makeReady,
  waitConnected,
  waitState,
  useCallRig,
} from './acd-helpers.ts';

const ru = (id: PromptId): string => promptPath('ru', id);
const ACCEPT_HZ = 1000;
const ERROR_HZ = 480;

/**
 * Number handling per company country and per trunk (issue 9): the dial plan
 * the company's numbers are read in, how a trunk wants numbers written on the
 * calls we send it, where it puts the dialled number, and its inband DTMF.
 */
describe('numbers per country and per trunk', () => {
  let server: Server;
  let trunk: TestPhone;
  const rig = useCallRig();

  async function setup(settings: Partial<CompanySettings> = {}): Promise<void> {
    ({ server, trunk } = await rig.startWithTrunk({ sipT1: 25 }));
    if (Object.keys(settings).length) await server.store.directory.updateCompanySettings(1, settings);
  }

  /** A second trunk, `carrier`, that takes calls from 127.0.0.1 (the test phones) ahead of the default one. */
  async function addInboundCarrier(o: Partial<TrunkPatch>): Promise<void> {
    const created = await api(server, '/api/v1/trunks', {
      method: 'POST',
      body: JSON.stringify({
        name: 'carrier',
        uri: 'sip:127.0.0.1:9',
        inbound: ['127.0.0.1'],
        ...o,
        priority: 900,
        qualifySeconds: 0,
      }),
    });
    expect(created.status).toBe(201);
  }

  async function patchTrunk(name: string, patch: TrunkPatch): Promise<void> {
    const r = await api(server, `/api/v1/trunks/${name}`, { method: 'PATCH', body: JSON.stringify(patch) });
    expect(r.status).toBe(200);
  }

  async function customerCall(
    dialled: string,
    o: { to?: string; from?: string } = {},
  ): Promise<{ customer: PhoneCall; agent: PhoneCall }> {
    await makeReady(server, '1001');
    const c = await rig.phone(o.from ?? '+79161112233');
    const customer = await c.call(dialled, { port: server.sipPort }, { to: o.to });
    const { call: agent } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    return { customer, agent };
  }

  /** The agent keys `*`, then `1` + digits + `#`: an external transfer. */
  async function transfer(agent: PhoneCall, digits: string): Promise<void> {
    agent.recorder.clear();
    agent.sendDtmf('*');
    await agent.waitForTone(ACCEPT_HZ, 3000, 60);
    agent.sendDtmf(`1${digits}#`);
  }

  async function hangupBoth(customer: PhoneCall, agent: PhoneCall): Promise<void> {
    await customer.hangup();
    await agent.ended;
    await waitState(server, '1001', 'ready');
  }

  it('RU: 8…, 7… and +7… reach the same hotline, and 8…, 7…, 007… the same transfer target', async () => {
    await setup({ externalTransfer: 'release_on_answer' });
    const forms = [
      ['84950000001', '89261234567'],
      ['74950000001', '79261234567'],
      ['+74950000001', '0079261234567'],
    ] as const;
    for (const [hotline, target] of forms) {
      const { customer, agent } = await customerCall(hotline);
      expect(server.acd.liveCalls[0]?.hotline).toBe(SALES);
      await transfer(agent, target);
      const inv = await trunk.nextIncoming(5000, '+79261234567');
      inv.reject(486);
      await agent.waitForTone(ERROR_HZ, 4000, 60); // back with the customer
      await hangupBoth(customer, agent);
    }
    const cdrs = await server.store.calls.listCdr();
    expect(cdrs.map((c) => c.hotline)).toEqual([SALES, SALES, SALES]);
  });

  it('a German company: 0… is its national form, 00… international, an 8… number is not Russian there', async () => {
    await setup({
      country: 'DE',
      externalTransfer: 'release_on_answer',
      allowedDestinations: ['agents', '+7*', '+49*'],
    });
    const sales = await server.store.directory.getNumber(SALES);
    await server.store.directory.putNumber({ ...sales!, number: '+49301234567' });
    // The caller id is read in the company's plan too.
    const { customer, agent } = await customerCall('0301234567', { from: '0401234567' });
    expect(server.acd.liveCalls[0]).toMatchObject({ hotline: '+49301234567', callerId: '+49401234567' });
    // 8926… is no number in Germany: +7* does not allow it, the agent gets the error beep.
    await transfer(agent, '89261234567');
    await agent.waitForTone(ERROR_HZ, 4000, 60);
    expect(trunk.unclaimedIncoming).toHaveLength(0);
    // Still in the menu after a refusal.
    agent.sendDtmf('10079261234567#');
    const inv = await trunk.nextIncoming(5000, '+79261234567');
    inv.reject(486);
    await agent.waitForTone(ERROR_HZ, 4000, 60);
    await hangupBoth(customer, agent);
    expect((await server.store.calls.listCdr())[0]).toMatchObject({
      hotline: '+49301234567',
      callerId: '+49401234567',
    });
  });

  it('numberFormat national: R-URI, To, From and P-Asserted-Identity on that trunk carry national numbers', async () => {
    await setup({ externalTransfer: 'release_on_answer', allowedDestinations: ['agents', '+7*', '+44*'] });
    await patchTrunk('default', { numberFormat: 'national' });
    await makeReady(server, '1001');
    const c = await rig.phone('+79161112233');
    const customer = await c.call(SALES, { port: server.sipPort });
    const invite = await trunk.nextIncoming(10_000, '89000000001');
    expect(parseNameAddr(getHeader(invite.request, 'to') ?? '')?.uri.user).toBe('89000000001');
    expect(invite.caller.user).toBe('89161112233');
    expect(getHeader(invite.request, 'P-Asserted-Identity')).toBe('<sip:84950000001@127.0.0.1>');
    expect(getHeader(invite.request, 'Diversion')).toMatch(/^<sip:84950000001@127\.0\.0\.1>;/);
    const agent = await trunk.answer(invite);
    await waitConnected(server, '1001');
    // An external transfer goes out the same way; a foreign number gets the international prefix.
    await transfer(agent, '0044201234567');
    const inv = await trunk.nextIncoming(5000, '81044201234567');
    expect(inv.caller.user).toBe('89161112233');
    inv.reject(486);
    await agent.waitForTone(ERROR_HZ, 4000, 60);
    await hangupBoth(customer, agent);
  });

  it('numberFormat e164: no +', async () => {
    await setup();
    await patchTrunk('default', { numberFormat: 'e164' });
    await makeReady(server, '1001');
    const c = await rig.phone('+79161112233');
    const customer = await c.call(SALES, { port: server.sipPort });
    const invite = await trunk.nextIncoming(10_000, (CONTACT['1001'] as string).slice(1));
    expect(invite.caller.user).toBe('79161112233');
    expect(getHeader(invite.request, 'P-Asserted-Identity')).toBe('<sip:74950000001@127.0.0.1>');
    const agent = await trunk.answer(invite);
    await waitConnected(server, '1001');
    await hangupBoth(customer, agent);
  });

  it('numberFrom to: a call whose R-URI is our registration contact reaches the hotline named in To', async () => {
    await setup();
    await addInboundCarrier({ numberFrom: 'to' });
    const { customer, agent } = await customerCall('agentline-reg', { to: '84950000001' });
    expect(server.acd.liveCalls[0]?.hotline).toBe(SALES);
    await hangupBoth(customer, agent);
  });

  it('inbandDtmf always: an agent on that trunk whose phone offers telephone-event is heard keying in the audio', async () => {
    await setup();
    await patchTrunk('default', { inbandDtmf: 'always' });
    const { customer, agent } = await customerCall(SALES);
    agent.recorder.clear();
    agent.sendDtmf('*', 'inband');
    await agent.waitForTone(ACCEPT_HZ, 4000, 60);
    await hangupBoth(customer, agent);
  });

  it('inbandDtmf always on an inbound trunk: an agent logs in with PIN tones in the audio through it', async () => {
    await setup();
    await addInboundCarrier({ inbandDtmf: 'always' });
    const pin = '7391648';
    const set = await api(server, '/api/v1/agents/1001/pin', {
      method: 'POST',
      body: JSON.stringify({ pin }),
    });
    expect(set.status).toBe(204);
    const p = await rig.phone(CONTACT['1001'] as string); // offers telephone-event
    const ivr = await p.call(SERVICE, { port: server.sipPort });
    await ivr.waitForPrompt(ru('enter_pin'));
    ivr.sendDtmf(`${pin}#`, 'inband');
    await ivr.waitForPrompt(ru('registered'), 8000);
    await ivr.hangup();
  });

  it('a German deployment: an agent calling the service number from 030… is recognised by the caller id', async () => {
    await setup({ country: 'DE' });
    const r = await api(server, '/api/v1/agents/1001', {
      method: 'PATCH',
      body: JSON.stringify({ contact: '+49301111111' }),
    });
    expect(r.status).toBe(200);
    const p = await rig.phone('0301111111');
    const ivr = await p.call(SERVICE, { port: server.sipPort });
    // Known by the number: asked for the PIN straight away, not for a login.
    await ivr.waitForPrompt(ru('enter_pin'));
    await ivr.hangup();
  });

  it('the trunk API shows and validates the new fields', async () => {
    await setup();
    const t = await api<Record<string, unknown>>(server, '/api/v1/trunks/default');
    expect(t.body).toMatchObject({
      numberFormat: 'e164_plus',
      inbandDtmf: 'auto',
      numberFrom: 'request_uri',
    });
    const bad = await api(server, '/api/v1/trunks/default', {
      method: 'PATCH',
      body: JSON.stringify({ numberFormat: 'local' }),
    });
    expect(bad.status).toBe(400);
    const s = await api<Record<string, unknown>>(server, '/api/v1/companies/1/settings');
    expect(s.body['country']).toBe('RU');
    const badCountry = await api(server, '/api/v1/companies/1/settings', {
      method: 'PATCH',
      body: JSON.stringify({ country: 'XX' }),
    });
    expect(badCountry.status).toBe(400);
  });
});
