import { describe, expect, it } from 'vitest';
import { DEFAULT_COMPANY_SETTINGS } from './company-settings.ts';
import { seedDemo } from './seed.ts';
import type { SqliteStore } from './sqlite/open.ts';
import { eachMemoryStore } from './test-helpers.ts';

describe('seedDemo (SPEC §10)', () => {
  let store: SqliteStore;
  eachMemoryStore((s) => (store = s));

  it('creates exactly the demo company on an empty database', async () => {
    const r = await seedDemo(store);
    expect(r.seeded).toBe(true);
    const dir = store.directory;

    const companies = await dir.listCompanies();
    expect(companies).toHaveLength(1);
    const demo = companies[0]!;
    expect(demo.name).toBe('Demo');
    expect(demo.settings).toEqual(DEFAULT_COMPANY_SETTINGS);

    const deps = await dir.listDepartments(demo.id);
    expect(deps.map((d) => [d.code, d.name])).toEqual([
      ['101', 'Sales'],
      ['102', 'Support'],
    ]);
    const depId = (code: string) => deps.find((d) => d.code === code)!.id;

    expect(await dir.listNumbers()).toEqual([
      { number: '+74950000001', kind: 'hotline', companyId: demo.id, departmentId: depId('101') },
      { number: '+74950000002', kind: 'hotline', companyId: demo.id, departmentId: depId('102') },
      { number: '+79262951361', kind: 'service', companyId: null, departmentId: null },
    ]);

    const agents = await dir.listAgents();
    expect(agents.map((a) => [a.login, a.shortNumber, a.contact, a.companyId, a.sessionContact])).toEqual([
      ['1001', '201', '+79000000001', demo.id, null],
      ['1002', '202', '+79000000002', demo.id, null],
      ['1003', '203', '+79000000003', demo.id, null],
      ['1004', '204', '+79000000004', demo.id, null],
    ]);
    for (const a of agents) {
      expect(a.name.length).toBeGreaterThan(0);
      expect(await dir.verifyPin(a.login, '2580')).toBe(true);
      expect(await dir.verifyPin(a.login, '0000')).toBe(false);
    }
    const members = (code: string) =>
      store.directory.listAgents({ departmentId: depId(code) }).then((l) => l.map((a) => a.login));
    expect(await members('101')).toEqual(['1001', '1002']);
    expect(await members('102')).toEqual(['1002', '1003', '1004']);
    const a1002 = agents.find((a) => a.login === '1002')!;
    expect(a1002.departments).toEqual([
      { departmentId: depId('101'), priority: 1 },
      { departmentId: depId('102'), priority: 2 },
    ]);

    expect(await dir.listSipAccounts()).toEqual([]);
    for (const a of agents) expect((await store.agentStates.getAgentState(a.id))?.state).toBe('logged_out');
  });

  it('does nothing on a database that already has data', async () => {
    await seedDemo(store);
    expect(await seedDemo(store)).toEqual({ seeded: false, reason: 'not_empty' });
    expect(await store.directory.listCompanies()).toHaveLength(1);
    expect(await store.directory.listAgents()).toHaveLength(4);
  });
});
