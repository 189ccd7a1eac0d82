import { describe, expect, it } from 'vitest';
import { api, eventually } from './harness.ts';
import {
  SALES,
  agentId,
  answerAgent,
  makeReady,
  useCallRig,
  waitCdrOutcome,
  waitState,
} from './acd-helpers.ts';
import { SineSource } from '../phone/sine.ts';
import { VOICE, hears } from './hearing.ts';

interface Journey {
  outcome: string;
  events: { kind: string; agent?: string; detail?: string }[];
}

const post = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

/**
 * Supervisor actions over real SIP (issue 14 item 5): ending a live call, and forcing an agent
 * out of an offer or a call with the customer put back at the head of the queue.
 */
describe('supervisor actions', () => {
  const rig = useCallRig({ expectNoLiveCalls: true });

  it('ends a live bridged call: both legs get BYE, the CDR and the journey say who', async () => {
    const { server } = await rig.startWithTrunk();
    const { customer, agent } = await rig.connectCustomer({
      customerHz: VOICE.customer,
      agentHz: VOICE.agent,
    });
    await hears(customer, VOICE.agent);
    const callId = server.acd.liveCalls[0]!.id;

    const r = await api(server, `/api/v1/calls/${callId}/hangup`, { method: 'POST' });
    expect(r.status).toBe(204);
    expect(await customer.ended).toBe('remote');
    expect(await agent.ended).toBe('remote');
    await waitCdrOutcome(server, 'ended_by_supervisor', { cdrId: callId });
    await waitState(server, '1001', 'ready');

    const { body } = await api<Journey>(server, `/api/v1/calls/${callId}`);
    expect(body.outcome).toBe('ended_by_supervisor');
    expect(body.events.find((e) => e.kind === 'ended_by_supervisor')).toMatchObject({
      agent: '1001',
      detail: 'admin-token',
    });
    expect(body.events.at(-1)).toMatchObject({ kind: 'ended', detail: 'ended_by_supervisor' });
    // Over: a second hang-up, like an unknown call, is a 404.
    expect((await api(server, `/api/v1/calls/${callId}/hangup`, { method: 'POST' })).status).toBe(404);
    expect((await api(server, '/api/v1/calls/nope/hangup', { method: 'POST' })).status).toBe(404);
  });

  it('a forced logout of a busy agent re-queues the customer, whom another agent answers', async () => {
    const { server, trunk } = await rig.startWithTrunk();
    const { customer, agent } = await rig.connectCustomer({
      customerHz: VOICE.customer,
      agentHz: VOICE.agent,
    });
    await hears(customer, VOICE.agent);
    const callId = server.acd.liveCalls[0]!.id;

    // Without force, a busy agent is left alone.
    const refused = await api<{ error: { code: string; message: string } }>(
      server,
      '/api/v1/agents/1001/state',
      post({ state: 'logged_out' }),
    );
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/force/);

    await makeReady(server, '1002');
    const forced = await api<{ state: string }>(
      server,
      '/api/v1/agents/1001/state',
      post({ state: 'logged_out', force: true }),
    );
    expect(forced.status).toBe(200);
    expect(forced.body.state).toBe('logged_out');
    expect(await agent.ended).toBe('remote');
    expect(customer.state).toBe('up');

    // Back at the head of 101: 1002 takes the customer, and they hear each other.
    const { call: second } = await answerAgent(trunk, '1002');
    second.send(new SineSource(VOICE.colleague, 4000));
    await hears(customer, VOICE.colleague);
    await customer.hangup();
    await waitCdrOutcome(server, 'answered', { cdrId: callId });

    const history = await server.store.agentStates.listStateHistory({
      agentId: await agentId(server, '1001'),
    });
    expect(history.at(-1)).toMatchObject({ from: 'busy', to: 'logged_out', reason: 'supervisor_logout' });
    const { body } = await api<Journey>(server, `/api/v1/calls/${callId}`);
    const kinds = body.events.map((e) => [e.kind, e.agent ?? null]);
    expect(kinds).toContainEqual(['agent_removed', '1001']);
    expect(kinds.slice(kinds.findIndex(([k]) => k === 'agent_removed'))).toEqual(
      expect.arrayContaining([
        ['requeued', null],
        ['answered', '1002'],
      ]),
    );
  });

  it('a forced logout of an offered agent withdraws the offer; the call stays first in line', async () => {
    const { server, trunk } = await rig.startWithTrunk();
    await makeReady(server, '1001');
    const c = await rig.phone('+79161230001');
    const customer = await c.call(SALES, { port: server.sipPort });
    const ringing = await trunk.nextIncoming(5000, '+79000000001');
    ringing.provisional(180);
    await waitState(server, '1001', 'offered');

    const refused = await api(server, '/api/v1/agents/1001/state', post({ state: 'not_ready' }));
    expect(refused.status).toBe(409);
    const forced = await api<{ state: string }>(
      server,
      '/api/v1/agents/1001/state',
      post({ state: 'not_ready', force: true }),
    );
    expect(forced.body.state).toBe('not_ready');
    await eventually(() => ringing.state === 'cancelled', 3000, 'the offer INVITE cancelled');
    expect(server.acd.liveCalls[0]?.state).toBe('queued');
    const history = await server.store.agentStates.listStateHistory({
      agentId: await agentId(server, '1001'),
    });
    expect(history.at(-1)).toMatchObject({
      from: 'offered',
      to: 'not_ready',
      reason: 'supervisor_not_ready',
    });

    // The next agent gets it.
    await makeReady(server, '1002');
    const { call: second } = await answerAgent(trunk, '1002');
    second.send(new SineSource(VOICE.colleague, 4000));
    await hears(customer, VOICE.colleague);
    await customer.hangup();
    await waitCdrOutcome(server, 'answered');
  });
});
