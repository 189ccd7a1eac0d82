import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedDemo } from '../store/seed.ts';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/open.ts';
import { FakeClock } from '../util/fake-clock.ts';
import { AgentStateMachine } from './agent-state.ts';
import { LocalAvailability } from './availability.ts';

const SYSTEM = { reason: 'test', source: 'system' } as const;

describe('LocalAvailability', () => {
  let store: SqliteStore;
  let states: AgentStateMachine;
  let availability: LocalAvailability;
  let agent: number;
  let department: number;
  let told: number[];
  /** The agent as the distributor sees them among the department's free agents, if there. */
  const free = async () => (await availability.freeIn(department)).find((a) => a.agentId === agent);

  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
    await seedDemo(store);
    states = new AgentStateMachine({
      store: store.agentStates,
      directory: store.directory,
      clock: new FakeClock(0, Date.UTC(2024, 0, 1)),
    });
    availability = new LocalAvailability(states, { error: () => {} });
    const a1001 = (await store.directory.getAgentByLogin('1001'))!;
    agent = a1001.id;
    department = a1001.departments[0]!.departmentId;
    told = [];
    availability.onMayBeFree((id) => told.push(id));
  });

  afterEach(async () => {
    availability.close();
    states.close();
    await store.close();
  });

  it('a logged-out agent is not free and not logged in; once ready they are free, and it is told', async () => {
    expect(await free()).toBeUndefined();
    expect(await availability.staffed(department)).toBe(false); // nobody of the demo logged in yet
    await states.transition(agent, 'ready', SYSTEM);
    expect(await availability.staffed(department)).toBe(true);
    expect(await free()).toMatchObject({ agentId: agent });
    expect(told).toEqual([agent]);
  });

  it('a reserved agent is offered, held, and not free; a second reservation is refused', async () => {
    await states.transition(agent, 'ready', SYSTEM);
    expect(await availability.reserve(agent, 'offer:1')).toBe(true);
    expect((await states.getState(agent)).state).toBe('offered');
    expect(await availability.isReserved(agent)).toBe(true);
    expect(await free()).toBeUndefined();
    expect(await availability.reserve(agent, 'offer:2')).toBe(false);
  });

  it('a reservation of an agent who is not ready is refused and holds nothing', async () => {
    await states.transition(agent, 'ready', SYSTEM);
    await states.transition(agent, 'not_ready', SYSTEM);
    expect(await availability.reserve(agent, 'offer:1')).toBe(false);
    expect(await availability.isReserved(agent)).toBe(false);
    expect((await states.getState(agent)).state).toBe('not_ready');
  });

  it('settle keeps the agent held (busy); release lets them go to the state given', async () => {
    await states.transition(agent, 'ready', SYSTEM);
    await availability.reserve(agent, 'offer:1');
    await availability.settle(agent, 'busy', 'call:1');
    expect(await availability.isReserved(agent)).toBe(true);
    expect((await states.getState(agent)).state).toBe('busy');
    await availability.release(agent, 'wrap_up', 'call_ended');
    expect(await availability.isReserved(agent)).toBe(false);
    // wrapUpSeconds of the demo company decides whether they are ready already; either way, not busy.
    expect((await states.getState(agent)).state).not.toBe('busy');
  });

  it('a release the table refuses (the agent moved on) still lets the agent go', async () => {
    await states.transition(agent, 'ready', SYSTEM);
    await availability.reserve(agent, 'offer:1');
    await states.transition(agent, 'logged_out', { reason: 'supervisor', source: 'api' });
    await availability.release(agent, 'temporarily_not_ready', 'no_answer');
    expect(await availability.isReserved(agent)).toBe(false);
    expect((await states.getState(agent)).state).toBe('logged_out');
  });

  it('an agent in the service IVR is neither free nor reservable; leaving it is told', async () => {
    await states.transition(agent, 'ready', SYSTEM);
    told = [];
    await availability.enterMenu(agent);
    expect(await availability.inMenu()).toBe(1);
    expect(await free()).toBeUndefined();
    expect(await availability.reserve(agent, 'transfer_offer')).toBe(false);
    await availability.leaveMenu(agent);
    expect(await availability.inMenu()).toBe(0);
    expect(told).toEqual([agent]);
    expect(await free()).toBeDefined();
    // Leaving twice tells nobody twice.
    await availability.leaveMenu(agent);
    expect(told).toEqual([agent]);
  });
});
