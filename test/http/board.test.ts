import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { TestPhone } from '../phone/phone.ts';
import {
  SALES,
  answerAgent,
  makeReady,
  setState,
  startWithTrunk,
  waitConnected,
  waitState,
} from '../integration/acd-helpers.ts';
import { phone } from '../integration/harness.ts';
import { call, callAs, createUser, eventually, signIn } from './helpers.ts';

interface Board {
  companyId: number;
  timeZone: string;
  now: string;
  dayStart: string;
  serviceLevelSeconds: number;
  departments: {
    code: string;
    waiting: number;
    longestWaitSince: string | null;
    readyAgents: number;
    loggedInAgents: number;
    today: {
      offered: number;
      answered: number;
      abandoned: number;
      serviceLevel: number | null;
      averageSpeedOfAnswer: number | null;
    };
  }[];
  agents: {
    login: string;
    departments: string[];
    state: string;
    stateSince: string | null;
    stateReason: string;
    today: { calls: number; averageHandleTime: number | null };
  }[];
  calls: {
    callerId: string;
    department: string;
    state: string;
    agentLogin: string | null;
    waitingSince: string | null;
    answeredAt: string | null;
  }[];
}

describe('GET /api/v1/board: the live board of one company (issue 14 item 6)', () => {
  let server: Server;
  let trunk: TestPhone;
  const phones: TestPhone[] = [];
  const board = async (q = ''): Promise<Board> => {
    const r = await call<Board>(server, 'GET', `/api/v1/board?companyId=1${q}`);
    expect(r.status).toBe(200);
    return r.body;
  };
  const dep = (b: Board, code: string): Board['departments'][number] => {
    const d = b.departments.find((x) => x.code === code);
    if (!d) throw new Error(`no department ${code} on the board`);
    return d;
  };
  const agent = (b: Board, login: string): Board['agents'][number] => {
    const a = b.agents.find((x) => x.login === login);
    if (!a) throw new Error(`no agent ${login} on the board`);
    return a;
  };

  beforeAll(async () => {
    ({ server, trunk } = await startWithTrunk());
  });
  afterAll(async () => {
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await trunk?.close();
    await server?.stop();
  });

  it("counts today's calls in the company's time zone: offered, answered, abandoned, service level, ASA", async () => {
    const empty = await board();
    expect(empty.timeZone).toBe('Europe/Moscow');
    expect(empty.serviceLevelSeconds).toBe(20);
    const dayStart = Date.parse(empty.dayStart);
    // Moscow is UTC+3 all year: its day starts at 21:00 UTC.
    expect(new Date(dayStart).getUTCHours()).toBe(21);
    expect(dep(empty, '101').today).toEqual({
      offered: 0,
      answered: 0,
      abandoned: 0,
      serviceLevel: null,
      averageSpeedOfAnswer: null,
    });
    const [sales, support] = (await server.store.directory.listDepartments(1)).map((d) => d.id);
    const cdr = (id: string, startedAt: number, departmentId: number | undefined, waitS: number | null) =>
      server.store.calls.insertCdr({
        id,
        startedAt,
        companyId: 1,
        departmentId,
        queuedAt: startedAt + 1000,
        answeredAt: waitS === null ? null : startedAt + 1000 + waitS * 1000,
        endedAt: startedAt + 90_000,
        outcome: waitS === null ? 'abandoned' : 'answered',
      });
    await cdr('t1', dayStart + 1000, sales, 10);
    await cdr('t2', dayStart + 2000, sales, 30);
    await cdr('t3', dayStart + 3000, sales, null);
    await cdr('t4', dayStart + 4000, support, 5);
    await cdr('yesterday', dayStart - 60_000, sales, 1);
    const b = await board();
    // 2 answered (one within 20 s) + 1 abandoned: service level 1/3, ASA (10 + 30) / 2.
    expect(dep(b, '101').today).toEqual({
      offered: 3,
      answered: 2,
      abandoned: 1,
      serviceLevel: 0.333,
      averageSpeedOfAnswer: 20,
    });
    expect(dep(b, '102').today).toMatchObject({ offered: 1, answered: 1, serviceLevel: 1 });
  });

  it('a connected call shows when it was answered; afterwards the agent has a call and an AHT today', async () => {
    await makeReady(server, '1001');
    const customer = await phone({ number: '+79161110001' });
    phones.push(customer);
    const before = dep(await board(), '101').today.answered;
    const c = await customer.call(SALES, { port: server.sipPort });
    const { call: agentLeg } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    const live = await board();
    const row = live.calls.find((x) => x.callerId === '+79161110001');
    expect(row).toMatchObject({
      department: '101',
      state: 'connected',
      agentLogin: '1001',
      waitingSince: null,
    });
    expect(Date.parse(row?.answeredAt ?? '')).toBeLessThanOrEqual(Date.parse(live.now));
    expect(agent(live, '1001')).toMatchObject({
      state: 'busy',
      today: { calls: 1, averageHandleTime: null },
    });
    expect(dep(live, '101').today.answered).toBe(before + 1);
    await agentLeg.hangup();
    await c.ended;
    await waitState(server, '1001', 'ready');
    const after = await board();
    expect(after.calls).toEqual([]);
    const a = agent(after, '1001');
    expect(a.today.calls).toBe(1);
    expect(a.today.averageHandleTime).toBeGreaterThan(0);
  });

  it('a waiting call: the queue and the call say since when; a missed offer is the reason for not ready', async () => {
    // 1001 is offered the call and rejects it: temporarily not ready, reason no_answer.
    await makeReady(server, '1002');
    await setState(server, '1002', 'not_ready'); // logged in, so the call queues in 101
    const customer = await phone({ number: '+79161110002' });
    phones.push(customer);
    const c = await customer.call(SALES, { port: server.sipPort });
    const inv = await trunk.nextIncoming(10_000, '+79000000001');
    inv.reject(486, 'Busy Here');
    await waitState(server, '1001', 'temporarily_not_ready');
    let b = await board();
    await eventually(
      async () => {
        b = await board();
        return dep(b, '101').waiting === 1;
      },
      5000,
      'call waiting in 101',
    );
    const d = dep(b, '101');
    expect(d.longestWaitSince).not.toBeNull();
    expect(Date.parse(d.longestWaitSince ?? '')).toBeLessThanOrEqual(Date.parse(b.now));
    expect(d).toMatchObject({ readyAgents: 0, loggedInAgents: 2 });
    const row = b.calls.find((x) => x.callerId === '+79161110002');
    expect(row).toMatchObject({ department: '101', answeredAt: null, waitingSince: d.longestWaitSince });
    expect(agent(b, '1001')).toMatchObject({ state: 'temporarily_not_ready', stateReason: 'no_answer' });
    expect(agent(b, '1002')).toMatchObject({ state: 'not_ready', stateReason: 'test' });

    // The department filter: only 102's card, its agents and calls.
    const only = await board('&department=102');
    expect(only.departments.map((x) => x.code)).toEqual(['102']);
    expect(only.agents.map((x) => x.login).sort()).toEqual(['1002', '1003', '1004']);
    expect(only.calls).toEqual([]);

    await c.hangup();
    await eventually(async () => (await board()).calls.length === 0, 5000, 'call gone');
    expect(dep(await board(), '101').today.abandoned).toBe(2);
    await setState(server, '1001', 'ready');
    await setState(server, '1002', 'logged_out');
  });

  it('supervisors and viewers see only their companies; the company is required', async () => {
    const other = await call<{ id: number }>(server, 'POST', '/api/v1/companies', { name: 'Other' });
    await createUser(server, {
      username: 'sup2',
      password: 'sup2-console-pw',
      role: 'supervisor',
      companyIds: [other.body.id],
    });
    await createUser(server, {
      username: 'view1',
      password: 'view1-console-pw',
      role: 'viewer',
      companyIds: [1],
    });
    const sup2 = { cookie: await signIn(server, 'sup2', 'sup2-console-pw') };
    const view1 = { cookie: await signIn(server, 'view1', 'view1-console-pw') };
    expect((await callAs(server, sup2, 'GET', '/api/v1/board?companyId=1')).status).toBe(403);
    expect((await callAs(server, sup2, 'GET', `/api/v1/board?companyId=${other.body.id}`)).status).toBe(200);
    expect((await callAs(server, view1, 'GET', '/api/v1/board?companyId=1')).status).toBe(200);
    expect((await call(server, 'GET', '/api/v1/board')).status).toBe(400);
    expect((await call(server, 'GET', '/api/v1/board?companyId=1&department=1')).status).toBe(400);
    expect((await call(server, 'GET', '/api/v1/board?companyId=999')).status).toBe(404);
  });
});
