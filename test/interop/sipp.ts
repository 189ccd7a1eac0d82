/**
 * What the sipp interop suites share, so that each test reads as its scenario: the
 * suite's life cycle (sipp found before, every tool, phone and server gone after each
 * test), a server whose trunk is a sipp UAS playing an agent's phone, agent 1002 on a
 * SIP phone registered with us, and a customer calling in.
 */
import { expect } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { PhoneCall, PhoneOptions, TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { phone, startServer, type TestServerOptions } from '../integration/harness.ts';
import { SALES, agentId, makeReady, waitConnected } from '../integration/acd-helpers.ts';
import {
  CLEAN_EXIT,
  LOOPBACK,
  freePortBlock,
  startSipp,
  tempDir,
  toolSuite,
  waitUdpBound,
  type SippOptions,
  type SippRun,
} from './tools.ts';

/** The customer's voice in customerOnSippAgent; the desk agent's in deskTakesOver. */
export const CUSTOMER_HZ = 1000;
export const DESK_HZ = 1400;

export type UasOptions = Omit<SippOptions, 'cwd'> & {
  /** Its working directory; a fresh temp dir named after `dirPrefix` when omitted. */
  cwd?: string;
  dirPrefix?: string;
};

export interface SippSuite {
  /** sipp's path (found in beforeAll: a missing sipp fails the suite with the package to install). */
  readonly sipp: string;
  /** The test's server, stopped after it. */
  server: Server | undefined;
  /** A test phone, closed after the test. */
  phone(opts: Partial<PhoneOptions> & { number: string }): Promise<TestPhone>;
  /**
   * A server (kept in `server`) whose trunk is a sipp UAS still to be started on
   * `uasPorts` (a freePortBlock(8)): agent 1001's phone, +79000000001, sits behind it.
   */
  startBehindTrunk(o?: TestServerOptions): Promise<{ server: Server; uasPorts: number }>;
  /**
   * Runs a sipp UAS (by default the agent phone behind the trunk, `agent-uas`) and resolves
   * once it listens on its SIP port, so that the server's first INVITE finds it.
   */
  startUas(o: UasOptions): Promise<SippRun>;
  /**
   * Agent `login` works from a SIP phone registered with us (`agent<login>`, not behind the
   * trunk): its account, its contact (the agent's own, or only this session's), the REGISTER.
   */
  registeredAgentPhone(server: Server, login: string, contact?: 'agent' | 'session'): Promise<TestPhone>;
  /**
   * A test phone `number` (a customer, or an agent's own phone) calls `to` (Sales by default),
   * speaking `toneHz` for `toneMs` when given.
   */
  callIn(
    server: Server,
    number: string,
    o?: { to?: string; toneHz?: number; toneMs?: number },
  ): Promise<PhoneCall>;
  /**
   * Runs a sipp UAC scenario (one call to `service` on the server, from `cwd` with its pcaps)
   * to its end, and expects it to have passed (exit 0 within `finishMs`).
   */
  runUac(
    server: Server,
    o: { scenario: string; cwd: string; service: string; finishMs?: number },
  ): Promise<SippRun>;
  /**
   * Agent 1001's phone is a sipp UAS behind the trunk (`uasPorts`, from startBehindTrunk)
   * that echoes RTP; 1001 is made ready and the customer `number` calls Sales speaking
   * 1000 Hz for `toneMs`: resolves once they are connected (with `echoed`, once the
   * customer has heard its own tone back from the phone).
   */
  customerOnSippAgent(
    server: Server,
    o: {
      uas: Omit<UasOptions, 'portBase' | 'rtpEcho'>;
      uasPorts: number;
      customer: string;
      toneMs: number;
      echoed?: boolean;
    },
  ): Promise<{ uas: SippRun; custCall: PhoneCall }>;
}

/**
 * Registers the hooks of a sipp suite (call it inside `describe`): before all, sipp is
 * looked up (`lazy`: on first use instead); after each test, every tool process is
 * killed, the phones closed and the server stopped; after all, the temp dirs go and no
 * tool process may be left.
 */
export function sippSuite(o: { lazy?: boolean } = {}): SippSuite {
  const phones: TestPhone[] = [];
  const find = toolSuite('sipp', 'sip-tester', {
    lazy: o.lazy,
    cleanup: async () => {
      await Promise.all(phones.splice(0).map((p) => p.close()));
      await suite.server?.stop();
      suite.server = undefined;
    },
  });
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
    async startBehindTrunk(so = {}) {
      const uasPorts = await freePortBlock(8);
      const server = await startServer({ trunk: `sip:${LOOPBACK}:${uasPorts}`, ...so });
      suite.server = server;
      return { server, uasPorts };
    },
    async startUas(uo) {
      const { dirPrefix, ...rest } = uo;
      const uas = startSipp(find(), {
        name: 'agent-uas',
        ...rest,
        cwd: uo.cwd ?? tempDir(dirPrefix ?? uo.scenario.replace(/\.xml$/, '')),
      });
      await waitUdpBound(uas.sipPort, 5000, uas.proc);
      return uas;
    },
    async registeredAgentPhone(server, login, contact = 'agent') {
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
    },
    async callIn(server, number, co = {}) {
      const from = await suite.phone({ number });
      const call = await from.call(co.to ?? SALES, { port: server.sipPort });
      if (co.toneHz !== undefined) call.send(new SineSource(co.toneHz, co.toneMs ?? 30_000));
      return call;
    },
    async runUac(server, ro) {
      const run = startSipp(find(), {
        scenario: ro.scenario,
        cwd: ro.cwd,
        remotePort: server.sipPort,
        service: ro.service,
        portBase: await freePortBlock(8),
      });
      expect(await run.finish(ro.finishMs ?? 35_000), run.report()).toEqual(CLEAN_EXIT);
      return run;
    },
    async customerOnSippAgent(server, ao) {
      const uas = await suite.startUas({ ...ao.uas, portBase: ao.uasPorts, rtpEcho: true });
      await makeReady(server, '1001');
      const custCall = await suite.callIn(server, ao.customer, { toneHz: CUSTOMER_HZ, toneMs: ao.toneMs });
      await withReport(waitConnected(server, '1001', 10_000), uas);
      if (ao.echoed) await custCall.waitForTone(CUSTOMER_HZ, 5000, 200);
      return { uas, custCall };
    },
  };
  return suite;
}

/** `p`, with the sipp runs' reports added to its error (what sipp saw explains most failures). */
export async function withReport<T>(p: Promise<T>, ...runs: SippRun[]): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw new Error(`${String(err)}\n${runs.map((r) => r.report()).join('\n\n')}`, { cause: err });
  }
}

/**
 * The customer `caller`, back at the head of the queue, rings agent 1002's registered phone
 * `desk` (within `timeoutMs`), which answers speaking DESK_HZ for `toneMs`: resolves once they
 * are connected and the customer hears 1002.
 */
export async function deskTakesOver(
  server: Server,
  desk: TestPhone,
  custCall: PhoneCall,
  o: { caller: string; timeoutMs: number; toneMs: number },
): Promise<PhoneCall> {
  const inv = await desk.nextIncoming(o.timeoutMs);
  expect(inv.caller.user).toBe(o.caller);
  const deskCall = await desk.answer(inv);
  deskCall.send(new SineSource(DESK_HZ, o.toneMs));
  await waitConnected(server, '1002');
  await custCall.recorder.waitFor(
    () => custCall.recorder.heardTone(DESK_HZ, 200),
    5000,
    'customer hears 1002',
  );
  expect(custCall.state).toBe('up');
  return deskCall;
}
