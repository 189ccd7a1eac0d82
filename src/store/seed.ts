import type { Store } from './store.ts';

/** The demo company of SPEC §10. */
export const DEMO = Object.freeze({
  serviceNumber: '+79262951361',
  companyName: 'Demo',
  pin: '2580',
  departments: [
    { code: '101', name: 'Sales', hotline: '+74950000001' },
    { code: '102', name: 'Support', hotline: '+74950000002' },
  ],
  agents: [
    {
      login: '1001',
      name: 'Анна Смирнова',
      shortNumber: '201',
      contact: '+79000000001',
      departments: [['101', 1]],
    },
    {
      login: '1002',
      name: 'Борис Иванов',
      shortNumber: '202',
      contact: '+79000000002',
      // Sales first; helps Support when Support's own agents are busy.
      departments: [
        ['101', 1],
        ['102', 2],
      ],
    },
    {
      login: '1003',
      name: 'Вера Кузнецова',
      shortNumber: '203',
      contact: '+79000000003',
      departments: [['102', 1]],
    },
    {
      login: '1004',
      name: 'Глеб Попов',
      shortNumber: '204',
      contact: '+79000000004',
      departments: [['102', 1]],
      // The floor's supervisor: may listen to, whisper to and barge into the others' calls.
      supervisor: true,
    },
  ] as const,
});

export type SeedResult = { seeded: true; companyId: number } | { seeded: false; reason: 'not_empty' };

/**
 * Seeds the demo company (SPEC §10) when the database has no company and no
 * number yet; otherwise does nothing. No SIP account is created (see
 * `DirectoryStore.createSipAccount`).
 */
export async function seedDemo(store: Store): Promise<SeedResult> {
  const dir = store.directory;
  if ((await dir.listCompanies()).length > 0 || (await dir.listNumbers()).length > 0) {
    return { seeded: false, reason: 'not_empty' };
  }
  await dir.putNumber({ number: DEMO.serviceNumber, kind: 'service', companyId: null, departmentId: null });
  const company = await dir.createCompany({ name: DEMO.companyName });
  const depIds = new Map<string, number>();
  for (const d of DEMO.departments) {
    const dep = await dir.createDepartment({
      companyId: company.id,
      code: d.code,
      name: d.name,
      strategy: 'longest_idle',
      maxWaitSeconds: 600,
      maxQueueLength: 50,
      overflow: { kind: 'hangup' },
    });
    depIds.set(d.code, dep.id);
    await dir.putNumber({ number: d.hotline, kind: 'hotline', companyId: company.id, departmentId: dep.id });
  }
  for (const a of DEMO.agents) {
    await dir.createAgent({
      companyId: company.id,
      login: a.login,
      name: a.name,
      shortNumber: a.shortNumber,
      contact: a.contact,
      pin: DEMO.pin,
      supervisor: 'supervisor' in a && a.supervisor,
      departments: a.departments.map(([code, priority]) => ({
        departmentId: depIds.get(code) ?? 0,
        priority,
      })),
    });
  }
  return { seeded: true, companyId: company.id };
}
