import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { TestPhone, type PhoneCall } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { eventually, freshTestDb, onPostgres, phone, sleep, startServer } from './harness.ts';
import {
  CONTACT,
  SALES,
  agentId,
  expectSoundQueueLog,
  makeReady,
  setState,
  stateOf,
  waitConnected,
} from './acd-helpers.ts';
import { VOICE, hears } from './hearing.ts';
import type { BoardView as Board } from '../../src/http/routes/board-schema.ts';
import { SseClient, call } from '../http/helpers.ts';
import { SERVER_RTP, TRUNK_SIP, blocks } from './ports.ts';

/**
 * Several nodes, one floor (issue 15 items 2 and 3): two AgentLine servers in this process, each
 * with its own SIP port and its own media, on one real PostgreSQL database. Agents' phones are
 * one test phone acting as the trunk of both nodes. The node holding the customer's dialog is
 * the one that rings the agent (its INVITE comes from that node's SIP port), whichever node's
 * pass gave the call its agent.
 */
onPostgres();

const nextTrunkPort = blocks(TRUNK_SIP, 1);

interface Floor {
  a: Server;
  b: Server;
  trunk: TestPhone;
  salesId: number;
}

describe('two nodes on one PostgreSQL', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function floor(): Promise<Floor> {
    const db = await freshTestDb();
    const port = nextTrunkPort();
    const trunk = await phone({ number: 'trunk', sipPort: port });
    closers.push(() => trunk.close());
    const a = await startServer({ db, nodeId: 'node-a', trunk: `sip:127.0.0.1:${port}` });
    closers.push(() => a.stop());
    const b = await startServer({ db, nodeId: 'node-b', trunk: `sip:127.0.0.1:${port}` });
    closers.push(() => b.stop());
    const sales = await a.store.directory.getDepartmentByCode(1, '101');
    return { a, b, trunk, salesId: sales!.id };
  }

  /** Node `server`'s event stream (SSE), open until the test ends. */
  async function events(server: Server): Promise<SseClient> {
    const { client } = await SseClient.open(server, '/api/v1/events', {
      authorization: 'Bearer test-token-123',
    });
    closers.push(() => client.close());
    return client;
  }

  async function customer(number: string): Promise<TestPhone> {
    const p = await phone({ number });
    closers.push(() => p.close());
    return p;
  }

  it('an agent ready on node A takes the oldest call, waiting on node B; B rings and bridges them', async () => {
    const { a, b, trunk, salesId } = await floor();
    const streamA = await events(a);
    // 1001 is logged in (the department takes calls) but not ready: both customers wait.
    await makeReady(a, '1001');
    await setState(a, '1001', 'not_ready');
    const older = await (await customer('+79161110001')).call(SALES, { port: b.sipPort });
    await eventually(() => b.acd.waiting(salesId).length === 1, 5000, 'the first customer waits on B');
    await sleep(50);
    const newer = await (await customer('+79161110002')).call(SALES, { port: a.sipPort });
    await eventually(() => a.acd.waiting(salesId).length === 1, 5000, 'the second customer waits on A');
    // A's board shows the whole floor: B's waiting call (from the shared store) beside its own.
    const board = (await call<Board>(a, 'GET', '/api/v1/board?companyId=1&department=101')).body;
    expect(board.departments[0]?.waiting).toBe(2);
    expect(board.calls.map((c) => [c.callerId, c.state]).sort()).toEqual([
      ['+79161110001', 'queued'],
      ['+79161110002', 'queued'],
    ]);

    // Ready on A: the oldest call of the department is B's, so B rings the agent.
    await makeReady(a, '1001');
    const first = await trunk.nextIncoming(10_000, CONTACT['1001']);
    expect(first.caller.user).toBe('+79161110001');
    expect(first.source.port).toBe(b.sipPort);
    const agent = await trunk.answer(first);
    await waitConnected(b, '1001');
    expect(await stateOf(a, '1001')).toBe('busy'); // one agent state, whichever node reads it
    // A's console sees B's call (its events came over LISTEN/NOTIFY).
    const bCall = b.acd.liveCalls[0]!.id;
    await eventually(
      () =>
        streamA.events.some(
          (e) => e.event === 'call' && e.data.includes(`"kind":"connect","callId":"${bCall}"`),
        ),
      5000,
      "B's call on A's event stream",
    );
    older.send(new SineSource(VOICE.customer, 6000));
    agent.send(new SineSource(VOICE.agent, 6000));
    await hears(agent, VOICE.customer);
    await hears(older, VOICE.agent);
    expect(a.acd.waiting(salesId)).toHaveLength(1); // A's customer still waits meanwhile

    // The agent hangs up: free again (wrap-up 0), they get A's customer, rung by A.
    await agent.hangup();
    const second = await trunk.nextIncoming(10_000, CONTACT['1001']);
    expect(second.caller.user).toBe('+79161110002');
    expect(second.source.port).toBe(a.sipPort);
    const agent2 = await trunk.answer(second);
    await waitConnected(a, '1001');
    await agent2.hangup();
    expect(await newer.ended).toBe('remote');
    expect(await older.ended).toBe('remote');
  });

  it('many calls on both nodes, two agents: never two offers at once to an agent, never a call to two agents', async () => {
    const { a, b, trunk, salesId } = await floor();
    const nodes = [a, b];
    // Both Sales agents ready; every offer is answered, the agent hangs up soon after the whisper.
    await makeReady(a, '1001');
    await makeReady(b, '1002');
    const agentCalls: Promise<void>[] = [];
    let answering = true;
    const answerAll = async (): Promise<void> => {
      while (answering) {
        const inv = await trunk.nextIncoming(1000).catch(() => undefined);
        if (!inv) continue;
        agentCalls.push(
          trunk.answer(inv).then(async (call: PhoneCall) => {
            await sleep(1500 + Math.floor(Math.random() * 500));
            await call.hangup();
          }),
        );
      }
    };
    const answerer = answerAll();
    const CALLS = 12;
    const customers: PhoneCall[] = [];
    for (let i = 0; i < CALLS; i++) {
      const node = nodes[i % 2]!;
      const c = await customer(`+791622200${String(i).padStart(2, '0')}`);
      customers.push(await c.call(SALES, { port: node.sipPort }));
    }
    // Every customer is served: the agent hangs up, the customer's leg ends.
    await Promise.all(customers.map((c) => c.ended));
    answering = false;
    await answerer;
    await Promise.all(agentCalls);
    await eventually(
      async () => (await a.store.calls.listCdr()).filter((c) => c.outcome === 'answered').length === CALLS,
      10_000,
      'every CDR closed as answered',
    );

    // From the queue log (one database, both nodes' rows):
    const cdrs = await a.store.calls.listCdr();
    expect(cdrs).toHaveLength(CALLS);
    const events = (await Promise.all(cdrs.map((c) => a.store.calls.listQueueEvents(c.id)))).flat();
    const ids = [await agentId(a, '1001'), await agentId(a, '1002')];
    expectSoundQueueLog(events, cdrs, ids);
    // Both nodes' passes gave calls out, and both agents took calls.
    expect(new Set(cdrs.flatMap((c) => c.agentIds))).toEqual(new Set(ids));
    expect(a.acd.waiting(salesId)).toHaveLength(0);
    expect(b.acd.waiting(salesId)).toHaveLength(0);
  });

  it('a node that stops without clean-up: within 10 s the other frees its agent (node_lost) and closes its CDR', async () => {
    const { a, b, trunk, salesId } = await floor();
    await makeReady(a, '1001');
    const c = await (await customer('+79161110003')).call(SALES, { port: b.sipPort });
    const inv = await trunk.nextIncoming(10_000, CONTACT['1001']);
    expect(inv.source.port).toBe(b.sipPort);
    await trunk.answer(inv);
    await waitConnected(b, '1001');
    expect(await stateOf(a, '1001')).toBe('busy');
    const cdrId = b.acd.liveCalls[0]!.id;
    // A second customer waits on B (1001 talks, 1002 is logged out): its place goes with B.
    await (await customer('+79161110004')).call(SALES, { port: b.sipPort });
    await eventually(() => b.acd.waiting(salesId).length === 1, 5000, 'a second customer waits on B');

    // B goes silent as a crash leaves it: no more heartbeats, nothing cleaned up.
    const stoppedAt = Date.now();
    await b.liveness!.stop();
    await b.live!.abandon();
    const id = await agentId(a, '1001');
    await eventually(async () => (await stateOf(a, '1001')) === 'ready', 10_000, 'agent freed by A');
    const freedMs = Date.now() - stoppedAt;
    const last = (await a.store.agentStates.listStateHistory({ agentId: id })).at(-1);
    expect(last).toMatchObject({ from: 'busy', to: 'ready', reason: 'node_lost' });
    expect((await a.store.calls.getCdr(cdrId))?.outcome).toBe('node_lost');
    const open = (await a.store.calls.listCdr()).filter((x) => x.endedAt === null);
    expect(open).toHaveLength(0); // the waiting customer's CDR too
    console.log(`node lost → agent freed on the other node in ${freedMs} ms`);
    expect(c.state).toBe('up'); // B's dialog (in this process) is not A's to end
  });

  it('kill -9 of a node process: within 10 s the other frees its agent (node_lost)', async () => {
    const db = await freshTestDb();
    const [trunkPort, sipPort, httpPort] = [nextTrunkPort(), nextTrunkPort(), nextTrunkPort()];
    const trunk = await phone({ number: 'trunk', sipPort: trunkPort });
    closers.push(() => trunk.close());
    const a = await startServer({ db, nodeId: 'node-a', trunk: `sip:127.0.0.1:${trunkPort}` });
    closers.push(() => a.stop());
    // Node B is the real CLI in a process of its own, on RTP ports A does not use.
    const rtp = a.config.rtpPorts.min === SERVER_RTP.min ? SERVER_RTP.min + 1000 : SERVER_RTP.min;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'start', '--db', db, '--node-id', 'node-b'].concat(
        ['--sip-host', '127.0.0.1', '--sip-port', String(sipPort), '--http-port', String(httpPort)],
        [
          '--rtp-ports',
          `${rtp}-${rtp + 199}`,
          '--trunk',
          `sip:127.0.0.1:${trunkPort}`,
          '--log-level',
          'warn',
        ],
      ),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_, sig) => resolve(sig)),
    );
    closers.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    const healthy = async (): Promise<boolean> =>
      fetch(`http://127.0.0.1:${httpPort}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    await eventually(healthy, 30_000, `node B up (${output})`);

    await makeReady(a, '1001');
    await (await customer('+79161110005')).call(SALES, { port: sipPort });
    const inv = await trunk.nextIncoming(10_000, CONTACT['1001']);
    expect(inv.source.port).toBe(sipPort); // B holds the customer's dialog: B rings
    await trunk.answer(inv);
    await eventually(async () => (await stateOf(a, '1001')) === 'busy', 8000, '1001 busy on B’s call');
    const [cdr] = await a.store.calls.listCdr();

    const killedAt = Date.now();
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    await eventually(async () => (await stateOf(a, '1001')) === 'ready', 10_000, 'agent freed by A');
    const freedMs = Date.now() - killedAt;
    const id = await agentId(a, '1001');
    const last = (await a.store.agentStates.listStateHistory({ agentId: id })).at(-1);
    expect(last).toMatchObject({ from: 'busy', to: 'ready', reason: 'node_lost' });
    expect((await a.store.calls.getCdr(cdr!.id))?.outcome).toBe('node_lost');
    console.log(`kill -9 of node B → its agent freed on node A in ${freedMs} ms`);
  });
});
