/**
 * Several nodes, one contact centre (issue 15, "Done when"): a real PostgreSQL, Kamailio with the
 * repository's deploy/kamailio/kamailio.cfg and three AgentLine nodes on loopback sharing the
 * database, all with --outbound-proxy at Kamailio: node-0 in this process (the test reads the
 * store and the API through it), node-1 and node-2 the real CLI in child processes, so that
 * node-2 can be killed with SIGKILL mid-run. Agents log in through the service IVR via Kamailio;
 * customers call the Sales hotline via Kamailio, each one either staying until an agent has
 * talked to them and hung up, or giving up in the greeting (the script's choice, every tenth).
 * One test phone plays every agent's mobile (the nodes' trunk, reached through Kamailio).
 *
 * Size: AGENTS agents and CALLS calls over SPREAD_MS (THREE_NODES_AGENTS, THREE_NODES_CALLS,
 * THREE_NODES_SPREAD_MS override them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promptPath } from '../../src/call/prompts.ts';
import type { BoardView as Board } from '../../src/http/routes/board-schema.ts';
import type { Server } from '../../src/server.ts';
import { getHeaderValues } from '../../src/sip/message/headers.ts';
import type { IncomingInvite } from '../../src/sip/ua/incoming-invite.ts';
import type { Cdr } from '../../src/store/store.ts';
import { call as apiCall, SseClient } from '../http/helpers.ts';
import { SALES, expectSoundQueueLog } from '../integration/acd-helpers.ts';
import { startFront, type Front } from '../integration/front.ts';
import { SERVICE, eventually, onPostgres, phone } from '../integration/harness.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { finishSuite, freePortBlock, killAll, sleep } from './tools.ts';

onPostgres();

const AGENTS = Number(process.env.THREE_NODES_AGENTS ?? 20);
const CALLS = Number(process.env.THREE_NODES_CALLS ?? 200);
const SPREAD_MS = Number(process.env.THREE_NODES_SPREAD_MS ?? 120_000);
/** node-2 is killed when this many of the calls have been placed. */
const KILL_AT = Math.floor(CALLS * 0.6);
const KILLED = 2;
const PIN = '2580';
/** A test phone carries 20 calls at once (40 RTP ports): customers are spread over several. */
const CUSTOMER_PHONES = 8;

const pad = (n: number): string => String(n).padStart(4, '0');
const contactOf = (i: number): string => `+7900300${pad(i)}`;
const customerOf = (i: number): string => `+7916500${pad(i)}`;
/** The script's choice: these customers give up in the greeting, before any agent is rung. */
const abandons = (i: number): boolean => i % 10 === 3;

type Outcome = 'answered' | 'abandoned' | 'lost' | 'failed' | 'stuck';
interface Placed {
  number: string;
  abandon: boolean;
  /** Index of the node holding the customer's dialog (its Contact); -1 when the call failed. */
  node: number;
  placedAt: number;
  outcome?: Outcome;
}
/** One INVITE to an agent's mobile: who was rung for whom, by which node. */
interface Ring {
  agent: string;
  caller: string;
  node: number;
  at: number;
}

describe('three nodes behind Kamailio on one PostgreSQL', () => {
  let front: Front | undefined;
  let trunk: TestPhone;
  const phones: TestPhone[] = [];

  beforeAll(async () => {
    const trunkPort = await freePortBlock(1);
    trunk = await phone({ number: 'trunk', sipPort: trunkPort });
    front = await startFront({ nodes: 1, processes: 2, server: { trunk: `sip:127.0.0.1:${trunkPort}` } });
  }, 90_000);

  afterAll(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await front?.close();
    await trunk.close();
    await killAll();
    finishSuite();
  });

  it(`${AGENTS} agents, ${CALLS} calls over ${SPREAD_MS / 1000} s; node-2 killed with SIGKILL mid-run`, async () => {
    const f = front!;
    const a: Server = f.nodes[0]!;
    const ports = [a.sipPort, ...f.children.map((c) => c.sipPort)];
    const nodeOfPort = (port: number | undefined): number => ports.indexOf(port ?? -1);
    const nodeOfCall = (c: PhoneCall): number => nodeOfPort(c.session.dialog.remoteTarget.port);
    const sales = (await a.store.directory.getDepartmentByCode(1, '101'))!;

    // The agents, Sales only, each with a mobile number of their own.
    const ids: number[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const agent = await a.store.directory.createAgent({
        companyId: 1,
        login: `3${pad(i)}`,
        name: `Agent ${i}`,
        shortNumber: String(400 + i),
        contact: contactOf(i),
        pin: PIN,
        departments: [{ departmentId: sales.id, priority: 1 }],
      });
      ids.push(agent.id);
    }
    const stateOf = async (id: number): Promise<string> => (await a.agentStates.getState(id)).state;

    // node-0's event stream: the board a supervisor watches, kept open all along.
    const { client: board } = await SseClient.open(a, '/api/v1/events', {
      authorization: 'Bearer test-token-123',
    });

    // Every agent's mobile: answers each ring after 0.6 s, talks 2–4 s, hangs up.
    const rings: Ring[] = [];
    const agentLegs: Promise<void>[] = [];
    let answering = true;
    const viaNode = (inv: IncomingInvite): number => {
      const vias = getHeaderValues(inv.request, 'via').join(',');
      return nodeOfPort(
        [...vias.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])).find((p) => ports.includes(p)),
      );
    };
    const answerer = (async () => {
      while (answering) {
        const inv = await trunk.nextIncoming(500).catch(() => undefined);
        if (!inv) continue;
        rings.push({ agent: inv.calledUser, caller: inv.caller.user, node: viaNode(inv), at: Date.now() });
        agentLegs.push(
          (async () => {
            await sleep(600);
            const leg = await trunk.answer(inv);
            await sleep(2000 + Math.floor(Math.random() * 2000));
            await leg.hangup();
          })().catch(() => undefined),
        );
      }
    })();

    // 1. Every agent logs in through the service IVR, via Kamailio (ten at a time).
    const desk = await phone({ number: 'desks' });
    phones.push(desk);
    const login = async (i: number): Promise<void> => {
      const c = await desk.call(SERVICE, { port: f.port }, { from: contactOf(i) });
      await c.waitForPrompt(promptPath('ru', 'enter_pin'), 20_000);
      c.sendDtmf(`${PIN}#`);
      await c.waitForPrompt(promptPath('ru', 'registered'), 20_000);
      await c.hangup();
    };
    for (let i = 0; i < AGENTS; i += 10) await Promise.all(ids.slice(i, i + 10).map((_, k) => login(i + k)));
    await eventually(
      async () => (await Promise.all(ids.map(stateOf))).every((s) => s === 'ready'),
      15_000,
      'every agent ready',
    );

    const customers: TestPhone[] = [];
    for (let i = 0; i < CUSTOMER_PHONES; i++) customers.push(await phone({ number: `customers${i}` }));
    phones.push(...customers);
    const placed: Placed[] = [];
    const settled: Promise<void>[] = [];
    let killedAt = 0;
    let markKilled: () => void = () => undefined;
    const killed = new Promise<void>((r) => (markKilled = r));
    /** Places customer call `i`; the returned promise settles when the call has (the script's way). */
    const place = async (i: number, number: string, abandon: boolean): Promise<[Placed, PhoneCall?]> => {
      const p: Placed = { number, abandon, node: -1, placedAt: Date.now() };
      placed.push(p);
      let c: PhoneCall;
      try {
        c = await customers[i % CUSTOMER_PHONES]!.call(SALES, { port: f.port }, { from: number });
      } catch {
        p.outcome = 'failed';
        return [p];
      }
      p.node = nodeOfCall(c);
      return [p, c];
    };
    const follow = async (p: Placed, c: PhoneCall | undefined): Promise<void> => {
      if (!c) return;
      if (p.abandon) {
        await sleep(150);
        await c.hangup();
        p.outcome = 'abandoned';
        return;
      }
      const lost = p.node === KILLED ? killed.then(() => 'lost' as const) : new Promise<never>(() => {});
      const end = await Promise.race([c.ended, lost, sleep(90_000).then(() => 'stuck' as const)]);
      p.outcome = end === 'remote' ? 'answered' : end === 'local' ? 'stuck' : end;
      if (end !== 'remote') void c.hangup();
    };

    // 2. The oldest call waits on node-2 (C) and newer ones on the others; an agent freed on
    // node-0 (A) takes the one on node-2.
    for (const id of ids) await a.agentStates.transition(id, 'not_ready', { reason: 'test', source: 'api' });
    let m = 0;
    const waitingOn = async (number: string): Promise<void> =>
      eventually(
        async () => {
          const cdr = (await a.store.calls.listCdr()).find((x) => x.callerId === number);
          const row = cdr && (await a.live!.floorCalls(1)).find((x) => x.callId === cdr.id);
          return row?.waitingSince !== null && row?.waitingSince !== undefined;
        },
        20_000,
        `${number} waiting`,
      );
    let oldest: Placed | undefined;
    while (!oldest) {
      const [p, c] = await place(m, `+7916600${pad(m++)}`, false);
      if (p.node !== KILLED) {
        p.abandon = true; // not the one the moment needs: it gives up at once
        settled.push(follow(p, c));
        continue;
      }
      await waitingOn(p.number);
      settled.push(follow(p, c));
      oldest = p;
    }
    const newer: Placed[] = [];
    for (let k = 0; k < 2; k++) {
      const [p, c] = await place(m, `+7916600${pad(m++)}`, false);
      await waitingOn(p.number);
      settled.push(follow(p, c));
      newer.push(p);
    }
    expect(newer.some((p) => p.node !== KILLED)).toBe(true);
    // node-0's board shows the whole floor: every waiting call, whichever node holds it.
    const wholeFloor = (await apiCall<Board>(a, 'GET', '/api/v1/board?companyId=1&department=101')).body;
    expect(wholeFloor.departments[0]?.waiting).toBe(3);
    expect(wholeFloor.calls.map((x) => x.callerId).sort()).toEqual(
      [oldest, ...newer].map((p) => p.number).sort(),
    );
    const ringsBefore = rings.length;
    await a.agentStates.transition(ids[0]!, 'ready', { reason: 'test', source: 'api' });
    await eventually(() => rings.length > ringsBefore, 10_000, 'the freed agent rung');
    expect(rings[ringsBefore]).toMatchObject({ agent: contactOf(0), caller: oldest.number, node: KILLED });
    for (const id of ids.slice(1))
      await a.agentStates.transition(id, 'ready', { reason: 'test', source: 'api' });

    // 3. The load: CALLS customers through Kamailio over SPREAD_MS; node-2 killed at KILL_AT.
    const start = Date.now();
    let heldByKilled: { callIds: string[]; agents: number[] } = { callIds: [], agents: [] };
    for (let i = 0; i < CALLS; i++) {
      await sleep(start + (i * SPREAD_MS) / CALLS - Date.now());
      if (i === KILL_AT) {
        const floor = (await a.live!.floorCalls(1)).filter((x) => x.nodeId === `node-${KILLED}`);
        // Agents talking to node-2's customers: theirs to free (an agent only rung is not busy).
        const agents: number[] = [];
        for (const x of floor)
          if (x.agentId !== null && (await stateOf(x.agentId)) === 'busy') agents.push(x.agentId);
        heldByKilled = { callIds: floor.map((x) => x.callId), agents };
        killedAt = Date.now();
        await f.children[KILLED - 1]!.kill9();
        markKilled();
      }
      settled.push(place(i, customerOf(i), abandons(i)).then(([p, c]) => follow(p, c)));
    }
    await Promise.all(settled);
    answering = false;
    await answerer;
    await Promise.all(agentLegs);
    const load = placed.filter((p) => p.number.startsWith('+7916500'));

    // Calls spread over all three nodes; after the kill, only over the two left.
    const perNode = [0, 1, 2].map((n) => load.filter((p) => p.node === n).length);
    const afterKill = load.filter((p) => p.placedAt >= killedAt);
    console.log(
      `calls per node ${perNode.join(' / ')}; after the kill ${[0, 1, 2].map((n) => afterKill.filter((p) => p.node === n).length).join(' / ')}`,
    );
    for (const n of perNode) expect(n).toBeGreaterThan(0);
    expect(afterKill.filter((p) => p.node === KILLED || p.outcome === 'failed')).toEqual([]);

    // node-2's agents free again within 10 s (node_lost), and node-0's board said so.
    expect(heldByKilled.agents.length).toBeGreaterThan(0);
    let freedMs = 0;
    for (const id of heldByKilled.agents) {
      const freed = (await a.store.agentStates.listStateHistory({ agentId: id })).find(
        (h) => h.reason === 'node_lost' && h.at >= killedAt,
      );
      expect(freed, `agent ${id} freed (node_lost)`).toBeDefined();
      freedMs = Math.max(freedMs, freed!.at - killedAt);
      expect(
        board.events.some(
          (e) =>
            e.event === 'agent' &&
            e.data.includes(`"login":"3${pad(ids.indexOf(id))}"`) &&
            e.data.includes('"node_lost"'),
        ),
      ).toBe(true);
    }
    expect(freedMs).toBeLessThanOrEqual(10_000);
    const afterBoard = (await apiCall<Board>(a, 'GET', '/api/v1/board?companyId=1')).body;
    expect(afterBoard.calls.filter((x) => heldByKilled.callIds.includes(x.id))).toEqual([]);

    // Every call ended as the script chose (its CDR by the API), or went with node-2.
    await eventually(
      async () => (await a.store.calls.listCdr({ limit: 1000 })).every((x) => x.endedAt !== null),
      15_000,
      'every CDR closed',
    );
    const viaApi = (
      await apiCall<{ calls: { callerId: string; outcome: string }[] }>(
        a,
        'GET',
        '/api/v1/calls?companyId=1&limit=1000',
      )
    ).body.calls;
    const cdrOf = new Map(viaApi.map((x) => [x.callerId, x]));
    const cdrs: Cdr[] = await a.store.calls.listCdr({ limit: 1000 });
    const lost = placed.filter((p) => p.outcome === 'lost');
    for (const p of placed) {
      const want = p.outcome === 'lost' ? 'node_lost' : p.abandon ? 'abandoned' : 'answered';
      expect(p.outcome, `${p.number} on node-${p.node}`).toBe(p.outcome === 'lost' ? 'lost' : want);
      expect(cdrOf.get(p.number)?.outcome, `CDR of ${p.number}`).toBe(want);
    }
    console.log(
      `kill -9 of node-2: its ${heldByKilled.agents.length} agents free in ${freedMs} ms; ${lost.length} calls lost with it`,
    );

    // The queue log of the whole floor: no agent offered two calls at once, no call two agents.
    const events = (await Promise.all(cdrs.map((x) => a.store.calls.listQueueEvents(x.id)))).flat();
    const lostIds = new Set(cdrs.filter((x) => x.outcome === 'node_lost').map((x) => x.id));
    expectSoundQueueLog(events, cdrs, ids, lostIds);
    expect(new Set(cdrs.flatMap((x) => x.agentIds)).size).toBeGreaterThan(1);
  }, 240_000);
});
