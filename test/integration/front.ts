/**
 * Several AgentLine nodes behind Kamailio on loopback (issue 15, docs/scale-out.md): the
 * repository's own deploy/kamailio/kamailio.cfg, N in-process Servers each on its own SIP
 * port and RTP range, all with --outbound-proxy at Kamailio and one shared store — a SQLite
 * file, or under onPostgres() one database on the test's own PostgreSQL server. Built for
 * the end-to-end tests of the front (test/interop/kamailio-front.test.ts) and for load runs
 * over several nodes. With `processes`, the last nodes run the real CLI in child processes of
 * their own, so that a test can kill -9 one (test/interop/three-nodes.test.ts).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from '../../src/server.ts';
import {
  freePortBlock,
  requireTool,
  sleep,
  spawnTool,
  tempDir,
  watchInbound,
  type SeenCall,
  type ToolProcess,
} from '../interop/tools.ts';
import { eventually, freshTestDb, startServer, type TestServerOptions } from './harness.ts';
import { SERVER_RTP } from './ports.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FRONT_CFG = path.join(ROOT, 'deploy/kamailio/kamailio.cfg');

export interface Front {
  /** Kamailio's SIP port on 127.0.0.1: where customers, agents' phones and trunks send. */
  port: number;
  /** The nodes, in the dispatcher list's order; a stopped one stays in place. */
  nodes: Server[];
  /** Calls each node routed (its engine's inbound calls), by node index. */
  seen: SeenCall[][];
  kamailio: ToolProcess;
  /** The nodes in child processes, after `nodes` in the dispatcher list. */
  children: NodeProcess[];
  /** The shared store's URL (a SQLite file or a PostgreSQL database). */
  db: string;
  /** Kamailio logged a line matching `re` (polled: its stderr is a pipe). */
  said(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Stops node `i` (as SIGTERM would); Kamailio's probes then find it gone. */
  stopNode(i: number): Promise<void>;
  /** Kamailio's control socket, for `kamcmd -s` (dispatcher.list, dispatcher.reload). */
  ctl: string;
  /** Stops every node and Kamailio. */
  close(): Promise<void>;
}

/** A node running `agentline start` in a process of its own. */
export interface NodeProcess {
  nodeId: string;
  sipPort: number;
  httpPort: number;
  process: ToolProcess;
  /** Killed with SIGKILL, as a crash leaves it: nothing cleaned up. */
  kill9(): Promise<void>;
}

export interface FrontOptions {
  /** In-process nodes (Servers), `node-0`, `node-1`, …; the first migrates and seeds the store. */
  nodes: number;
  /** Nodes after them running the real CLI in child processes (default none). */
  processes?: number;
  /** Options for every node (trunk, ivrTimings, …); db and outboundProxy are the front's. */
  server?: TestServerOptions;
  /** A SQLite file even under AGENTLINE_TEST_DB=postgres: a run of the embedded default. */
  sqlite?: boolean;
}

export async function startFront(o: FrontOptions): Promise<Front> {
  const kamailioBin = requireTool('kamailio', 'kamailio');
  const port = await freePortBlock(1);
  const dir = tempDir('front');
  const fresh = o.sqlite ? ':memory:' : await freshTestDb();
  const db = fresh === ':memory:' ? path.join(dir, 'shared.db') : fresh;
  const nodes: Server[] = [];
  const children: NodeProcess[] = [];
  const stopped = new Set<number>();
  let kamailio: ToolProcess | undefined;
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n, i) => (stopped.has(i) ? Promise.resolve() : n.stop())));
    await Promise.all(children.map((c) => c.process.kill()));
    await kamailio?.kill();
  };
  try {
    const outboundProxy = `sip:127.0.0.1:${port}`;
    // One after the other: the first migrates and seeds the store, the others find it ready.
    for (let i = 0; i < o.nodes; i++)
      nodes.push(await startServer({ ...o.server, db, nodeId: `node-${i}`, outboundProxy }));
    const trunk = typeof o.server?.trunk === 'string' ? o.server.trunk : undefined;
    const starting: Promise<NodeProcess>[] = [];
    for (let i = 0; i < (o.processes ?? 0); i++)
      starting.push(startNodeProcess(`node-${o.nodes + i}`, db, outboundProxy, trunk, i));
    children.push(...(await Promise.all(starting)));
    const seen = nodes.map((n) => watchInbound(n));
    const list = path.join(dir, 'nodes.list');
    const sipPorts = [...nodes.map((n) => n.sipPort), ...children.map((c) => c.sipPort)];
    writeFileSync(list, sipPorts.map((p) => `1 sip:127.0.0.1:${p}\n`).join(''));
    const k = spawnTool(
      kamailioBin,
      [
        '-f',
        FRONT_CFG,
        '-DD',
        '-E',
        '-P',
        path.join(dir, 'kamailio.pid'),
        '-w',
        dir,
        '-A',
        `FRONT_LISTEN=udp:127.0.0.1:${port}`,
        '-A',
        `FRONT_ALIAS=127.0.0.1:${port}`,
        '-A',
        `FRONT_NODES="${list}"`,
        '-A',
        `FRONT_CTL="unix:${path.join(dir, 'kamailio.ctl')}"`,
      ],
      { cwd: dir, timeoutMs: 15 * 60_000, name: 'kamailio' },
    );
    kamailio = k;
    await eventually(
      () => (k.stdout + k.stderr).includes('Listening on') || !k.alive,
      10_000,
      'kamailio listening',
    );
    if (!k.alive) throw new Error(`kamailio exited:\n${k.tail()}`);
    await sleep(300); // its children up
    return {
      port,
      nodes,
      seen,
      kamailio: k,
      children,
      db,
      ctl: `unix:${path.join(dir, 'kamailio.ctl')}`,
      said: (re, timeoutMs = 5000) =>
        eventually(() => re.test(k.stderr), timeoutMs, `kamailio said ${re.source}`),
      stopNode: async (i) => {
        stopped.add(i);
        await nodes[i]?.stop();
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * `agentline start` in a child process: the shared store, loopback ports of its own, RTP ports
 * above the in-process nodes' block, the front as outbound proxy; up when /healthz answers.
 */
async function startNodeProcess(
  nodeId: string,
  db: string,
  outboundProxy: string,
  trunk: string | undefined,
  n: number,
): Promise<NodeProcess> {
  const [sipPort, httpPort] = [await freePortBlock(1), await freePortBlock(1)];
  const rtp = SERVER_RTP.min + 2000 + n * 1000;
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'start', '--db', db, '--node-id', nodeId].concat(
    ['--sip-host', '127.0.0.1', '--sip-port', String(sipPort), '--http-port', String(httpPort)],
    ['--rtp-ports', `${rtp}-${rtp + 999}`, '--outbound-proxy', outboundProxy, '--media-workers', '0'],
    // Every call comes from the front's one address.
    ['--invite-rate', '1000', '--invite-burst', '1000', '--admin-token', 'test-token-123'],
    ['--log-level', 'warn'],
    trunk === undefined ? [] : ['--trunk', trunk],
  );
  const child = spawnTool(process.execPath, args, { cwd: ROOT, timeoutMs: 15 * 60_000, name: nodeId });
  const healthy = (): Promise<boolean> =>
    fetch(`http://127.0.0.1:${httpPort}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
  await eventually(async () => !child.alive || (await healthy()), 60_000, `${nodeId} up`);
  if (!child.alive) throw new Error(`${nodeId} exited:\n${child.tail()}`);
  return {
    nodeId,
    sipPort,
    httpPort,
    process: child,
    kill9: async () => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await child.wait(5000);
    },
  };
}
