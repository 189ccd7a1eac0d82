import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { CompanySettings } from '../../src/store/store.ts';
import type { PhoneCall } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { api, sleep } from './harness.ts';
import { answerAgent, makeReady, useCallRig, waitCdrOutcome, waitState } from './acd-helpers.ts';
import { ACCEPT_HZ, VOICE, hears } from './hearing.ts';

/**
 * The figures a call leaves behind (issue 14 item 1), end to end over the test phone: the
 * outcome (a transfer the customer abandoned while its target rang is `abandoned`; otherwise the
 * same whoever hangs up first) and each agent's own talk time, read back from the API.
 */

/** The outside number as the agent keys it, and as it reaches the trunk. */
const OUTSIDE = { keyed: '89261234567', e164: '+79261234567' };

interface CallView {
  outcome: string;
  transfers: number;
  answeredAt: string;
  talkSeconds: number;
  agentTalk: { agent: string; talkSeconds: number }[];
  events: { kind: string; agent?: string; detail?: string }[];
}

describe('call figures end to end', () => {
  const rig = useCallRig({ expectNoLiveCalls: true });

  /** Customer and 1001 connected and hearing each other, with company settings applied first. */
  async function connected(settings: Partial<CompanySettings> = {}): Promise<{
    server: Server;
    customer: PhoneCall;
    agent: PhoneCall;
    cdrId: string;
  }> {
    const { server } = await rig.startWithTrunk({ sipT1: 25 });
    await server.store.directory.updateCompanySettings(1, settings);
    const { customer, agent } = await rig.connectCustomer({ from: '+79161112233' });
    customer.send(new SineSource(VOICE.customer, 15_000));
    agent.send(new SineSource(VOICE.agent, 15_000));
    await hears(agent, VOICE.customer);
    await hears(customer, VOICE.agent);
    const cdrId = (await server.store.calls.listCdr())[0]!.id;
    return { server, customer, agent, cdrId };
  }

  /** The agent keys `* 1 <number> #`: a transfer to a number (an outside one or a colleague's). */
  async function transferTo(agent: PhoneCall, number: string): Promise<void> {
    agent.recorder.clear();
    agent.sendDtmf('*');
    await agent.waitForTone(ACCEPT_HZ, 3000, 60);
    agent.sendDtmf(`1${number}#`);
  }

  const journey = async (server: Server, id: string): Promise<CallView> =>
    (await api<CallView>(server, `/api/v1/calls/${id}`)).body;

  /** Whole seconds from the answer to `until` (wall clock): the most an agent can have talked. */
  const secondsSinceAnswer = (v: CallView, until: number): number =>
    Math.round((until - Date.parse(v.answeredAt)) / 1000);

  for (const mode of ['release_immediately', 'release_on_answer'] as const)
    it(`${mode}: the customer hangs up while the outside number rings — abandoned, no transfer counted`, async () => {
      const { server, customer, agent, cdrId } = await connected({ externalTransfer: mode });
      await transferTo(agent, OUTSIDE.keyed);
      const ringing = await rig.trunk!.nextIncoming(5000, OUTSIDE.e164);
      ringing.provisional(180);
      await customer.hangup();
      await waitCdrOutcome(server, 'abandoned', { cdrId, what: 'the abandoned transfer' });
      expect(await agent.ended).toBe('remote');
      const v = await journey(server, cdrId);
      expect(v).toMatchObject({ outcome: 'abandoned', transfers: 0 });
      expect(v.events.at(-1)).toMatchObject({ kind: 'ended', detail: 'abandoned' });
      expect(v.events.some((e) => e.kind === 'transfer' && e.detail === 'connected')).toBe(false);
      await waitState(server, '1001', 'ready');
    });

  for (const first of ['customer', 'colleague'] as const)
    it(`handed to a colleague (short number), ${first} hangs up first: transferred, each agent credited with their own talk`, async () => {
      const { server, customer, agent, cdrId } = await connected({ externalTransfer: 'release_on_answer' });
      await makeReady(server, '1002');
      await sleep(1200); // 1001 talks a while first
      await transferTo(agent, '202'); // 1002's short number
      const { call: colleague } = await answerAgent(rig.trunk!, '1002');
      expect(await agent.ended).toBe('remote');
      const firstLeft = Date.now();
      colleague.send(new SineSource(VOICE.colleague, 15_000));
      await hears(customer, VOICE.colleague);
      await sleep(2500); // then the colleague, longer
      await (first === 'customer' ? customer : colleague).hangup();
      await waitCdrOutcome(server, 'transferred', { cdrId });
      await waitState(server, '1002', 'ready');

      const v = await journey(server, cdrId);
      expect(v).toMatchObject({ outcome: 'transferred', transfers: 1 });
      const talk = new Map(v.agentTalk.map((t) => [t.agent, t.talkSeconds]));
      expect([...talk.keys()]).toEqual(['1001', '1002']);
      // 1001 talked only until leaving; the colleague's 2.5 s and more are theirs alone.
      expect(talk.get('1001')!).toBeLessThanOrEqual(secondsSinceAnswer(v, firstLeft));
      expect(talk.get('1002')!).toBeGreaterThanOrEqual(2);
      expect(talk.get('1001')! + talk.get('1002')!).toBeLessThanOrEqual(v.talkSeconds + 1);
      expect(v.events.filter((e) => e.kind === 'hangup').map((e) => e.detail)).toEqual([
        first === 'customer' ? 'customer' : 'agent',
      ]);

      // The day's summary credits each agent with their own share, not the call's whole talk.
      const { body: summary } = await api<{ agents: { login?: string; talkSeconds: number }[] }>(
        server,
        '/api/v1/reports/summary?companyId=1',
      );
      const summed = new Map(summary.agents.map((a) => [a.login, a.talkSeconds]));
      expect(summed.get('1001')).toBe(talk.get('1001'));
      expect(summed.get('1002')).toBe(talk.get('1002'));
    });

  it("release_immediately to an outside number that answers: the agent is not credited with the customer's time with it; the outside number hangs up first and the call is transferred", async () => {
    const { server, customer, agent, cdrId } = await connected({ externalTransfer: 'release_immediately' });
    await sleep(1200);
    await transferTo(agent, OUTSIDE.keyed);
    expect(await agent.ended).toBe('remote');
    const agentLeft = Date.now();
    const outside = await rig.trunk!.answer(await rig.trunk!.nextIncoming(5000, OUTSIDE.e164));
    outside.send(new SineSource(VOICE.target, 15_000));
    await hears(customer, VOICE.target);
    await sleep(2500);
    await outside.hangup();
    expect(await customer.ended).toBe('remote');
    await waitCdrOutcome(server, 'transferred', { cdrId });

    const v = await journey(server, cdrId);
    expect(v).toMatchObject({ outcome: 'transferred', transfers: 1 });
    expect(v.agentTalk.map((t) => t.agent)).toEqual(['1001']);
    const own = v.agentTalk[0]!.talkSeconds;
    expect(own).toBeLessThanOrEqual(secondsSinceAnswer(v, agentLeft));
    // The call's talk holds the outside conversation too; nobody is credited with it.
    expect(v.talkSeconds).toBeGreaterThanOrEqual(own + 2);
  });

  for (const first of ['agent', 'customer'] as const)
    it(`no transfer, ${first} hangs up first: answered, the agent credited with the whole talk`, async () => {
      const { server, customer, agent, cdrId } = await connected();
      await sleep(1200);
      await (first === 'agent' ? agent : customer).hangup();
      await waitCdrOutcome(server, 'answered', { cdrId });
      const v = await journey(server, cdrId);
      expect(v).toMatchObject({ outcome: 'answered', transfers: 0 });
      expect(v.agentTalk).toEqual([{ agent: '1001', talkSeconds: v.talkSeconds }]);
      expect(v.events.filter((e) => e.kind === 'hangup').map((e) => e.detail)).toEqual([first]);
      await waitState(server, '1001', 'ready');
    });
});
