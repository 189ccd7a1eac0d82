/**
 * How fast PostgreSQL takes calls for agents across nodes (issue 15: "Redis only if a
 * measurement shows PostgreSQL cannot carry the rate").
 *
 *   flock /tmp/agentline-it.lock npx tsx bench/shared-claims.ts [--calls 2000] [--agents 200]
 *
 * A PostgreSQL of its own (src/store/postgres/test-server.ts), two nodes' live stores on it.
 * `--calls` customer calls wait in one department; both nodes race, each claiming the oldest
 * waiting call for one of `--agents` agents (the full step a distribution pass takes: read the
 * heads, claim call + agent in one transaction) until every call is taken. Prints claims per
 * second and the latency of one claim; the last line is JSON.
 */
import { parseArgs } from 'node:util';
import { openPostgresStore } from '../src/store/postgres/open.ts';
import { openPostgresLive, type PostgresLive } from '../src/store/postgres/live.ts';
import { startTestPostgres } from '../src/store/postgres/test-server.ts';

const { values } = parseArgs({ options: { calls: { type: 'string' }, agents: { type: 'string' } } });
const CALLS = Number(values.calls ?? 2000);
const AGENTS = Number(values.agents ?? 200);

const pg = await startTestPostgres();
try {
  const url = await pg.freshDatabase();
  const store = await openPostgresStore(url);
  const company = await store.directory.createCompany({ name: 'Bench' });
  const dep = await store.directory.createDepartment({ companyId: company.id, code: '101', name: 'Sales' });
  const agents: number[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const a = await store.directory.createAgent({
      companyId: company.id,
      login: String(10000 + i),
      name: `Agent ${i}`,
      shortNumber: String(100 + i),
      contact: `+7900${String(i).padStart(7, '0')}`,
      pin: '2580',
      departments: [{ departmentId: dep.id, priority: 1 }],
    });
    agents.push(a.id);
  }
  const nodes = [await openPostgresLive(url, { nodeId: 'a' }), await openPostgresLive(url, { nodeId: 'b' })];
  for (let i = 0; i < CALLS; i++) {
    const live = nodes[i % 2]!;
    await live.callStarted({ callId: `c${i}`, companyId: company.id, departmentId: dep.id, startedAt: i });
    await live.wait(`c${i}`, dep.id, i, false);
  }
  const latencies: number[] = [];
  let taken = 0;
  let lost = 0;
  const free = [...agents];
  // Each node runs 2 passes at once (what the pool allows), as two nodes' distributors would.
  const pass = async (live: PostgresLive): Promise<void> => {
    for (;;) {
      const [head] = await live.heads();
      if (!head) return;
      const agent = free.shift();
      if (agent === undefined) return;
      const t0 = performance.now();
      const ok = await live.claim(head.callId, agent, 'bench');
      latencies.push(performance.now() - t0);
      if (ok) {
        taken++;
        // The call is over at once: the agent is free for the next one.
        await live.stopWaiting(head.callId);
        await live.unhold(agent);
      } else lost++;
      free.push(agent);
    }
  };
  const start = performance.now();
  await Promise.all(nodes.flatMap((n) => [pass(n), pass(n)]));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((x, y) => x - y);
  const q = (p: number): number =>
    Number((latencies[Math.floor((latencies.length - 1) * p)] ?? 0).toFixed(2));
  const result = {
    calls: CALLS,
    agents: AGENTS,
    taken,
    lostRaces: lost,
    seconds: Number(seconds.toFixed(2)),
    callsPerSecond: Math.round(taken / seconds),
    claimMs: { p50: q(0.5), p99: q(0.99), max: q(1) },
  };
  console.log(
    `${taken} calls taken by ${AGENTS} agents over 2 nodes in ${result.seconds} s: ${result.callsPerSecond} calls/s (each a heads read, a claim, a release); claim p50 ${result.claimMs.p50} ms, p99 ${result.claimMs.p99} ms; ${lost} races lost`,
  );
  console.log(JSON.stringify(result));
  for (const n of nodes) await n.close();
  await store.close();
} finally {
  await pg.stop();
}
