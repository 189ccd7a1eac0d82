import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { api, eventually, phone, sleep } from './harness.ts';
import {
  SALES,
  answerAgent,
  answerThenSendTo,
  makeReady,
  startWithTrunk,
  waitCdrOutcome,
  waitConnected,
  waitState,
} from './acd-helpers.ts';
import { VOICE, hears } from './hearing.ts';

interface Journey {
  id: string;
  outcome: string;
  department: string;
  departments: string[];
  agentLogins: string[];
  agentTalk: { agent: string; talkSeconds: number }[];
  events: {
    at: string;
    kind: string;
    department?: string;
    agent?: string;
    detail?: string;
    target?: string;
  }[];
}

/**
 * The call journey end to end (issue 14 item 1): a customer on 101 rings 1001 (no answer), is
 * answered by 1002 and sent to 102, where 1003 answers; `GET /api/v1/calls/{id}` tells it all.
 */
describe('call journey', () => {
  let server: Server;
  let trunk: TestPhone;
  let customerPhone: TestPhone;

  afterEach(async () => {
    await customerPhone?.close();
    await trunk?.close();
    await eventually(() => server.engine.activeLegs === 0, 5000, 'legs released');
    expect(server.acd.liveCalls).toHaveLength(0);
    await server.stop();
  });

  /** 101: 1001 rings out unanswered, 1002 answers and transfers to 102 (`* 2 102`). */
  async function toSupport(): Promise<{ customer: PhoneCall; cdrId: string }> {
    ({ server, trunk } = await startWithTrunk({ sipT1: 25 }));
    await server.store.directory.updateCompanySettings(1, { ringSeconds: 5 });
    await makeReady(server, '1001');
    await sleep(50);
    await makeReady(server, '1002');
    await makeReady(server, '1003'); // in 102 only
    customerPhone = await phone({ number: '+79161112233' });
    const customer = await customerPhone.call(SALES, { port: server.sipPort });
    const first = await trunk.nextIncoming(5000, '+79000000001');
    first.provisional(180); // rings, nobody answers
    await answerThenSendTo(server, trunk, customer, '1002', '102');
    const cdrId = (await server.store.calls.listCdr())[0]!.id;
    return { customer, cdrId };
  }

  it('rings 1001 without answer, answered by 1002, transferred to 102 and answered by 1003', async () => {
    const { customer, cdrId } = await toSupport();
    const { call: support } = await answerAgent(trunk, '1003');
    await waitConnected(server, '1003');
    support.send(new SineSource(VOICE.colleague, 6000));
    await hears(customer, VOICE.colleague);
    await customer.hangup();
    await waitCdrOutcome(server, 'transferred', { cdrId });
    await waitState(server, '1003', 'ready');

    const { status, body } = await api<Journey>(server, `/api/v1/calls/${cdrId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: cdrId,
      outcome: 'transferred',
      department: '101',
      departments: ['101', '102'],
      agentLogins: ['1002', '1003'],
    });
    expect(body.agentTalk.map((t) => t.agent)).toEqual(['1002', '1003']);
    const steps = body.events.map((e) => [e.kind, e.department, e.agent ?? null]);
    expect(steps).toEqual([
      ['entered', '101', null],
      ['offered', '101', '1001'],
      ['no_answer', '101', '1001'],
      ['offered', '101', '1002'],
      ['answered', '101', '1002'],
      ['transfer', '101', '1002'],
      ['entered', '102', null],
      ['offered', '102', '1003'],
      ['answered', '102', '1003'],
      ['hangup', '102', '1003'],
      ['ended', '102', null],
    ]);
    expect(body.events[5]).toMatchObject({ type: 'department', target: '102', detail: 'queued' });
    expect(body.events.at(-2)?.detail).toBe('customer');
    expect(body.events.at(-1)?.detail).toBe('transferred');
    // In order, and told in ISO times.
    const times = body.events.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const via = await api<{ calls: { id: string }[] }>(server, '/api/v1/calls?department=102');
    expect(via.body.calls.map((c) => c.id)).toEqual([cdrId]);
  });

  it('the customer hangs up while 102 rings for them: abandoned, not transferred', async () => {
    const { customer, cdrId } = await toSupport();
    const invite = await trunk.nextIncoming(5000, '+79000000003');
    invite.provisional(180);
    await waitState(server, '1003', 'offered');
    await customer.hangup();
    await waitCdrOutcome(server, 'abandoned', { cdrId, what: 'the abandoned transfer' });
    const { body } = await api<Journey>(server, `/api/v1/calls/${cdrId}`);
    expect(body.departments).toEqual(['101', '102']);
    expect(body.events.map((e) => e.kind).slice(-2)).toEqual(['abandoned', 'ended']);
  });
});
