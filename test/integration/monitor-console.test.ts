import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { callAs, createUser, signIn } from '../http/helpers.ts';
import { api, eventually } from './harness.ts';
import { CONTACT, monitorEvents, useCallRig } from './acd-helpers.ts';
import { VOICE, expectListen, expectWhisper, hears } from './hearing.ts';

/**
 * Listen, whisper and barge started from the console (issue 14 item 4):
 * `POST /api/v1/agents/1001/monitor` calls supervisor 1004's phone (on the test trunk); once it
 * answers, 1004 hears 1001's call as after key 9 in the service IVR, keys 1/2/3 change the mode,
 * `*` ends it, and the call's end hangs the supervisor up. With TEST_MEDIA_WORKERS=2 the same
 * runs on media worker threads (the supervisor's media is opened next to the customer's).
 */
const SUPERVISOR_HZ = VOICE.colleague;

type Answer = { status: number; body: { callId?: string; error?: { code: string; message: string } } };

const monitor = (server: Server, login: string, body: unknown): Promise<Answer> =>
  api(server, `/api/v1/agents/${login}/monitor`, { method: 'POST', body: JSON.stringify(body) });

describe('listen, whisper, barge from the console', () => {
  const rig = useCallRig({ expectNoLiveCalls: true });

  /** 1001 talks with a customer, each speaking its tone. */
  async function floor(): Promise<{
    server: Server;
    trunk: TestPhone;
    customer: PhoneCall;
    agent: PhoneCall;
  }> {
    const { server, trunk } = await rig.startWithTrunk();
    const { customer, agent } = await rig.connectCustomer();
    customer.send(new SineSource(VOICE.customer, 8000));
    agent.send(new SineSource(VOICE.agent, 8000));
    await hears(customer, VOICE.agent);
    return { server, trunk, customer, agent };
  }

  /** The API call rings 1004's phone on the trunk; it answers, speaking the supervisor's tone. */
  async function callSupervisor(server: Server, trunk: TestPhone, mode: string): Promise<PhoneCall> {
    const r = await monitor(server, '1001', { supervisor: '1004', mode });
    expect(r.status).toBe(202);
    const invite = await trunk.nextIncoming(8000, CONTACT['1004']);
    const sup = await trunk.answer(invite);
    sup.send(new SineSource(SUPERVISOR_HZ, 8000));
    return sup;
  }

  it('listen: hears both, heard by nobody; 2 whispers to the agent; the call ending hangs the supervisor up', async () => {
    const { server, trunk, customer, agent } = await floor();
    const sup = await callSupervisor(server, trunk, 'listen');
    const call = { customer, agent, sup, supHz: SUPERVISOR_HZ };
    await expectListen(call);
    // 2 on the supervisor's phone: whisper, only the agent hears the supervisor.
    sup.sendDtmf('2');
    await expectWhisper(call);
    // The customer hangs up: the supervisor's leg is hung up too.
    await customer.hangup();
    await sup.ended;
    await eventually(
      async () => (await monitorEvents(server)).at(-1)?.kind === 'monitor_stopped',
      3000,
      'monitor_stopped',
    );
    expect(await monitorEvents(server)).toMatchObject([
      { kind: 'monitor_started', agent: '1001', supervisor: '1004', mode: 'listen' },
      { kind: 'monitor_mode', agent: '1001', supervisor: '1004', mode: 'whisper' },
      { kind: 'monitor_stopped', agent: '1001', supervisor: '1004', detail: 'call_gone' },
    ]);
  });

  it('barge from the start; * hangs the supervisor up and leaves the pair as it was', async () => {
    const { server, trunk, customer, agent } = await floor();
    const sup = await callSupervisor(server, trunk, 'barge');
    await hears(customer, SUPERVISOR_HZ);
    await hears(agent, SUPERVISOR_HZ);
    await hears(sup, VOICE.customer);
    sup.sendDtmf('*');
    await sup.ended;
    customer.recorder.clear();
    agent.recorder.clear();
    await hears(customer, VOICE.agent);
    await hears(agent, VOICE.customer);
    expect(customer.recorder.heardTone(SUPERVISOR_HZ, 200)).toBe(false);
    await eventually(
      async () => (await monitorEvents(server)).at(-1)?.detail === 'supervisor',
      3000,
      'monitor_stopped: supervisor',
    );
    expect((await monitorEvents(server))[0]).toMatchObject({ kind: 'monitor_started', mode: 'barge' });
    await customer.hangup();
  });

  it('answers 404, 409, 400 and 403 with a reason', async () => {
    const { server } = await floor();
    expect((await monitor(server, '9999', { supervisor: '1004', mode: 'listen' })).status).toBe(404);
    // 1003 is in no call.
    const idle = await monitor(server, '1003', { supervisor: '1004', mode: 'listen' });
    expect(idle.status).toBe(409);
    expect(idle.body.error?.message).toMatch(/no call/);
    // 1002 has no supervisor flag; 1004 cannot hear itself; a mode that does not exist.
    expect((await monitor(server, '1001', { supervisor: '1002', mode: 'listen' })).status).toBe(400);
    expect((await monitor(server, '1004', { supervisor: '1004', mode: 'listen' })).status).toBe(400);
    expect((await monitor(server, '1001', { supervisor: '1004', mode: 'shout' })).status).toBe(400);
    // Another company's supervisor.
    const b = (
      await api<{ id: number }>(server, '/api/v1/companies', {
        method: 'POST',
        body: JSON.stringify({ name: 'B' }),
      })
    ).body.id;
    const created = await api(server, '/api/v1/agents', {
      method: 'POST',
      body: JSON.stringify({
        companyId: b,
        login: '2001',
        name: 'B supervisor',
        shortNumber: '21',
        contact: '+79000002001',
        pin: '4826',
        supervisor: true,
      }),
    });
    expect(created.status).toBe(201);
    const foreign = await monitor(server, '1001', { supervisor: '2001', mode: 'listen' });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error?.code).toBe('not_a_supervisor');
    // Console users: a viewer may not, a supervisor of company B may not touch A's agent.
    await createUser(server, {
      username: 'view-a',
      password: 'view-a-password',
      role: 'viewer',
      companyIds: [1],
    });
    await createUser(server, {
      username: 'sup-b',
      password: 'sup-b-password',
      role: 'supervisor',
      companyIds: [b],
    });
    await createUser(server, {
      username: 'sup-a',
      password: 'sup-a-password',
      role: 'supervisor',
      companyIds: [1],
    });
    const as = async (user: string, password: string, login: string): Promise<number> =>
      (
        await callAs(
          server,
          { cookie: await signIn(server, user, password) },
          'POST',
          `/api/v1/agents/${login}/monitor`,
          {
            supervisor: '1002',
            mode: 'listen',
          },
        )
      ).status;
    expect(await as('view-a', 'view-a-password', '1001')).toBe(403);
    expect(await as('sup-b', 'sup-b-password', '1001')).toBe(403);
    // A's own supervisor gets past the access check (1002 is no supervisor: 400).
    expect(await as('sup-a', 'sup-a-password', '1001')).toBe(400);
    // Nothing rang: no monitoring events.
    expect(await monitorEvents(server)).toEqual([]);
    expect(rig.trunk?.unclaimedIncoming.filter((i) => i.calledUser === CONTACT['1004'])).toEqual([]);
  });
});
