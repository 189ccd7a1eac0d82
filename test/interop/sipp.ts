/**
 * What the sipp interop suites share, so that each test reads as its scenario: the
 * suite's life cycle (sipp found before, every tool, phone and server gone after each
 * test), a server whose trunk is a sipp UAS playing an agent's phone, agent 1002 on a
 * SIP phone registered with us, and a customer calling in.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { PhoneCall, PhoneOptions, TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { phone, startServer, type TestServerOptions } from '../integration/harness.ts';
import { SALES, agentId } from '../integration/acd-helpers.ts';
import {
  LOOPBACK,
  finishSuite,
  freePortBlock,
  killAll,
  requireTool,
  startSipp,
  tempDir,
  waitUdpBound,
  type SippOptions,
  type SippRun,
} from './tools.ts';

export interface SippSuite {
  /** sipp's path (found in beforeAll: a missing sipp fails the suite with the package to install). */
  readonly sipp: string;
  /** The test's server, stopped after it. */
  server: Server | undefined;
  /** A test phone, closed after the test. */
  phone(opts: Partial<PhoneOptions> & { number: string }): Promise<TestPhone>;
}

/**
 * Registers the hooks of a sipp suite (call it inside `describe`): before all, sipp is
 * looked up (`lazy`: on first use instead); after each test, every tool process is killed, the phones closed and the
 * server stopped; after all, the temp dirs go and no tool process may be left.
 */
export function sippSuite(o: { lazy?: boolean } = {}): SippSuite {
  const phones: TestPhone[] = [];
  let sipp: string | undefined;
  const find = (): string => (sipp ??= requireTool('sipp', 'sip-tester'));
  const suite: SippSuite = {
    get sipp(): string {
      return find();
    },
    server: undefined,
    async phone(opts) {
      const p = await phone(opts);
      phones.push(p);
      return p;
    },
  };
  // lazy: a suite with tests that do without sipp looks it up in the tests that use it.
  if (!o.lazy) beforeAll(() => void find());
  afterEach(async () => {
    await killAll();
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await suite.server?.stop();
    suite.server = undefined;
  });
  afterAll(finishSuite);
  return suite;
}

/**
 * A server (kept in `suite.server`) whose trunk is a sipp UAS still to be started on
 * `uasPorts` (a freePortBlock(8)): agent 1001's phone, +79000000001, sits behind it.
 */
export async function startBehindSippTrunk(
  suite: SippSuite,
  o: TestServerOptions = {},
): Promise<{ server: Server; uasPorts: number }> {
  const uasPorts = await freePortBlock(8);
  const server = await startServer({ trunk: `sip:${LOOPBACK}:${uasPorts}`, ...o });
  suite.server = server;
  return { server, uasPorts };
}

export type UasOptions = Omit<SippOptions, 'cwd'> & {
  /** Its working directory; a fresh temp dir named after `dirPrefix` when omitted. */
  cwd?: string;
  dirPrefix?: string;
};

/**
 * Runs a sipp UAS (by default the agent phone behind the trunk, `agent-uas`) and resolves
 * once it listens on its SIP port, so that the server's first INVITE finds it.
 */
export async function startSippUas(sipp: string, o: UasOptions): Promise<SippRun> {
  const { dirPrefix, ...rest } = o;
  const uas = startSipp(sipp, {
    name: 'agent-uas',
    ...rest,
    cwd: o.cwd ?? tempDir(dirPrefix ?? o.scenario.replace(/\.xml$/, '')),
  });
  await waitUdpBound(uas.sipPort, 5000, uas.proc);
  return uas;
}

/**
 * Agent `login` works from a SIP phone registered with us (`agent<login>`, not behind the
 * trunk): its account, its contact (the agent's own, or only this session's) and the REGISTER.
 */
export async function registeredAgentPhone(
  suite: SippSuite,
  server: Server,
  login = '1002',
  contact: 'agent' | 'session' = 'agent',
): Promise<TestPhone> {
  const dir = server.store.directory;
  const id = await agentId(server, login);
  const user = `agent${login}`;
  const password = `secret-${login}`;
  await dir.createSipAccount(user, password, 'agentline', id);
  if (contact === 'agent') await dir.updateAgent(id, { contact: `sip:${user}` });
  else await dir.setSessionContact(id, `sip:${user}`);
  await server.loadSipCredentials();
  const desk = await suite.phone({ number: user });
  expect(await desk.register(user, password, { port: server.sipPort })).toBe(200);
  return desk;
}

/** A test phone `number` (a customer, or an agent's own phone) calls `to` (Sales by default), speaking `toneHz` for `toneMs` when given. */
export async function callIn(
  suite: SippSuite,
  server: Server,
  number: string,
  o: { to?: string; toneHz?: number; toneMs?: number } = {},
): Promise<PhoneCall> {
  const cust = await suite.phone({ number });
  const call = await cust.call(o.to ?? SALES, { port: server.sipPort });
  if (o.toneHz !== undefined) call.send(new SineSource(o.toneHz, o.toneMs ?? 30_000));
  return call;
}

/** `p`, with the sipp runs' reports added to its error (what sipp saw explains most failures). */
export async function withReport<T>(p: Promise<T>, ...runs: SippRun[]): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw new Error(`${String(err)}\n${runs.map((r) => r.report()).join('\n\n')}`, { cause: err });
  }
}
