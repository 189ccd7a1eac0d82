import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedDemo } from '../store/seed.ts';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/open.ts';
import type { AgentState } from '../store/store.ts';
import { tempDir } from '../store/test-helpers.ts';
import { isAppError } from '../util/errors.ts';
import { FakeClock } from '../util/fake-clock.ts';
import { allMoves } from '../util/state-machine.ts';
import {
  AGENT_STATES,
  AgentStateMachine,
  NOOP_SELF,
  TRANSITIONS,
  canTransition,
  type AgentStateChange,
} from './agent-state.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 1, 9, 0);
const IVR = { reason: 'test', source: 'ivr' } as const;

/** Allowed moves that bring a logged-out agent into each state. */
const PATH: Record<AgentState, AgentState[]> = {
  logged_out: [],
  ready: ['ready'],
  offered: ['ready', 'offered'],
  busy: ['ready', 'offered', 'busy'],
  wrap_up: ['ready', 'offered', 'busy', 'wrap_up'],
  temporarily_not_ready: ['ready', 'temporarily_not_ready'],
  not_ready: ['ready', 'not_ready'],
};

interface Ctx {
  store: SqliteStore;
  clock: FakeClock;
  sm: AgentStateMachine;
  companyId: number;
  agent: (login: string) => Promise<number>;
  changes: AgentStateChange[];
}

async function setup(path = ':memory:', clock = new FakeClock(0, T0)): Promise<Ctx> {
  const store = await openSqliteStore(path);
  const seeded = await seedDemo(store);
  const companyId = seeded.seeded ? seeded.companyId : (await store.directory.listCompanies())[0]!.id;
  const sm = new AgentStateMachine({ store: store.agentStates, directory: store.directory, clock });
  const changes: AgentStateChange[] = [];
  sm.onChange((c) => changes.push(c));
  const agent = async (login: string) => (await store.directory.getAgentByLogin(login))!.id;
  return { store, clock, sm, companyId, agent, changes };
}

async function teardown(ctx: Ctx): Promise<void> {
  ctx.sm.close();
  await ctx.store.close();
}

async function drive(ctx: Ctx, agentId: number, state: AgentState): Promise<void> {
  for (const s of PATH[state]) await ctx.sm.transition(agentId, s, { reason: `to_${s}`, source: 'system' });
  expect((await ctx.sm.getState(agentId)).state).toBe(state);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('transition table (SPEC §3)', () => {
  it('covers every state, and every target is a state', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...AGENT_STATES].sort());
    for (const targets of Object.values(TRANSITIONS))
      for (const t of targets) expect(AGENT_STATES).toContain(t);
  });
  it('calls are only offered to ready agents', () => {
    for (const s of AGENT_STATES) expect(canTransition(s, 'offered')).toBe(s === 'ready');
  });
  it("busy ends only through wrap_up, or a supervisor's forced not_ready / logged_out", () => {
    expect(TRANSITIONS.busy).toEqual(['wrap_up', 'not_ready', 'logged_out']);
  });
});

/** The moves the per-state describes below made: together, every move of the table. */
const walked = new Set<string>();

/**
 * One describe per state: every allowed move succeeds and is recorded; every
 * other move is refused with `invalid_transition` and changes nothing.
 */
for (const from of AGENT_STATES) {
  describe(`from ${from}`, () => {
    let ctx: Ctx;
    beforeEach(async () => {
      ctx = await setup();
      // wrap_up must stay put long enough to be tested
      await ctx.store.directory.updateCompanySettings(ctx.companyId, { wrapUpSeconds: 30 });
    });
    afterEach(async () => {
      await teardown(ctx);
    });

    for (const to of AGENT_STATES) {
      const allowed = canTransition(from, to);
      const noop = from === to && NOOP_SELF.has(to);
      const label = noop ? 'is a no-op' : allowed ? 'is allowed and recorded' : 'is refused';
      it(`→ ${to} ${label}`, async () => {
        const id = await ctx.agent('1001');
        await drive(ctx, id, from);
        const historyBefore = await ctx.store.agentStates.listStateHistory({ agentId: id });
        const eventsBefore = ctx.changes.length;
        ctx.clock.advance(1000);

        const p = ctx.sm.transition(id, to, { reason: 'probe', source: 'api' });
        if (noop) {
          expect(await p).toBeNull();
        } else if (allowed) {
          const change = await p;
          walked.add(`${from}>${to}`);
          expect(change).toMatchObject({
            agentId: id,
            companyId: ctx.companyId,
            from,
            to,
            reason: 'probe',
            source: 'api',
            at: T0 + 1000,
          });
          const history = await ctx.store.agentStates.listStateHistory({ agentId: id });
          expect(history.slice(historyBefore.length)[0]).toMatchObject({
            from,
            to,
            reason: 'probe',
            source: 'api',
            at: T0 + 1000,
          });
          expect(ctx.changes[eventsBefore]).toEqual(change);
          expect(await ctx.sm.getState(id)).toEqual({
            agentId: id,
            state: to,
            since: T0 + 1000,
            reason: 'probe',
            source: 'api',
          });
          return;
        } else {
          const err = await rejection(p);
          expect(isAppError(err, 'invalid_transition')).toBe(true);
        }
        expect((await ctx.sm.getState(id)).state).toBe(from);
        expect(await ctx.store.agentStates.listStateHistory({ agentId: id })).toEqual(historyBefore);
        expect(ctx.changes.length).toBe(eventsBefore);
      });
    }
  });
}

describe('the per-state moves above', () => {
  it('walked every move the table allows', () => {
    expect([...walked].sort()).toEqual(allMoves(TRANSITIONS).sort());
  });
});

describe('logged_out: the initial state', () => {
  let ctx: Ctx;
  beforeEach(async () => {
    ctx = await setup();
  });
  afterEach(async () => {
    await teardown(ctx);
  });

  it('every agent starts logged_out; unknown agents are not_found', async () => {
    for (const s of await ctx.store.agentStates.listAgentStates()) expect(s.state).toBe('logged_out');
    const err = await rejection(ctx.sm.transition(9999, 'ready', IVR));
    expect(isAppError(err, 'not_found')).toBe(true);
  });

  it('a login makes the agent ready, with history and an event', async () => {
    const id = await ctx.agent('1002');
    await ctx.sm.transition(id, 'ready', { reason: 'ivr_login', source: 'ivr' });
    const [row] = await ctx.store.agentStates.listStateHistory({ agentId: id });
    expect(row).toMatchObject({
      agentId: id,
      from: 'logged_out',
      to: 'ready',
      reason: 'ivr_login',
      source: 'ivr',
      at: T0,
    });
    expect(ctx.changes.map((c) => [c.from, c.to])).toEqual([['logged_out', 'ready']]);
  });
});

describe('offered: serialised per agent', () => {
  let ctx: Ctx;
  beforeEach(async () => {
    ctx = await setup();
  });
  afterEach(async () => {
    await teardown(ctx);
  });

  it('two simultaneous offers: one wins, the other is refused', async () => {
    const id = await ctx.agent('1001');
    await drive(ctx, id, 'ready');
    const results = await Promise.allSettled([
      ctx.sm.transition(id, 'offered', { reason: 'call_a', source: 'system' }),
      ctx.sm.transition(id, 'offered', { reason: 'call_b', source: 'system' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect((await ctx.sm.getState(id)).reason).toBe('call_a');
  });

  it('no answer sends the agent on a break (redirection on no answer)', async () => {
    const id = await ctx.agent('1001');
    await drive(ctx, id, 'offered');
    await ctx.sm.transition(id, 'temporarily_not_ready', { reason: 'no_answer', source: 'system' });
    expect(ctx.sm.pendingTimers()).toBe(1);
  });
});

describe('temporarily_not_ready: returns to ready after breakMinutes', () => {
  let ctx: Ctx;
  beforeEach(async () => {
    ctx = await setup();
  });
  afterEach(async () => {
    await teardown(ctx);
  });

  it('after the default 15 minutes, with reason break_over from system', async () => {
    const id = await ctx.agent('1001');
    await drive(ctx, id, 'temporarily_not_ready');
    expect(ctx.sm.pendingTimers()).toBe(1);
    expect(ctx.clock.pending()).toBe(1);

    await ctx.clock.advanceAsync(15 * MIN - 1);
    await ctx.sm.idle();
    expect((await ctx.sm.getState(id)).state).toBe('temporarily_not_ready');

    await ctx.clock.advanceAsync(1);
    await ctx.sm.idle();
    expect(await ctx.sm.getState(id)).toMatchObject({
      state: 'ready',
      reason: 'break_over',
      source: 'system',
      since: T0 + 15 * MIN,
    });
    expect(ctx.changes.at(-1)).toMatchObject({
      from: 'temporarily_not_ready',
      to: 'ready',
      reason: 'break_over',
    });
    expect(ctx.sm.pendingTimers()).toBe(0);
    expect(ctx.clock.pending()).toBe(0);
  });

  it('uses the company setting read at the move (effective immediately)', async () => {
    await ctx.store.directory.updateCompanySettings(ctx.companyId, { breakMinutes: 2 });
    const id = await ctx.agent('1003');
    await drive(ctx, id, 'temporarily_not_ready');
    await ctx.clock.advanceAsync(2 * MIN);
    await ctx.sm.idle();
    expect((await ctx.sm.getState(id)).state).toBe('ready');
  });

  it('coming back early clears the timer', async () => {
    const id = await ctx.agent('1001');
    await drive(ctx, id, 'temporarily_not_ready');
    await ctx.sm.transition(id, 'ready', { reason: 'ivr_menu_0', source: 'ivr' });
    expect(ctx.sm.pendingTimers()).toBe(0);
    expect(ctx.clock.pending()).toBe(0);
  });

  it('switching to not_ready clears the timer: not_ready lasts', async () => {
    const id = await ctx.agent('1001');
    await drive(ctx, id, 'temporarily_not_ready');
    await ctx.sm.transition(id, 'not_ready', { reason: 'ivr_menu_4', source: 'ivr' });
    await ctx.clock.advanceAsync(60 * MIN);
    await ctx.sm.idle();
    expect((await ctx.sm.getState(id)).state).toBe('not_ready');
    expect(ctx.sm.pendingTimers()).toBe(0);
  });

  it('pressing 3 again restarts the break', async () => {
    const id = await ctx.agent('1001');
    await drive(ctx, id, 'temporarily_not_ready');
    await ctx.clock.advanceAsync(10 * MIN);
    await ctx.sm.transition(id, 'temporarily_not_ready', { reason: 'ivr_menu_3', source: 'ivr' });
    expect(ctx.clock.pending()).toBe(1);
    await ctx.clock.advanceAsync(10 * MIN);
    await ctx.sm.idle();
    expect((await ctx.sm.getState(id)).state).toBe('temporarily_not_ready');
    await ctx.clock.advanceAsync(5 * MIN);
    await ctx.sm.idle();
    expect((await ctx.sm.getState(id)).state).toBe('ready');
  });

  it('timers of different agents run independently', async () => {
    const a = await ctx.agent('1001');
    const b = await ctx.agent('1002');
    await drive(ctx, a, 'temporarily_not_ready');
    await ctx.clock.advanceAsync(5 * MIN);
    await drive(ctx, b, 'temporarily_not_ready');
    expect(ctx.sm.pendingTimers()).toBe(2);
    await ctx.clock.advanceAsync(10 * MIN);
    await ctx.sm.idle();
    expect((await ctx.sm.getState(a)).state).toBe('ready');
    expect((await ctx.sm.getState(b)).state).toBe('temporarily_not_ready');
  });
});

describe('wrap_up: returns to ready after wrapUpSeconds', () => {
  let ctx: Ctx;
  beforeEach(async () => {
    ctx = await setup();
  });
  afterEach(async () => {
    await teardown(ctx);
  });

  it('wrapUpSeconds 0 (default): straight on to ready, both moves recorded', async () => {
    const id = await ctx.agent('1001');
    await drive(ctx, id, 'busy');
    const change = await ctx.sm.transition(id, 'wrap_up', { reason: 'call_ended', source: 'system' });
    expect(change?.to).toBe('wrap_up');
    expect(await ctx.sm.getState(id)).toMatchObject({
      state: 'ready',
      reason: 'wrap_up_over',
      source: 'system',
    });
    expect(ctx.changes.slice(-2).map((c) => [c.from, c.to])).toEqual([
      ['busy', 'wrap_up'],
      ['wrap_up', 'ready'],
    ]);
    expect(ctx.sm.pendingTimers()).toBe(0);
  });

  it('wrapUpSeconds 10: ready after 10 s', async () => {
    await ctx.store.directory.updateCompanySettings(ctx.companyId, { wrapUpSeconds: 10 });
    const id = await ctx.agent('1001');
    await drive(ctx, id, 'wrap_up');
    expect(ctx.sm.pendingTimers()).toBe(1);
    await ctx.clock.advanceAsync(9_999);
    await ctx.sm.idle();
    expect((await ctx.sm.getState(id)).state).toBe('wrap_up');
    await ctx.clock.advanceAsync(1);
    await ctx.sm.idle();
    expect(await ctx.sm.getState(id)).toMatchObject({ state: 'ready', reason: 'wrap_up_over' });
    expect(ctx.sm.pendingTimers()).toBe(0);
  });

  it('going not_ready during wrap-up cancels the return', async () => {
    await ctx.store.directory.updateCompanySettings(ctx.companyId, { wrapUpSeconds: 10 });
    const id = await ctx.agent('1001');
    await drive(ctx, id, 'wrap_up');
    await ctx.sm.transition(id, 'not_ready', IVR);
    await ctx.clock.advanceAsync(60_000);
    await ctx.sm.idle();
    expect((await ctx.sm.getState(id)).state).toBe('not_ready');
  });
});

describe('busy and not_ready own no timers', () => {
  it('stay as they are however long it takes', async () => {
    const ctx = await setup();
    try {
      const a = await ctx.agent('1001');
      const b = await ctx.agent('1002');
      await drive(ctx, a, 'busy');
      await drive(ctx, b, 'not_ready');
      expect(ctx.sm.pendingTimers()).toBe(0);
      await ctx.clock.advanceAsync(24 * 60 * MIN);
      expect((await ctx.sm.getState(a)).state).toBe('busy');
      expect((await ctx.sm.getState(b)).state).toBe('not_ready');
    } finally {
      await teardown(ctx);
    }
  });
});

describe('listeners', () => {
  it('unsubscribe stops events; a throwing listener does not break the machine', async () => {
    const ctx = await setup();
    try {
      const seen: string[] = [];
      ctx.sm.onChange(() => {
        throw new Error('boom');
      });
      const off = ctx.sm.onChange((c) => seen.push(c.to));
      const id = await ctx.agent('1001');
      await ctx.sm.transition(id, 'ready', IVR);
      off();
      await ctx.sm.transition(id, 'not_ready', IVR);
      expect(seen).toEqual(['ready']);
      expect(ctx.changes.map((c) => c.to)).toEqual(['ready', 'not_ready']);
    } finally {
      await teardown(ctx);
    }
  });
});

describe('recoverAfterRestart (temp database file, reopened)', () => {
  let cleanup: () => void;
  let file: string;
  beforeEach(() => {
    const t = tempDir();
    cleanup = t.cleanup;
    file = join(t.dir, 'db', 'agentline.db');
  });
  afterEach(() => cleanup());

  async function before(): Promise<Record<string, number>> {
    const ctx = await setup(file);
    await ctx.store.directory.updateCompanySettings(ctx.companyId, { wrapUpSeconds: 60 });
    const ids = {
      a1001: await ctx.agent('1001'),
      a1002: await ctx.agent('1002'),
      a1003: await ctx.agent('1003'),
      a1004: await ctx.agent('1004'),
    };
    await drive(ctx, ids.a1001, 'busy');
    await drive(ctx, ids.a1002, 'offered');
    await drive(ctx, ids.a1003, 'temporarily_not_ready'); // at T0, break ends at T0 + 15 min
    await drive(ctx, ids.a1004, 'wrap_up');
    await teardown(ctx); // "crash"
    return ids;
  }

  it('offered/busy/wrap_up come back ready; a break gets its remaining time', async () => {
    const ids = await before();
    const ctx = await setup(file, new FakeClock(0, T0 + 5 * MIN));
    try {
      const report = await ctx.sm.recoverAfterRestart();
      expect(report).toEqual({
        recovered: [ids.a1001!, ids.a1002!, ids.a1004!].sort((x, y) => x - y),
        breaksRearmed: [ids.a1003],
        breaksEnded: [],
      });
      for (const id of report.recovered) {
        expect(await ctx.sm.getState(id)).toMatchObject({
          state: 'ready',
          reason: 'restart_recovery',
          source: 'system',
        });
      }
      const rows = await ctx.store.agentStates.listStateHistory({
        agentId: ids.a1001!,
        newestFirst: true,
        limit: 1,
      });
      expect(rows[0]).toMatchObject({
        from: 'busy',
        to: 'ready',
        reason: 'restart_recovery',
        at: T0 + 5 * MIN,
      });
      expect(ctx.sm.pendingTimers()).toBe(1); // 1004's wrap-up timer is gone with its state

      await ctx.clock.advanceAsync(10 * MIN - 1);
      await ctx.sm.idle();
      expect((await ctx.sm.getState(ids.a1003!)).state).toBe('temporarily_not_ready');
      await ctx.clock.advanceAsync(1);
      await ctx.sm.idle();
      expect(await ctx.sm.getState(ids.a1003!)).toMatchObject({
        state: 'ready',
        reason: 'break_over',
        since: T0 + 15 * MIN,
      });
      expect(ctx.sm.pendingTimers()).toBe(0);
    } finally {
      await teardown(ctx);
    }
  });

  it('a break that ran out while down ends at once', async () => {
    const ids = await before();
    const ctx = await setup(file, new FakeClock(0, T0 + 20 * MIN));
    try {
      const report = await ctx.sm.recoverAfterRestart();
      expect(report.breaksEnded).toEqual([ids.a1003]);
      expect(report.breaksRearmed).toEqual([]);
      expect(await ctx.sm.getState(ids.a1003!)).toMatchObject({ state: 'ready', reason: 'break_over' });
      expect(ctx.sm.pendingTimers()).toBe(0);
    } finally {
      await teardown(ctx);
    }
  });
});

describe('recoverLost (another node stopped, issue 15)', () => {
  it('frees the agents the lost node held; re-arms the breaks and wrap-ups it may have owned, acting once', async () => {
    // Two machines on one database: `lost` made the moves (and owns the timers), `survivor` recovers.
    const t = tempDir();
    const file = join(t.dir, 'db', 'agentline.db');
    const lost = await setup(file);
    const survivor = await setup(file, lost.clock);
    try {
      await lost.store.directory.updateCompanySettings(lost.companyId, { wrapUpSeconds: 60 });
      const [busy, wrap, onBreak] = [
        await lost.agent('1001'),
        await lost.agent('1002'),
        await lost.agent('1003'),
      ];
      await drive(lost, busy, 'busy');
      await drive(lost, wrap, 'wrap_up');
      await drive(lost, onBreak, 'temporarily_not_ready');
      await lost.clock.advanceAsync(30_000);
      const report = await survivor.sm.recoverLost([busy], 'node_lost');
      expect(report).toEqual({
        recovered: [busy],
        breaksRearmed: [wrap, onBreak].sort((x, y) => x - y),
        breaksEnded: [],
      });
      expect(await survivor.sm.getState(busy)).toMatchObject({ state: 'ready', reason: 'node_lost' });
      expect(await survivor.sm.getState(wrap)).toMatchObject({ state: 'wrap_up' });
      // The wrap-up ends once, though both machines had a timer for it.
      await lost.clock.advanceAsync(30_000);
      await Promise.all([lost.sm.idle(), survivor.sm.idle()]);
      expect(await survivor.sm.getState(wrap)).toMatchObject({ state: 'ready', reason: 'wrap_up_over' });
      const ends = await survivor.store.agentStates.listStateHistory({ agentId: wrap });
      expect(ends.filter((r) => r.reason === 'wrap_up_over')).toHaveLength(1);
    } finally {
      await teardown(survivor);
      await teardown(lost);
      t.cleanup();
    }
  });
});

describe('close()', () => {
  it('clears every timer and refuses further moves', async () => {
    const ctx = await setup();
    await ctx.store.directory.updateCompanySettings(ctx.companyId, { wrapUpSeconds: 30 });
    await drive(ctx, await ctx.agent('1001'), 'temporarily_not_ready');
    await drive(ctx, await ctx.agent('1002'), 'wrap_up');
    await drive(ctx, await ctx.agent('1003'), 'temporarily_not_ready');
    expect(ctx.sm.pendingTimers()).toBe(3);
    expect(ctx.clock.pending()).toBe(3);
    ctx.sm.close();
    expect(ctx.sm.pendingTimers()).toBe(0);
    expect(ctx.clock.pending()).toBe(0);
    const err = await rejection(ctx.sm.transition(await ctx.agent('1004'), 'ready', IVR));
    expect(isAppError(err, 'closed')).toBe(true);
    await ctx.store.close();
  });
});
