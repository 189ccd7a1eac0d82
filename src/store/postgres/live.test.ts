import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../store.ts';
import { openPostgresStore } from './open.ts';
import { openPostgresLive, type PostgresLive } from './live.ts';
import { startTestPostgres, type TestPostgres } from './test-server.ts';
import type { LiveMessage } from '../live.ts';

/**
 * The shared live state (issue 15) on a real PostgreSQL: two nodes' views of one database, and
 * the steps two nodes may take at once, raced for real (each on connections of its own).
 */
describe('PostgreSQL live state', () => {
  let pg: TestPostgres;
  let store: Store;
  let a: PostgresLive;
  let b: PostgresLive;
  let agents: number[];
  let departmentId: number;
  let companyId: number;
  let url: string;

  beforeAll(async () => {
    pg = await startTestPostgres();
  }, 60_000);
  afterAll(async () => {
    await pg.stop();
  });
  beforeEach(async () => {
    url = await pg.freshDatabase();
    store = await openPostgresStore(url);
    a = await openPostgresLive(url, { nodeId: 'a' });
    b = await openPostgresLive(url, { nodeId: 'b' });
    const company = await store.directory.createCompany({ name: 'Acme' });
    companyId = company.id;
    const sales = await store.directory.createDepartment({ companyId, code: '101', name: 'Sales' });
    departmentId = sales.id;
    agents = [];
    for (let i = 0; i < 4; i++) {
      const agent = await store.directory.createAgent({
        companyId,
        login: `100${i}`,
        name: `Agent ${i}`,
        shortNumber: `10${i}`,
        pin: '2580',
        contact: `+7900000000${i}`,
        departments: [{ departmentId, priority: 1 }],
      });
      agents.push(agent.id);
    }
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await store.close();
  });

  const waitOn = async (live: PostgresLive, callId: string, head = false): Promise<void> => {
    await live.callStarted({ callId, companyId, departmentId, startedAt: 1000 });
    await live.wait(callId, departmentId, 1000, head);
  };

  it('heads: the oldest call not offered, over both nodes; one back at the head goes first', async () => {
    await waitOn(b, 'old');
    await waitOn(a, 'new');
    expect(await a.heads()).toEqual([{ callId: 'old', nodeId: 'b', departmentId, unreachable: [] }]);
    await a.setUnreachable('old', agents[1]!, true);
    expect((await b.heads())[0]?.unreachable).toEqual([agents[1]]);
    expect(await a.position('new')).toBe(2);
    expect(await a.waitingCount(departmentId)).toBe(2);
    await waitOn(a, 'back', true);
    expect((await b.heads())[0]?.callId).toBe('back');
    expect(await a.position('old')).toBe(2);
    // Offered calls are skipped; taken out of the queue, a call has no position.
    expect(await a.claim('back', agents[0]!, 'offer')).toBe(true);
    expect((await a.heads())[0]?.callId).toBe('old');
    await a.stopWaiting('old');
    expect(await a.position('old')).toBe(0);
    expect((await a.heads())[0]?.callId).toBe('new');
  });

  it("floorCalls: every node's live calls of the company, waiting or offered, with their agent", async () => {
    await waitOn(b, 'waits');
    await waitOn(a, 'offered');
    expect(await b.claim('offered', agents[0]!, 'offer')).toBe(true);
    await a.callStarted({ callId: 'greeting', companyId, departmentId, startedAt: 2000 });
    await a.callStarted({ callId: 'other', companyId: companyId + 1, departmentId, startedAt: 1000 });
    const calls = await b.floorCalls(companyId);
    expect(calls.sort((x, y) => x.callId.localeCompare(y.callId))).toEqual([
      { callId: 'greeting', nodeId: 'a', departmentId, waitingSince: null, agentId: null },
      { callId: 'offered', nodeId: 'a', departmentId, waitingSince: 1000, agentId: agents[0] },
      { callId: 'waits', nodeId: 'b', departmentId, waitingSince: 1000, agentId: null },
    ]);
    // Taken out of the queue (connected), the call keeps its agent through the hold.
    await a.stopWaiting('offered');
    expect((await a.floorCalls(companyId)).find((c) => c.callId === 'offered')).toMatchObject({
      waitingSince: null,
      agentId: agents[0],
    });
  });

  it('claim: of 8 passes on two nodes racing for one call, one gets it; the agent is held on the call’s node', async () => {
    await b.heartbeat();
    await waitOn(b, 'call');
    const racers = agents.flatMap((agent, i) =>
      [a, b].map((live) => live.claim('call', agent, `offer:${i}`)),
    );
    const won = (await Promise.all(racers)).filter(Boolean);
    expect(won).toHaveLength(1);
    const held = await Promise.all(agents.map((id) => a.isHeld(id)));
    expect(held.filter(Boolean)).toHaveLength(1);
    // The call's node sees the offer (to reconcile one whose word never came); the other not.
    const winner = agents[held.indexOf(true)]!;
    expect(await b.offeredSince(0)).toEqual([['call', winner]]);
    expect(await b.offeredSince(60_000)).toEqual([]);
    expect(await a.offeredSince(0)).toEqual([]);
    expect(await a.heads()).toEqual([]);
    // Lost with node b: the hold was b's, though a made the claim.
    await b.abandon();
    const [lost] = await a.takeLostNodes(0);
    expect(lost?.nodeId).toBe('b');
    expect(lost?.agents).toHaveLength(1);
  });

  it('claim: one agent, calls racing on two nodes: the agent gets one call; the others wait on', async () => {
    for (let i = 0; i < 6; i++) await waitOn(i % 2 ? a : b, `call${i}`);
    const agent = agents[0]!;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? b : a).claim(`call${i}`, agent, 'offer')),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await a.waitingCount(departmentId)).toBe(6);
    expect(await a.heads()).toHaveLength(1); // the oldest not offered
    // Back to waiting (the offer failed), the call and the agent can be taken again.
    const taken = `call${results.indexOf(true)}`;
    await a.unclaim(taken);
    await a.unhold(agent);
    expect(await a.claim(taken, agent, 'offer')).toBe(true);
  });

  it('an agent in the service IVR, or held, is not held again', async () => {
    const [x, y] = agents as [number, number];
    await b.enterMenu(x);
    expect(await a.hold(x, 'transfer')).toBe(false);
    expect(await a.boundAmong([x, y])).toEqual(new Set([x]));
    expect(await a.menuCount()).toBe(1);
    expect(await a.leaveMenu(x)).toBe(false); // b's menu, not a's
    expect(await b.leaveMenu(x)).toBe(true);
    expect(await a.hold(x, 'transfer')).toBe(true);
    expect(await b.hold(x, 'transfer')).toBe(false);
    await waitOn(a, 'call');
    expect(await b.claim('call', x, 'offer')).toBe(false);
    expect(await b.claim('call', y, 'offer')).toBe(true);
  });

  it('a lost node is taken out once: holds, menu and calls gone, its open CDRs closed as node_lost', async () => {
    await b.heartbeat();
    await a.heartbeat();
    expect(await a.othersAlive(60_000)).toEqual(['b']);
    await waitOn(b, 'talking');
    await waitOn(b, 'waiting');
    await store.calls.insertCdr({ id: 'talking', startedAt: 1000, companyId });
    await store.calls.insertCdr({ id: 'waiting', startedAt: 1000, companyId });
    await store.calls.insertCdr({
      id: 'done',
      startedAt: 1000,
      companyId,
      endedAt: 2000,
      outcome: 'answered',
    });
    expect(await a.claim('talking', agents[0]!, 'offer')).toBe(true);
    await b.enterMenu(agents[1]!);
    await b.abandon();
    await new Promise((r) => setTimeout(r, 300));
    await a.heartbeat();
    // Two survivors race for it: one wins.
    const c = await openPostgresLive(url, { nodeId: 'c' });
    const [fromA, fromC] = await Promise.all([a.takeLostNodes(200), c.takeLostNodes(200)]);
    await c.close();
    const taken = [...fromA, ...fromC];
    expect(taken).toEqual([{ nodeId: 'b', agents: [agents[0]], calls: 2 }]);
    expect((await a.boundAmong([agents[0]!])).has(agents[0]!)).toBe(false);
    expect(await a.menuCount()).toBe(0);
    expect(await a.heads()).toEqual([]);
    expect((await store.calls.getCdr('talking'))?.outcome).toBe('node_lost');
    expect((await store.calls.getCdr('waiting'))?.endedAt).not.toBeNull();
    expect((await store.calls.getCdr('done'))?.outcome).toBe('answered');
    // A node that beats again is not lost.
    expect(await a.takeLostNodes(60_000)).toEqual([]);
  });

  it('messages reach every node, the sender too', async () => {
    const message: LiveMessage = { kind: 'offer', nodeId: 'b', callId: 'x', agentId: 7 };
    const atB = new Promise<LiveMessage>((resolve) => b.onMessage(resolve));
    const atA = new Promise<LiveMessage>((resolve) => a.onMessage(resolve));
    await a.send(message);
    expect(await atB).toEqual(message);
    expect(await atA).toEqual(message);
  });
});
