import { afterEach, expect } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { Cdr, QueueEvent, QueueEventKind } from '../../src/store/store.ts';
import type { IncomingInvite } from '../../src/sip/ua/incoming-invite.ts';
import { TestPhone, type PhoneCall, type PhoneOptions } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { promptPath } from '../../src/call/prompts.ts';
import { SERVICE, api, eventually, phone, startServer, type TestServerOptions } from './harness.ts';
import { TRUNK_SIP, blocks } from './ports.ts';
import { ACCEPT_HZ, VOICE, hears } from './hearing.ts';

export const SALES = '+74950000001';
export const SUPPORT = '+74950000002';
export const CONTACT: Record<string, string> = {
  '1001': '+79000000001',
  '1002': '+79000000002',
  '1003': '+79000000003',
  '1004': '+79000000004',
};

const nextTrunkPort = blocks(TRUNK_SIP, 1);

/** A server whose trunk is a test phone: every call to an agent's number rings there. */
export async function startWithTrunk(
  o: TestServerOptions = {},
  trunkPhone: Partial<PhoneOptions> = {},
): Promise<{ server: Server; trunk: TestPhone }> {
  const port = nextTrunkPort();
  const trunk = await phone({ number: 'trunk', sipPort: port, ...trunkPhone });
  const server = await startServer({ trunk: `sip:127.0.0.1:${port}`, ...o });
  return { server, trunk };
}

export async function agentId(server: Server, login: string): Promise<number> {
  const a = await server.store.directory.getAgentByLogin(login);
  if (!a) throw new Error(`no agent ${login}`);
  return a.id;
}

/** Logs an agent in the way the service IVR does (its own flow is tested elsewhere). */
export async function makeReady(server: Server, login: string): Promise<void> {
  const id = await agentId(server, login);
  await server.store.directory.setSessionContact(id, CONTACT[login] ?? null);
  const s = await server.agentStates.getState(id);
  if (s.state !== 'ready')
    await server.agentStates.transition(id, 'ready', { reason: 'test_login', source: 'api' });
}

export async function setState(
  server: Server,
  login: string,
  to: 'not_ready' | 'temporarily_not_ready' | 'logged_out' | 'ready',
): Promise<void> {
  await server.agentStates.transition(await agentId(server, login), to, { reason: 'test', source: 'api' });
}

export async function stateOf(server: Server, login: string): Promise<string> {
  return (await server.agentStates.getState(await agentId(server, login))).state;
}

export async function waitState(
  server: Server,
  login: string,
  state: string,
  timeoutMs = 8000,
): Promise<void> {
  await eventually(
    async () => (await stateOf(server, login)) === state,
    timeoutMs,
    `agent ${login} ${state}`,
  );
}

/** Waits for the agent's phone to ring on the trunk and answers it. */
export async function answerAgent(
  trunk: TestPhone,
  login: string,
  timeoutMs = 10_000,
): Promise<{ call: PhoneCall; invite: IncomingInvite }> {
  const invite = await trunk.nextIncoming(timeoutMs, CONTACT[login]);
  const call = await trunk.answer(invite);
  return { call, invite };
}

/**
 * The customer, back in the queue, goes to `login`: its phone answers sending `hz`, and the
 * two hear each other (the customer's own tone is `customerHz`).
 */
export async function nextAgentTakesOver(
  server: Server,
  trunk: TestPhone,
  customer: PhoneCall,
  login: string,
  hz: number,
  customerHz: number,
): Promise<PhoneCall> {
  const { call } = await answerAgent(trunk, login);
  call.send(new SineSource(hz, 4000));
  await waitConnected(server, login);
  await customer.recorder.waitFor(
    () => customer.recorder.heardTone(hz, 200),
    5000,
    `customer hears agent ${login}`,
  );
  await call.waitForTone(customerHz, 5000, 200);
  expect(customer.state).toBe('up');
  return call;
}

/** Waits until the customer and this agent are bridged (after the whisper). */
export async function waitConnected(server: Server, login: string, timeoutMs = 8000): Promise<void> {
  const id = await agentId(server, login);
  await eventually(
    () => server.acd.liveCalls.some((c) => c.state === 'connected' && c.inCall?.currentAgentId === id),
    timeoutMs,
    `${login} connected`,
  );
}

/** Waits until a call's CDR (`cdrId`, else the newest) is closed with `outcome`. */
export async function waitCdrOutcome(
  server: Server,
  outcome: string,
  o: { cdrId?: string; timeoutMs?: number; what?: string } = {},
): Promise<void> {
  const cdr = async (): Promise<{ outcome: string | null } | null | undefined> =>
    o.cdrId !== undefined ? server.store.calls.getCdr(o.cdrId) : (await server.store.calls.listCdr())[0];
  await eventually(
    async () => (await cdr())?.outcome === outcome,
    o.timeoutMs ?? 5000,
    o.what ?? `CDR closed as ${outcome}`,
  );
}

/**
 * What a call-flow test keeps: its server, the trunk phone and the phones it made.
 * `close()` (its afterEach) closes the phones and the trunk, waits until every leg is
 * released, checks (with `expectNoLiveCalls`) that no customer call is left, and stops
 * the server.
 */
export class CallRig {
  server: Server | undefined;
  trunk: TestPhone | undefined;
  private readonly phones: TestPhone[] = [];

  constructor(private readonly o: { expectNoLiveCalls?: boolean } = {}) {}

  /** A server whose trunk is a test phone (startWithTrunk), closed by close(). */
  async startWithTrunk(
    o: TestServerOptions = {},
    trunkPhone: Partial<PhoneOptions> = {},
  ): Promise<{ server: Server; trunk: TestPhone }> {
    const started = await startWithTrunk(o, trunkPhone);
    ({ server: this.server, trunk: this.trunk } = started);
    return started;
  }

  /** A server without a trunk phone, stopped by close(). */
  async start(o: TestServerOptions = {}): Promise<Server> {
    const server = await startServer(o);
    this.server = server;
    return server;
  }

  /** A test phone for `number`, closed by close(). */
  async phone(number: string, o: Partial<PhoneOptions> = {}): Promise<TestPhone> {
    const p = await phone({ ...o, number });
    this.phones.push(p);
    return p;
  }

  /**
   * Agent `login` (1001) is made ready, a customer `from` calls `to` (Sales) and the agent
   * answers on the trunk; resolves once they are connected, each speaking its tone (when
   * given) for `toneMs`.
   */
  async connectCustomer(
    o: {
      login?: string;
      from?: string;
      to?: string;
      customerHz?: number;
      agentHz?: number;
      toneMs?: number;
    } = {},
  ): Promise<{ customer: PhoneCall; agent: PhoneCall; invite: IncomingInvite }> {
    const { server, trunk } = this;
    if (!server || !trunk) throw new Error('CallRig.connectCustomer: startWithTrunk first');
    const login = o.login ?? '1001';
    await makeReady(server, login);
    const c = await this.phone(o.from ?? '+79161234567');
    const customer = await c.call(o.to ?? SALES, { port: server.sipPort });
    if (o.customerHz !== undefined) customer.send(new SineSource(o.customerHz, o.toneMs ?? 4000));
    const { call: agent, invite } = await answerAgent(trunk, login);
    if (o.agentHz !== undefined) agent.send(new SineSource(o.agentHz, o.toneMs ?? 4000));
    await waitConnected(server, login);
    return { customer, agent, invite };
  }

  async close(): Promise<void> {
    await Promise.all(this.phones.splice(0).map((p) => p.close()));
    await this.trunk?.close();
    this.trunk = undefined;
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await eventually(() => server.engine.activeLegs === 0, 5000, 'legs released');
    // The agent's hang-up is written (history, queue log) before the call ends, while the
    // customer's leg may go at once: on PostgreSQL those writes are round trips, so wait for them.
    if (this.o.expectNoLiveCalls)
      await eventually(() => server.acd.liveCalls.length === 0, 5000, 'live calls ended');
    await server.stop();
  }
}

/** A CallRig closed after each test of the enclosing describe. */
export function useCallRig(o: { expectNoLiveCalls?: boolean } = {}): CallRig {
  const rig = new CallRig(o);
  afterEach(() => rig.close());
  return rig;
}

/**
 * A customer on `customer` calls `to` (Support): agent `desk`'s SIP phone rings with the
 * customer's number, answers and hears the customer (1100 Hz); then the desk hangs up.
 */
export async function deskHearsCustomer(
  server: Server,
  desk: TestPhone,
  customer: TestPhone,
  to = SUPPORT,
): Promise<void> {
  const custCall = await customer.call(to, { port: server.sipPort });
  const inv = await desk.nextIncoming(5000);
  expect(inv.caller.user).toBe(customer.opts.number);
  const deskCall = await desk.answer(inv);
  custCall.send(new SineSource(1100, 8000));
  await deskCall.waitForTone(1100, 5000, 200);
  await deskCall.hangup();
  await custCall.ended;
}

/** Calls the service number from `p` and logs in with the PIN (caller id known). */
export async function loginByCallerId(server: Server, p: TestPhone, pin = '2580'): Promise<PhoneCall> {
  const call = await p.call(SERVICE, { port: server.sipPort });
  await call.waitForPrompt(promptPath('ru', 'enter_pin'));
  call.sendDtmf(`${pin}#`);
  await call.waitForPrompt(promptPath('ru', 'registered'), 8000);
  return call;
}

/** Calls the service number from `p` (caller id unknown) and logs in with login id and PIN. */
export async function loginById(
  server: Server,
  p: TestPhone,
  login: string,
  pin = '2580',
): Promise<PhoneCall> {
  const call = await p.call(SERVICE, { port: server.sipPort });
  await call.waitForPrompt(promptPath('ru', 'enter_login'));
  call.sendDtmf(`${login}#`);
  await call.waitForPrompt(promptPath('ru', 'enter_pin'));
  call.sendDtmf(`${pin}#`);
  await call.waitForPrompt(promptPath('ru', 'registered'), 8000);
  return call;
}

/**
 * `login` answers the customer's call and hears them; then keys `* 2 <code>` in the in-call
 * menu: the customer goes to that department's queue and the agent's leg ends.
 */
export async function answerThenSendTo(
  server: Server,
  trunk: TestPhone,
  customer: PhoneCall,
  login: string,
  code: string,
): Promise<void> {
  const { call: agent } = await answerAgent(trunk, login, 10_000);
  await waitConnected(server, login);
  customer.send(new SineSource(VOICE.customer, 8000));
  await hears(agent, VOICE.customer);
  agent.sendDtmf('*');
  await agent.waitForTone(ACCEPT_HZ, 3000, 60);
  agent.sendDtmf(`2${code}`);
  expect(await agent.ended).toBe('remote');
}

/** A journey event of monitoring (`monitor_*`), as `GET /api/v1/calls/{id}` shows it. */
export interface MonitorEvent {
  kind: string;
  agent?: string;
  supervisor?: string;
  mode?: string;
  detail?: string;
}

/** The monitoring events of the first call's journey. */
export async function monitorEvents(server: Server): Promise<MonitorEvent[]> {
  const cdr = (await server.store.calls.listCdr())[0];
  if (!cdr) return [];
  const r = await api<{ events: MonitorEvent[] }>(server, `/api/v1/calls/${cdr.id}`);
  return r.body.events.filter((e) => e.kind.startsWith('monitor_'));
}

const OFFER_OVER: readonly QueueEventKind[] = ['no_answer', 'complete_agent', 'complete_customer', 'abandon'];

/**
 * What a queue log (one database, every node's rows) must show whatever the number of nodes
 * (issue 15): an agent's offer is over (no answer, the call they took ended, the customer gave
 * up) before their next offer; a call is offered to at most one agent, and an answered call was
 * taken by the one agent it was offered to (these tests' agents answer every offer). Calls lost
 * with their node (`lost`) end with no event: their agents' next offers are theirs to take.
 */
export function expectSoundQueueLog(
  events: readonly QueueEvent[],
  cdrs: readonly Cdr[],
  agentIds: readonly number[],
  lost: ReadonlySet<string> = new Set(),
): void {
  const sorted = [...events].sort((x, y) => x.at - y.at || x.id - y.id);
  for (const id of agentIds) {
    let open: string | undefined;
    for (const e of sorted) {
      if (e.kind === 'offer' && e.agentId === id) {
        if (open !== undefined && lost.has(open)) open = undefined;
        expect(open, `agent ${id} offered ${e.callId} while offered ${open}`).toBeUndefined();
        open = e.callId;
      } else if (e.callId === open && OFFER_OVER.includes(e.kind)) open = undefined;
    }
  }
  for (const cdr of cdrs) {
    const offers = events.filter((e) => e.callId === cdr.id && e.kind === 'offer');
    expect(offers.length, `offers of ${cdr.id}`).toBeLessThanOrEqual(1);
    if (cdr.outcome === 'answered') {
      expect(offers, `offers of ${cdr.id}`).toHaveLength(1);
      expect(cdr.agentIds).toEqual([offers[0]?.agentId]);
    }
  }
}
