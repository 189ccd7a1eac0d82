/**
 * Several nodes, one contact centre (issue 15, "Done when"): a real PostgreSQL, Kamailio with the
 * repository's deploy/kamailio/kamailio.cfg and three AgentLine nodes on loopback sharing the
 * database, all with --outbound-proxy at Kamailio: node-0 in this process (the test reads the
 * store and the API through it), node-1 and node-2 the real CLI in child processes, so that
 * node-2 can be killed with SIGKILL mid-run. The floor and its checks (agents logging in through
 * the service IVR via Kamailio, their mobiles, the customers and the script's choice of
 * abandoning, the CDR and queue-log checks) are test/interop/floor-load.ts, shared with the same
 * run on one node on SQLite (test/interop/single-node.test.ts).
 *
 * Size: AGENTS agents and CALLS calls over SPREAD_MS (THREE_NODES_AGENTS, THREE_NODES_CALLS,
 * THREE_NODES_SPREAD_MS override them).
 */
import { describe, expect, it } from 'vitest';
import type { BoardView as Board } from '../../src/http/routes/board-schema.ts';
import type { Server } from '../../src/server.ts';
import { getHeaderValues } from '../../src/sip/message/headers.ts';
import type { IncomingInvite } from '../../src/sip/ua/incoming-invite.ts';
import { call as apiCall, SseClient } from '../http/helpers.ts';
import { eventually, onPostgres } from '../integration/harness.ts';
import type { PhoneCall } from '../phone/phone.ts';
import {
  Customers,
  answerMobiles,
  contactOf,
  createAgents,
  expectFloorSound,
  floorRig,
  isLoad,
  loginAgents,
  pad,
  runLoad,
  type Placed,
} from './floor-load.ts';

onPostgres();

const AGENTS = Number(process.env.THREE_NODES_AGENTS ?? 20);
const CALLS = Number(process.env.THREE_NODES_CALLS ?? 200);
const SPREAD_MS = Number(process.env.THREE_NODES_SPREAD_MS ?? 120_000);
/** node-2 is killed when this many of the calls have been placed. */
const KILL_AT = Math.floor(CALLS * 0.6);
const KILLED = 2;

describe('three nodes behind Kamailio on one PostgreSQL', () => {
  const rig = floorRig({ nodes: 1, processes: 2 });

  it(`${AGENTS} agents, ${CALLS} calls over ${SPREAD_MS / 1000} s; node-2 killed with SIGKILL mid-run`, async () => {
    const f = rig.front;
    const a: Server = f.nodes[0]!;
    const ports = [a.sipPort, ...f.children.map((c) => c.sipPort)];
    const nodeOfPort = (port: number | undefined): number => ports.indexOf(port ?? -1);
    const nodeOfCall = (c: PhoneCall): number => nodeOfPort(c.session.dialog.remoteTarget.port);
    const ids = await createAgents(a, AGENTS);
    const stateOf = async (id: number): Promise<string> => (await a.agentStates.getState(id)).state;

    // node-0's event stream: the board a supervisor watches, kept open all along.
    const { client: board } = await SseClient.open(a, '/api/v1/events', {
      authorization: 'Bearer test-token-123',
    });

    // Every agent's mobile, rung by whichever node (its Via says which).
    const viaNode = (inv: IncomingInvite): number => {
      const vias = getHeaderValues(inv.request, 'via').join(',');
      return nodeOfPort(
        [...vias.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])).find((p) => ports.includes(p)),
      );
    };
    const mobiles = answerMobiles(rig.trunk, viaNode);
    const rings = mobiles.rings;

    // 1. Every agent logs in through the service IVR, via Kamailio (ten at a time).
    await loginAgents(a, await rig.phone('desks'), f.port, ids);

    const customers = await rig.customerPhones();
    let killedAt = 0;
    let markKilled: () => void = () => undefined;
    const killed = new Promise<void>((r) => (markKilled = r));
    const load = new Customers(customers, f.port, nodeOfCall, (p) =>
      p.node === KILLED ? killed.then(() => 'lost' as const) : undefined,
    );

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
      const [p, c] = await load.place(m, `+7916600${pad(m++)}`, false);
      if (p.node !== KILLED) {
        p.abandon = true; // not the one the moment needs: it gives up at once
        load.follow(p, c);
        continue;
      }
      await waitingOn(p.number);
      load.follow(p, c);
      oldest = p;
    }
    const newer: Placed[] = [];
    for (let k = 0; k < 2; k++) {
      const [p, c] = await load.place(m, `+7916600${pad(m++)}`, false);
      await waitingOn(p.number);
      load.follow(p, c);
      newer.push(p);
    }
    expect(newer.some((p) => p.node !== KILLED)).toBe(true);
    // node-0's board shows the whole floor: every waiting call, whichever node holds it. The
    // customers placed before the oldest hung up at once; their node may not have written it yet.
    const floorBoard = async (): Promise<Board> =>
      (await apiCall<Board>(a, 'GET', '/api/v1/board?companyId=1&department=101')).body;
    await eventually(async () => (await floorBoard()).departments[0]?.waiting === 3, 5000, 'three waiting');
    const wholeFloor = await floorBoard();
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
    let heldByKilled: { callIds: string[]; agents: number[] } = { callIds: [], agents: [] };
    await runLoad(load, CALLS, SPREAD_MS, async (i) => {
      if (i !== KILL_AT) return;
      const floor = (await a.live!.floorCalls(1)).filter((x) => x.nodeId === `node-${KILLED}`);
      // Agents talking to node-2's customers: theirs to free (an agent only rung is not busy).
      const agents: number[] = [];
      for (const x of floor)
        if (x.agentId !== null && (await stateOf(x.agentId)) === 'busy') agents.push(x.agentId);
      heldByKilled = { callIds: floor.map((x) => x.callId), agents };
      killedAt = Date.now();
      await f.children[KILLED - 1]!.kill9();
      markKilled();
    });
    await mobiles.stop();
    const ofLoad = load.placed.filter(isLoad);

    // Calls spread over all three nodes; after the kill, only over the two left.
    const perNode = [0, 1, 2].map((n) => ofLoad.filter((p) => p.node === n).length);
    const afterKill = ofLoad.filter((p) => p.placedAt >= killedAt);
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

    // Every call ended as the script chose (its CDR by the API), or went with node-2; the queue
    // log of the whole floor sound.
    const lost = await expectFloorSound(a, load.placed, ids);
    console.log(
      `kill -9 of node-2: its ${heldByKilled.agents.length} agents free in ${freedMs} ms; ${lost.length} calls lost with it`,
    );
  }, 240_000);
});
