/**
 * The floor under load, shared by the runs of issue 15 (test/interop/three-nodes.test.ts on
 * PostgreSQL, test/interop/single-node.test.ts on the embedded SQLite): Sales agents with
 * mobiles of their own, logging in through the service IVR via the front; one test phone
 * playing every agent's mobile (the nodes' trunk); customers calling the Sales hotline, each
 * either staying until an agent has talked to them and hung up, or giving up in the greeting
 * (the script's choice, every tenth); and the checks every run makes at the end: each call
 * ended as the script chose (its CDR by the API) and the queue log is sound.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { promptPath } from '../../src/call/prompts.ts';
import type { Server } from '../../src/server.ts';
import type { IncomingInvite } from '../../src/sip/ua/incoming-invite.ts';
import type { Cdr } from '../../src/store/store.ts';
import { call as apiCall } from '../http/helpers.ts';
import { SALES, expectSoundQueueLog } from '../integration/acd-helpers.ts';
import { startFront, type Front, type FrontOptions } from '../integration/front.ts';
import { SERVICE, eventually, phone } from '../integration/harness.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { finishSuite, freePortBlock, killAll, sleep } from './tools.ts';

export const PIN = '2580';
/** A test phone carries 20 calls at once (40 RTP ports): customers are spread over several. */
export const CUSTOMER_PHONES = 8;

export const pad = (n: number): string => String(n).padStart(4, '0');
export const contactOf = (i: number): string => `+7900300${pad(i)}`;
export const customerOf = (i: number): string => `+7916500${pad(i)}`;
/** The script's choice: these customers give up in the greeting, before any agent is rung. */
export const abandons = (i: number): boolean => i % 10 === 3;
/** The load's customers (customerOf), apart from any a test places before the load. */
export const isLoad = (p: Placed): boolean => p.number.startsWith('+7916500');

export type Outcome = 'answered' | 'abandoned' | 'lost' | 'failed' | 'stuck';
export interface Placed {
  number: string;
  abandon: boolean;
  /** Index of the node holding the customer's dialog (its Contact); -1 when the call failed. */
  node: number;
  placedAt: number;
  outcome?: Outcome;
}
/** One INVITE to an agent's mobile: who was rung for whom, by which node. */
export interface Ring {
  agent: string;
  caller: string;
  node: number;
  at: number;
}

export interface FloorRig {
  /** The front and its nodes, the test phone `trunk` their trunk (set before the file's tests). */
  readonly front: Front;
  /** One test phone playing every agent's mobile. */
  readonly trunk: TestPhone;
  /** A test phone, closed after the file. */
  phone(number: string): Promise<TestPhone>;
  /** CUSTOMER_PHONES test phones for the customers, closed after the file. */
  customerPhones(): Promise<TestPhone[]>;
}

/** Registers the file's hooks: the trunk phone and the front (`o`) before, all closed after. */
export function floorRig(o: Omit<FrontOptions, 'server'>): FloorRig {
  let front: Front | undefined;
  let trunk: TestPhone | undefined;
  const phones: TestPhone[] = [];
  beforeAll(async () => {
    const trunkPort = await freePortBlock(1);
    trunk = await phone({ number: 'trunk', sipPort: trunkPort });
    front = await startFront({ ...o, server: { trunk: `sip:127.0.0.1:${trunkPort}` } });
  }, 90_000);
  afterAll(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await front?.close();
    await trunk?.close();
    await killAll();
    finishSuite();
  });
  const testPhone = async (number: string): Promise<TestPhone> => {
    const p = await phone({ number });
    phones.push(p);
    return p;
  };
  return {
    get front() {
      return front!;
    },
    get trunk() {
      return trunk!;
    },
    phone: testPhone,
    customerPhones: async () => {
      const list: TestPhone[] = [];
      for (let i = 0; i < CUSTOMER_PHONES; i++) list.push(await testPhone(`customers${i}`));
      return list;
    },
  };
}

/** `count` agents, Sales only, each with a mobile number of their own (contactOf). */
export async function createAgents(a: Server, count: number): Promise<number[]> {
  const sales = (await a.store.directory.getDepartmentByCode(1, '101'))!;
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
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
  return ids;
}

export interface Mobiles {
  /** Every ring, in order. */
  rings: Ring[];
  /** Stops answering and waits for the legs in progress to hang up. */
  stop(): Promise<void>;
}

/** Every agent's mobile on `trunk`: answers each ring after 0.6 s, talks 2–4 s, hangs up. */
export function answerMobiles(trunk: TestPhone, nodeOf: (inv: IncomingInvite) => number): Mobiles {
  const rings: Ring[] = [];
  const legs: Promise<void>[] = [];
  let answering = true;
  const answerer = (async () => {
    while (answering) {
      const inv = await trunk.nextIncoming(500).catch(() => undefined);
      if (!inv) continue;
      rings.push({ agent: inv.calledUser, caller: inv.caller.user, node: nodeOf(inv), at: Date.now() });
      legs.push(
        (async () => {
          await sleep(600);
          const leg = await trunk.answer(inv);
          await sleep(2000 + Math.floor(Math.random() * 2000));
          await leg.hangup();
        })().catch(() => undefined),
      );
    }
  })();
  return {
    rings,
    stop: async () => {
      answering = false;
      await answerer;
      await Promise.all(legs);
    },
  };
}

/** Every agent logs in through the service IVR from `desk` via the front (ten at a time). */
export async function loginAgents(
  a: Server,
  desk: TestPhone,
  frontPort: number,
  ids: number[],
): Promise<void> {
  const login = async (i: number): Promise<void> => {
    const c = await desk.call(SERVICE, { port: frontPort }, { from: contactOf(i) });
    await c.waitForPrompt(promptPath('ru', 'enter_pin'), 20_000);
    c.sendDtmf(`${PIN}#`);
    await c.waitForPrompt(promptPath('ru', 'registered'), 20_000);
    await c.hangup();
  };
  for (let i = 0; i < ids.length; i += 10)
    await Promise.all(ids.slice(i, i + 10).map((_, k) => login(i + k)));
  await eventually(
    async () =>
      (await Promise.all(ids.map(async (id) => (await a.agentStates.getState(id)).state))).every(
        (s) => s === 'ready',
      ),
    15_000,
    'every agent ready',
  );
}

/** Customers calling Sales via the front, from CUSTOMER_PHONES test phones. */
export class Customers {
  readonly placed: Placed[] = [];
  private readonly settled: Promise<void>[] = [];

  constructor(
    private readonly phones: TestPhone[],
    private readonly frontPort: number,
    private readonly nodeOfCall: (c: PhoneCall) => number,
    /** Settles to 'lost' when a placed call goes with its node; undefined when it cannot. */
    private readonly lostWith: (p: Placed) => Promise<'lost'> | undefined = () => undefined,
  ) {}

  /** Places customer call `i`; the call is undefined when it failed. */
  async place(i: number, number: string, abandon: boolean): Promise<[Placed, PhoneCall?]> {
    const p: Placed = { number, abandon, node: -1, placedAt: Date.now() };
    this.placed.push(p);
    let c: PhoneCall;
    try {
      c = await this.phones[i % this.phones.length]!.call(SALES, { port: this.frontPort }, { from: number });
    } catch {
      p.outcome = 'failed';
      return [p];
    }
    p.node = this.nodeOfCall(c);
    return [p, c];
  }

  /** Follows a placed call to its end the script's way; `settle()` waits for it. */
  follow(p: Placed, c: PhoneCall | undefined): void {
    this.settled.push(this.end(p, c));
  }

  /** Places customer call `i` (customerOf, the script's choice of abandoning) and follows it. */
  placeLoad(i: number): void {
    this.settled.push(this.place(i, customerOf(i), abandons(i)).then(([p, c]) => this.end(p, c)));
  }

  /** Every call followed has ended. */
  async settle(): Promise<void> {
    await Promise.all(this.settled);
  }

  private async end(p: Placed, c: PhoneCall | undefined): Promise<void> {
    if (!c) return;
    if (p.abandon) {
      await sleep(150);
      await c.hangup();
      p.outcome = 'abandoned';
      return;
    }
    const lost = this.lostWith(p) ?? new Promise<never>(() => {});
    const end = await Promise.race([c.ended, lost, sleep(90_000).then(() => 'stuck' as const)]);
    p.outcome = end === 'remote' ? 'answered' : end === 'local' ? 'stuck' : end;
    if (end !== 'remote') void c.hangup();
  }
}

/** The load: `calls` customers (Customers.placeLoad) evenly over `spreadMs`; `before(i)` first. */
export async function runLoad(
  customers: Customers,
  calls: number,
  spreadMs: number,
  before: (i: number) => Promise<void> = async () => undefined,
): Promise<void> {
  const start = Date.now();
  for (let i = 0; i < calls; i++) {
    await sleep(start + (i * spreadMs) / calls - Date.now());
    await before(i);
    customers.placeLoad(i);
  }
  await customers.settle();
}

/**
 * The end of a run, read through node `a`: every CDR closed; every call ended as the script
 * chose (its outcome here and its CDR by the API), or went with its node ('lost', CDR
 * node_lost); the queue log of the whole floor sound (no agent offered two calls at once, no
 * call two agents); more than one agent took calls. Returns the calls lost.
 */
export async function expectFloorSound(
  a: Server,
  placed: readonly Placed[],
  ids: number[],
): Promise<Placed[]> {
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
  for (const p of placed) {
    const want = p.outcome === 'lost' ? 'node_lost' : p.abandon ? 'abandoned' : 'answered';
    expect(p.outcome, `${p.number} on node-${p.node}`).toBe(p.outcome === 'lost' ? 'lost' : want);
    expect(cdrOf.get(p.number)?.outcome, `CDR of ${p.number}`).toBe(want);
  }
  const events = (await Promise.all(cdrs.map((x) => a.store.calls.listQueueEvents(x.id)))).flat();
  const lostIds = new Set(cdrs.filter((x) => x.outcome === 'node_lost').map((x) => x.id));
  expectSoundQueueLog(events, cdrs, ids, lostIds);
  expect(new Set(cdrs.flatMap((x) => x.agentIds)).size).toBeGreaterThan(1);
  return placed.filter((p) => p.outcome === 'lost');
}
