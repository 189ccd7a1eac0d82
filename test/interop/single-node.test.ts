/**
 * The same run as test/interop/three-nodes.test.ts on one node on the embedded SQLite (issue
 * 15, "Done when": the embedded default stays the default): Kamailio with the repository's
 * deploy/kamailio/kamailio.cfg in front of one in-process node whose store is a SQLite file,
 * no PostgreSQL and no kill. Agents log in through the service IVR via Kamailio; customers
 * call Sales via Kamailio, each staying until an agent has talked to them or giving up in the
 * greeting as the script chose; the CDRs and the queue log are checked as on three nodes
 * (test/interop/floor-load.ts).
 *
 * Size: AGENTS agents and CALLS calls over SPREAD_MS (SINGLE_NODE_AGENTS, SINGLE_NODE_CALLS,
 * SINGLE_NODE_SPREAD_MS override them).
 */
import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { PhoneCall } from '../phone/phone.ts';
import {
  Customers,
  answerMobiles,
  createAgents,
  expectFloorSound,
  floorRig,
  loginAgents,
  runLoad,
} from './floor-load.ts';

const AGENTS = Number(process.env.SINGLE_NODE_AGENTS ?? 20);
const CALLS = Number(process.env.SINGLE_NODE_CALLS ?? 200);
const SPREAD_MS = Number(process.env.SINGLE_NODE_SPREAD_MS ?? 120_000);

describe('one node behind Kamailio on the embedded SQLite', () => {
  const rig = floorRig({ nodes: 1, sqlite: true });

  it(`${AGENTS} agents, ${CALLS} calls over ${SPREAD_MS / 1000} s on one node`, async () => {
    const f = rig.front;
    const a: Server = f.nodes[0]!;
    // The embedded store: a SQLite file, not a PostgreSQL URL.
    expect(f.db).toMatch(/\.db$/);
    const ids = await createAgents(a, AGENTS);
    // The one node rings every mobile.
    const mobiles = answerMobiles(rig.trunk, () => 0);

    await loginAgents(a, await rig.phone('desks'), f.port, ids);

    const customers = await rig.customerPhones();
    const nodeOfCall = (c: PhoneCall): number => (c.session.dialog.remoteTarget.port === a.sipPort ? 0 : -1);
    const load = new Customers(customers, f.port, nodeOfCall);
    await runLoad(load, CALLS, SPREAD_MS);
    await mobiles.stop();

    // Every call on the one node, none failed.
    expect(load.placed.filter((p) => p.node !== 0 || p.outcome === 'failed')).toEqual([]);
    const lost = await expectFloorSound(a, load.placed, ids);
    expect(lost).toEqual([]);
    const answered = load.placed.filter((p) => p.outcome === 'answered').length;
    const abandoned = load.placed.filter((p) => p.outcome === 'abandoned').length;
    console.log(
      `one node on SQLite: ${CALLS} calls, ${answered} answered, ${abandoned} abandoned; ${mobiles.rings.length} rings to ${new Set(mobiles.rings.map((r) => r.agent)).size} agents`,
    );
  }, 240_000);
});
