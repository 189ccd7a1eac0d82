import { describe, expect, it } from 'vitest';
import { promptPath } from '../../src/call/prompts.ts';
import { SineSource } from '../phone/sine.ts';
import { api, eventually, freshTestDb, onPostgres, sleep } from './harness.ts';
import {
  SALES,
  answerAgent,
  loginByCallerId,
  stateOf,
  useCallRig,
  waitConnected,
  waitState,
} from './acd-helpers.ts';
import { VOICE, hears } from './hearing.ts';

/**
 * The call flows on PostgreSQL (issue 15 item 1): the same server, real SIP and RTP with the test
 * phones, its store a fresh database on a PostgreSQL of this file's own. The flows themselves are
 * tested in depth on SQLite (service-ivr, acd, agent-menu); here one walk through each store use.
 */
onPostgres();

const RINGBACK_HZ = 425;

describe('call flows on PostgreSQL', () => {
  const rig = useCallRig({ expectNoLiveCalls: true });

  it('an agent logs in through the service IVR, takes a queued call, transfers it; the CDR is in the API', async () => {
    const { server, trunk } = await rig.startWithTrunk({ sipT1: 25 });
    await server.store.directory.updateCompanySettings(1, { externalTransfer: 'release_immediately' });
    // Agent 1001 logs in from their own phone (caller id known: PIN only) and stays in the menu,
    // so the customer who calls now queues.
    const ivr = await loginByCallerId(server, await rig.phone('+79000000001'));
    await ivr.waitForPrompt(promptPath('ru', 'main_menu'), 8000);
    const customer = await (await rig.phone('+79161112233')).call(SALES, { port: server.sipPort });
    await eventually(() => server.acd.waiting(1).length === 1, 5000, 'customer queued');
    ivr.sendDtmf('*');
    expect(await ivr.ended).toBe('remote');
    // The waiting customer is offered to them at the contact the IVR recorded.
    const { call: agent } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    expect(await stateOf(server, '1001')).toBe('busy');
    customer.send(new SineSource(VOICE.customer, 8000));
    agent.send(new SineSource(VOICE.agent, 8000));
    await hears(agent, VOICE.customer);
    await hears(customer, VOICE.agent);
    // The agent transfers the customer out (* 1 number #) and is released at once.
    agent.sendDtmf('*');
    await sleep(300);
    agent.sendDtmf('189261234567#');
    expect(await agent.ended).toBe('remote');
    const inv = await trunk.nextIncoming(5000, '+79261234567');
    inv.provisional(180);
    await customer.waitForTone(RINGBACK_HZ, 4000, 300);
    const target = await trunk.answer(inv);
    target.send(new SineSource(VOICE.target, 6000));
    await hears(customer, VOICE.target);
    await waitState(server, '1001', 'ready');
    await target.hangup();
    expect(await customer.ended).toBe('remote');
    await eventually(
      async () => (await server.store.calls.listCdr())[0]?.outcome === 'transferred',
      5000,
      'CDR closed',
    );
    const { status, body } = await api<{ calls: Record<string, unknown>[]; total: number }>(
      server,
      '/api/v1/calls',
    );
    expect(status).toBe(200);
    expect(body.total).toBe(1);
    expect(body.calls[0]).toMatchObject({
      callerId: '+79161112233',
      outcome: 'transferred',
      transfers: 1,
      agentLogins: ['1001'],
    });
    expect(body.calls[0]?.queueSeconds).toBeGreaterThan(0);
    const events = (await server.store.calls.listQueueEvents(String(body.calls[0]?.id))).map((e) => e.kind);
    expect(events).toContain('transfer');
  });

  it('a restart on the same database keeps the agent state and closes the calls left open', async () => {
    const db = await freshTestDb();
    let server = await rig.start({ db });
    const ivr = await loginByCallerId(server, await rig.phone('+79000000001'));
    await ivr.hangup();
    await waitState(server, '1001', 'ready');
    await server.store.calls.insertCdr({ id: 'left-open', startedAt: Date.now() - 1000 });
    await rig.close();
    server = await rig.start({ db });
    expect(await stateOf(server, '1001')).toBe('ready');
    expect(await server.store.calls.getCdr('left-open')).toMatchObject({ outcome: 'interrupted' });
    expect((await server.store.directory.listCompanies()).length).toBeGreaterThan(0);
  });
});
