import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppError } from '../util/errors.ts';
import { ensureFirstAdmin, resolveAdminToken } from './access.ts';
import { CALLER_LOCKOUT_POLICY, LOCKOUT_POLICY, normaliseCallerId } from './lockout.ts';
import { sha256Hex } from './secrets.ts';
import { openPostgresStore } from './postgres/open.ts';
import { startTestPostgres, type TestPostgres } from './postgres/test-server.ts';
import { openSqliteStore } from './sqlite/open.ts';
import type {
  AgentState,
  CdrQuery,
  Company,
  Department,
  NewCdr,
  PinAttemptResult,
  StateHistoryQuery,
  Store,
} from './store.ts';

/**
 * The Store interface's behaviours, run against every implementation (issue 12 item 6). A
 * dialect's own tests (opening, pragmas, migrations of old files, reopening a file) stay beside
 * the dialect. PostgreSQL runs on a server of this file's own (src/store/postgres/test-server.ts),
 * a fresh database per test.
 */
export interface StoreImplementation {
  name: string;
  /** A fresh, empty, migrated store; each test closes the one it opened. */
  open: () => Promise<Store>;
}

export function storeContract({ name, open }: StoreImplementation): void {
  describe(`Store contract: ${name}`, () => {
    describe('directory', () => {
      let store: Store;
      let company: Company;
      let sales: Department;
      beforeEach(async () => {
        store = await open();
        company = await store.directory.createCompany({ name: 'Acme', settings: { language: 'en' } });
        sales = await store.directory.createDepartment({ companyId: company.id, code: '101', name: 'Sales' });
      });
      afterEach(async () => {
        await store.close();
      });

      describe('companies', () => {
        it('stores settings with defaults, updates them, renames', async () => {
          const dir = store.directory;
          expect(company.settings.language).toBe('en');
          expect(company.settings.breakMinutes).toBe(15);
          const u = await dir.updateCompanySettings(company.id, { breakMinutes: 5 });
          expect(u.settings).toMatchObject({ language: 'en', breakMinutes: 5 });
          expect((await dir.getCompany(company.id))?.settings.breakMinutes).toBe(5);
          expect((await dir.renameCompany(company.id, 'Acme 2')).name).toBe('Acme 2');
          expect(await errorCode(dir.updateCompanySettings(company.id, { ringSeconds: -5 }))).toBe(
            'invalid_input',
          );
          expect(await errorCode(dir.updateCompanySettings(999, {}))).toBe('not_found');
          expect(await errorCode(dir.createCompany({ name: '  ' }))).toBe('invalid_input');
        });

        it('deleting a company removes its departments, agents and numbers', async () => {
          const dir = store.directory;
          await dir.createAgent(agentInput('1001', '201', [sales.id]));
          await dir.putNumber({
            number: '+74950000001',
            kind: 'hotline',
            companyId: company.id,
            departmentId: sales.id,
          });
          await dir.deleteCompany(company.id);
          expect(await dir.listDepartments(company.id)).toEqual([]);
          expect(await dir.listAgents()).toEqual([]);
          expect(await dir.listNumbers()).toEqual([]);
          expect(await errorCode(dir.deleteCompany(company.id))).toBe('not_found');
        });
      });

      describe('departments', () => {
        it('fills defaults, finds by code, updates, refuses duplicates and bad codes', async () => {
          const dir = store.directory;
          expect(sales).toMatchObject({
            code: '101',
            strategy: 'longest_idle',
            maxWaitSeconds: 600,
            maxQueueLength: 50,
            overflow: null,
            greeting: null,
          });
          expect((await dir.getDepartmentByCode(company.id, '101'))?.id).toBe(sales.id);
          expect(await dir.getDepartmentByCode(company.id, '999')).toBeNull();
          const u = await dir.updateDepartment(sales.id, {
            strategy: 'priority',
            overflow: { kind: 'department', code: '102' },
          });
          expect(u).toMatchObject({
            strategy: 'priority',
            overflow: { kind: 'department', code: '102' },
            name: 'Sales',
          });
          expect(
            await errorCode(dir.createDepartment({ companyId: company.id, code: '101', name: 'Again' })),
          ).toBe('conflict');
          expect(
            await errorCode(dir.createDepartment({ companyId: company.id, code: '10', name: 'Short' })),
          ).toBe('invalid_input');
          expect(
            await errorCode(dir.createDepartment({ companyId: 999, code: '103', name: 'Nowhere' })),
          ).toBe('invalid_reference');
          const other = await dir.createCompany({ name: 'Other' });
          await dir.createDepartment({ companyId: other.id, code: '101', name: 'Same code, other company' });
          await dir.deleteDepartment(sales.id);
          expect(await dir.getDepartment(sales.id)).toBeNull();
        });
      });

      describe('agents', () => {
        it('creates, finds by login/short number/contact, filters by department', async () => {
          const dir = store.directory;
          const support = await dir.createDepartment({ companyId: company.id, code: '102', name: 'Support' });
          const a = await dir.createAgent(agentInput('1001', '201', [sales.id]));
          const b = await dir.createAgent({
            ...agentInput('1002', '202', []),
            contact: 'sip:bob',
            departments: [
              { departmentId: support.id, priority: 2 },
              { departmentId: sales.id, priority: 1 },
            ],
          });
          expect(a).toMatchObject({
            login: '1001',
            shortNumber: '201',
            sessionContact: null,
            departments: [{ departmentId: sales.id, priority: 1 }],
          });
          expect(b.departments).toEqual([
            { departmentId: sales.id, priority: 1 },
            { departmentId: support.id, priority: 2 },
          ]);
          expect(a).not.toHaveProperty('pin');
          expect(a).not.toHaveProperty('pinHash');
          expect((await dir.getAgentByLogin('1002'))?.id).toBe(b.id);
          expect((await dir.getAgentByShortNumber(company.id, '201'))?.id).toBe(a.id);
          expect((await dir.findAgentsByContact('sip:bob')).map((x) => x.login)).toEqual(['1002']);
          expect((await dir.listAgents({ departmentId: support.id })).map((x) => x.login)).toEqual(['1002']);
          expect((await dir.listAgents({ companyId: company.id })).map((x) => x.login)).toEqual([
            '1001',
            '1002',
          ]);
        });

        it('updates fields, memberships and the session contact', async () => {
          const dir = store.directory;
          const a = await dir.createAgent(agentInput('1001', '201', [sales.id]));
          expect((await dir.updateAgent(a.id, { name: 'Renamed', contact: '+79001112233' })).contact).toBe(
            '+79001112233',
          );
          expect((await dir.setAgentDepartments(a.id, [])).departments).toEqual([]);
          await dir.setSessionContact(a.id, '+79005556677');
          expect((await dir.getAgent(a.id))?.sessionContact).toBe('+79005556677');
          await dir.setSessionContact(a.id, null);
          expect((await dir.getAgent(a.id))?.sessionContact).toBeNull();
          expect(await errorCode(dir.setSessionContact(a.id, 'not a contact'))).toBe('invalid_input');
          expect(await errorCode(dir.updateAgent(999, { name: 'x' }))).toBe('not_found');
        });

        it('keeps the supervisor flag (issue 14): off unless asked, set and cleared by a patch', async () => {
          const dir = store.directory;
          const a = await dir.createAgent(agentInput('1001', '201', [sales.id]));
          expect(a.supervisor).toBe(false);
          const b = await dir.createAgent({ ...agentInput('1002', '202', []), supervisor: true });
          expect((await dir.getAgentByLogin('1002'))?.supervisor).toBe(true);
          expect((await dir.updateAgent(a.id, { supervisor: true })).supervisor).toBe(true);
          expect((await dir.updateAgent(b.id, { supervisor: false })).supervisor).toBe(false);
          expect((await dir.listAgents()).map((x) => [x.login, x.supervisor])).toEqual([
            ['1001', true],
            ['1002', false],
          ]);
          expect(await errorCode(dir.updateAgent(a.id, { supervisor: 'yes' as unknown as boolean }))).toBe(
            'invalid_input',
          );
        });

        it('refuses duplicates, bad values and foreign departments', async () => {
          const dir = store.directory;
          await dir.createAgent(agentInput('1001', '201', [sales.id]));
          expect(await errorCode(dir.createAgent(agentInput('1001', '209', [])))).toBe('conflict');
          expect(await errorCode(dir.createAgent(agentInput('1009', '201', [])))).toBe('conflict');
          expect(
            await errorCode(dir.createAgent({ ...agentInput('1009', '209', []), contact: '89001234567' })),
          ).toBe('invalid_input');
          expect(await errorCode(dir.createAgent({ ...agentInput('1009', '209', []), pin: '12' }))).toBe(
            'invalid_input',
          );
          expect(await errorCode(dir.createAgent({ ...agentInput('10a9', '209', []) }))).toBe(
            'invalid_input',
          );
          const other = await dir.createCompany({ name: 'Other' });
          const foreign = await dir.createDepartment({ companyId: other.id, code: '101', name: 'Foreign' });
          expect(await errorCode(dir.createAgent(agentInput('1009', '209', [foreign.id])))).toBe(
            'invalid_reference',
          );
          expect(await dir.getAgentByLogin('1009')).toBeNull(); // the failed insert left nothing behind
        });

        it('verifies and changes the PIN', async () => {
          const dir = store.directory;
          await dir.createAgent(agentInput('1001', '201', []));
          expect(await dir.verifyPin('1001', '7391')).toBe(true);
          expect(await dir.verifyPin('1001', '7392')).toBe(false);
          expect(await dir.verifyPin('9999', '7391')).toBe(false);
          await dir.setPin('1001', '48151623');
          expect(await dir.verifyPin('1001', '7391')).toBe(false);
          expect(await dir.verifyPin('1001', '48151623')).toBe(true);
          expect(await errorCode(dir.setPin('1001', '123'))).toBe('invalid_input');
          expect(await errorCode(dir.setPin('9999', '7391'))).toBe('not_found');
        });
      });

      describe('numbers', () => {
        it('puts, replaces, lists, deletes; checks the department belongs to the company', async () => {
          const dir = store.directory;
          await dir.putNumber({
            number: '+79262951361',
            kind: 'service',
            companyId: null,
            departmentId: null,
          });
          await dir.putNumber({
            number: '+74950000001',
            kind: 'hotline',
            companyId: company.id,
            departmentId: sales.id,
          });
          expect(await dir.getNumber('+74950000001')).toEqual({
            number: '+74950000001',
            kind: 'hotline',
            companyId: company.id,
            departmentId: sales.id,
          });
          expect((await dir.listNumbers(company.id)).map((n) => n.number)).toEqual(['+74950000001']);
          expect(
            await errorCode(
              dir.putNumber({
                number: '+74950000002',
                kind: 'hotline',
                companyId: company.id,
                departmentId: null,
              }),
            ),
          ).toBe('invalid_input');
          const other = await dir.createCompany({ name: 'Other' });
          expect(
            await errorCode(
              dir.putNumber({
                number: '+74950000002',
                kind: 'hotline',
                companyId: other.id,
                departmentId: sales.id,
              }),
            ),
          ).toBe('invalid_input');
          await dir.deleteNumber('+74950000001');
          expect(await dir.getNumber('+74950000001')).toBeNull();
          expect(await errorCode(dir.deleteNumber('+74950000001'))).toBe('not_found');
        });
      });

      describe('SIP accounts', () => {
        it('stores MD5 and SHA-256 HA1 (never the password) and links an agent', async () => {
          const dir = store.directory;
          const agent = await dir.createAgent(agentInput('1003', '203', []));
          const acc = await dir.createSipAccount('agent1003', 'secret1003', 'agentline', agent.id);
          expect(acc.ha1Md5).toBe(createHash('md5').update('agent1003:agentline:secret1003').digest('hex'));
          expect(acc.ha1Sha256).toBe(
            createHash('sha256').update('agent1003:agentline:secret1003').digest('hex'),
          );
          expect(JSON.stringify(await dir.listSipAccounts())).not.toContain('secret1003');
          expect(await dir.getSipAccount('agent1003', 'agentline')).toEqual(acc);
          expect(await dir.getSipAccount('agent1003', 'other')).toBeNull();
          await dir.deleteAgent(agent.id);
          expect((await dir.getSipAccount('agent1003', 'agentline'))?.agentId).toBeNull();
          await dir.deleteSipAccount('agent1003', 'agentline');
          expect(await dir.listSipAccounts()).toEqual([]);
          expect(await errorCode(dir.createSipAccount('bad user', 'secret1003', 'agentline'))).toBe(
            'invalid_input',
          );
        });
      });

      describe('SIP phones (issue 10)', () => {
        it("keeps an account's digest algorithms across a new password; null is the server default", async () => {
          const dir = store.directory;
          expect((await dir.createSipAccount('p1', 'secret-p1', 'agentline')).algorithms).toBeNull();
          await dir.setSipAccountAlgorithms('p1', 'agentline', ['SHA-256', 'MD5']);
          await dir.createSipAccount('p1', 'secret-p2', 'agentline');
          expect((await dir.getSipAccount('p1', 'agentline'))?.algorithms).toEqual(['SHA-256', 'MD5']);
          await dir.setSipAccountAlgorithms('p1', 'agentline', null);
          expect((await dir.getSipAccount('p1', 'agentline'))?.algorithms).toBeNull();
          expect(await errorCode(dir.setSipAccountAlgorithms('p1', 'agentline', []))).toBe('invalid_input');
          expect(await errorCode(dir.setSipAccountAlgorithms('nobody', 'agentline', ['MD5']))).toBe(
            'not_found',
          );
        });

        it("replaces an AOR's bindings and drops expired ones when loading", async () => {
          const dir = store.directory;
          const b = {
            aor: 'p1',
            contactKey: 'sip:p1@10.0.0.5:5060',
            contact: '<sip:p1@10.0.0.5:5060>',
            expiresAt: 2_000,
            callId: 'c1',
            cseq: 3,
            source: { address: '10.0.0.5', port: 5060, transport: 'udp' as const },
          };
          await dir.saveSipBindings('p1', [
            b,
            { ...b, contactKey: 'k2', contact: '<sip:p1@10.0.0.6>', expiresAt: 500 },
          ]);
          await dir.saveSipBindings('p2', [{ ...b, aor: 'p2' }]);
          expect(await dir.loadSipBindings(1_000)).toEqual([b, { ...b, aor: 'p2' }]);
          await dir.saveSipBindings('p2', []);
          expect(await dir.loadSipBindings(1_000)).toEqual([b]);
          expect(await dir.loadSipBindings(2_000)).toEqual([]);
        });
      });

      function agentInput(login: string, shortNumber: string, departmentIds: number[]) {
        return {
          companyId: company.id,
          login,
          name: `Agent ${login}`,
          shortNumber,
          contact: `+7900000${login}`,
          pin: '7391',
          departments: departmentIds.map((departmentId) => ({ departmentId, priority: 1 })),
        };
      }
    });

    describe('on an empty store', () => {
      let store: Store;
      beforeEach(async () => {
        store = await open();
      });
      afterEach(async () => {
        await store.close();
      });

      describe('call records', () => {
        it('pages every matching CDR newest first, as listCdr orders them, ties broken by id', async () => {
          const calls = store.calls;
          // Three rows share a start time, so a page boundary falls inside the tie.
          const starts = [1000, 2000, 2000, 2000, 3000, 4000, 5000];
          for (const [i, startedAt] of starts.entries())
            await calls.insertCdr({ id: `c${i}`, startedAt, companyId: i === 5 ? 2 : 1 });
          const collect = async (q: { companyId?: number; from?: number; to?: number }, size: number) => {
            const pages: string[][] = [];
            for await (const page of calls.pagesOfCdr(q, size)) pages.push(page.map((c) => c.id));
            return pages;
          };
          const all = (await calls.listCdr({ limit: 100 })).map((c) => c.id);
          expect(all).toEqual(['c6', 'c5', 'c4', 'c3', 'c2', 'c1', 'c0']);
          expect(await collect({}, 2)).toEqual([['c6', 'c5'], ['c4', 'c3'], ['c2', 'c1'], ['c0']]);
          expect((await collect({}, 7)).flat()).toEqual(all);
          expect(await collect({ companyId: 1, from: 2000, to: 5000 }, 2)).toEqual([
            ['c4', 'c3'],
            ['c2', 'c1'],
          ]);
          expect(await collect({ from: 9000 }, 2)).toEqual([]);
        });

        it('filters by companies, department, outcome and agent, pages by offset or cursor, counts', async () => {
          const calls = store.calls;
          const rows = [
            {
              id: 'a',
              startedAt: 1000,
              companyId: 1,
              departmentId: 10,
              outcome: 'answered',
              agentIds: [3, 17],
            },
            { id: 'b', startedAt: 2000, companyId: 2, departmentId: 20, outcome: 'abandoned', agentIds: [] },
            { id: 'c', startedAt: 3000, companyId: 1, departmentId: 10, outcome: 'answered', agentIds: [7] },
            { id: 'd', startedAt: 4000, companyId: null, outcome: 'failed', agentIds: [] },
            {
              id: 'e',
              startedAt: 5000,
              companyId: 3,
              departmentId: 30,
              outcome: 'answered',
              agentIds: [1, 7],
            },
          ] as const;
          for (const r of rows) await calls.insertCdr({ ...r, agentIds: [...r.agentIds] });
          const ids = async (q: CdrQuery) => (await calls.listCdr(q)).map((c) => c.id);
          expect(await ids({ companyIds: [1, 3] })).toEqual(['e', 'c', 'a']);
          expect(await ids({ companyIds: [] })).toEqual([]);
          expect(await ids({ departmentId: 10 })).toEqual(['c', 'a']);
          expect(await ids({ outcome: 'answered', companyId: 1 })).toEqual(['c', 'a']);
          // 7 is in [7] and [1,7], not in [3,17]; 1 only in [1,7].
          expect(await ids({ agentId: 7 })).toEqual(['e', 'c']);
          expect(await ids({ agentId: 1 })).toEqual(['e']);
          expect(await ids({ agentId: 17 })).toEqual(['a']);
          expect(await ids({ offset: 1, limit: 2 })).toEqual(['d', 'c']);
          expect(await ids({ after: { startedAt: 3000, id: 'c' }, limit: 2 })).toEqual(['b', 'a']);
          expect(await calls.countCdr({})).toBe(5);
          expect(await calls.countCdr({ agentId: 7, from: 3500 })).toBe(1);
          expect(await calls.countCdr({ companyIds: [2] })).toBe(1);
        });

        it('adds up the summary report by start-time bucket and by the agents who talked', async () => {
          const calls = store.calls;
          const cdr = (id: string, startedAt: number, p: Omit<NewCdr, 'id' | 'startedAt'>) =>
            calls.insertCdr({ id, startedAt, companyId: 1, ...p });
          // Bucket 0 (0-999 ms after the origin 10_000): waits of 5 s (within 20 s) and 30 s.
          await cdr('w5', 10_000, { queuedAt: 10_000, answeredAt: 15_000, talkSeconds: 60, agentIds: [3] });
          await cdr('w30', 10_500, {
            queuedAt: 10_500,
            answeredAt: 40_500,
            talkSeconds: 30,
            agentIds: [3, 4],
          });
          await cdr('ab', 10_900, { queuedAt: 10_900, outcome: 'abandoned' });
          // Bucket 2: unqueued calls, one answered directly.
          await cdr('ov', 12_000, { outcome: 'overflow' });
          await cdr('na', 12_100, { outcome: 'no_agents' });
          await cdr('direct', 12_200, { answeredAt: 12_300, talkSeconds: 10.5, agentIds: [3] });
          await cdr('other', 12_300, { companyId: 2, queuedAt: 12_300, answeredAt: 12_400, agentIds: [9] });
          const sums = await calls.aggregateCdr(
            { companyId: 1, from: 10_000, to: 13_000 },
            { origin: 10_000, bucketMs: 1000, serviceLevelMs: 20_000 },
          );
          expect(sums.buckets).toEqual([
            {
              bucket: 0,
              calls: 3,
              answered: 2,
              abandoned: 1,
              overflow: 0,
              noAgents: 0,
              queuedSettled: 3,
              answeredWithin: 1,
              waited: 2,
              waitMs: 35_000,
              talkSeconds: 90,
            },
            {
              bucket: 2,
              calls: 3,
              answered: 1,
              abandoned: 0,
              overflow: 1,
              noAgents: 1,
              queuedSettled: 0,
              answeredWithin: 0,
              waited: 0,
              waitMs: 0,
              talkSeconds: 10.5,
            },
          ]);
          const bySet = [...sums.agentSets].sort((x, y) => x.agentIds.length - y.agentIds.length);
          expect(bySet).toEqual([
            { agentIds: [3], answered: 2, talkSeconds: 70.5 },
            { agentIds: [3, 4], answered: 1, talkSeconds: 30 },
          ]);
          expect(
            await calls.aggregateCdr({ from: 99_000 }, { origin: 0, bucketMs: 1, serviceLevelMs: 1 }),
          ).toEqual({ buckets: [], agentSets: [] });
          // A call that changed hands keeps its own split per agent.
          const split = [
            { agentId: 3, talkSeconds: 5 },
            { agentId: 4, talkSeconds: 7 },
          ];
          await cdr('handed', 50_000, {
            answeredAt: 50_100,
            agentIds: [3, 4],
            transfers: 1,
            talkSeconds: 12,
            agentTalk: split,
          });
          const handed = await calls.aggregateCdr(
            { from: 50_000 },
            { origin: 0, bucketMs: 1000, serviceLevelMs: 1 },
          );
          expect(handed.agentSets).toEqual([
            { agentIds: [3, 4], answered: 1, talkSeconds: 12, agentTalk: split },
          ]);
        });

        it('inserts a CDR with defaults, updates it, lists newest first with filters', async () => {
          const calls = store.calls;
          const a = await calls.insertCdr({
            id: 'call-a',
            startedAt: 1000,
            companyId: 1,
            hotline: '+74950000001',
          });
          expect(a).toMatchObject({
            agentIds: [],
            transfers: 0,
            outcome: null,
            talkSeconds: 0,
            answeredAt: null,
          });
          await calls.insertCdr({ id: 'call-b', startedAt: 2000, companyId: 2 });
          const u = await calls.updateCdr('call-a', {
            answeredAt: 1500,
            agentIds: [3, 4],
            outcome: 'answered',
            talkSeconds: 42.5,
          });
          expect(u).toMatchObject({
            id: 'call-a',
            hotline: '+74950000001',
            answeredAt: 1500,
            agentIds: [3, 4],
            outcome: 'answered',
            talkSeconds: 42.5,
          });
          expect((await calls.listCdr()).map((c) => c.id)).toEqual(['call-b', 'call-a']);
          expect((await calls.listCdr({ companyId: 1 })).map((c) => c.id)).toEqual(['call-a']);
          expect((await calls.listCdr({ from: 1500 })).map((c) => c.id)).toEqual(['call-b']);
          expect((await calls.listCdr({ to: 1500 })).map((c) => c.id)).toEqual(['call-a']);
          await expect(calls.updateCdr('nope', { outcome: 'failed' })).rejects.toMatchObject({
            code: 'not_found',
          });
          await expect(calls.insertCdr({ id: 'call-a', startedAt: 1 })).rejects.toMatchObject({
            code: 'conflict',
          });
        });

        it("keeps the departments on the way and each agent's talk, and finds a call by any department", async () => {
          const calls = store.calls;
          await calls.insertCdr({
            id: 'via',
            startedAt: 1000,
            companyId: 1,
            departmentId: 2,
            departmentIds: [2],
          });
          await calls.insertCdr({
            id: 'other',
            startedAt: 1100,
            companyId: 1,
            departmentId: 12,
            departmentIds: [12],
          });
          const u = await calls.updateCdr('via', {
            departmentId: 5,
            departmentIds: [2, 5],
            agentTalk: [
              { agentId: 3, talkSeconds: 10 },
              { agentId: 4, talkSeconds: 30 },
            ],
          });
          expect(u).toMatchObject({ departmentId: 5, departmentIds: [2, 5] });
          expect((await calls.getCdr('via'))?.agentTalk).toEqual([
            { agentId: 3, talkSeconds: 10 },
            { agentId: 4, talkSeconds: 30 },
          ]);
          const ids = async (viaDepartmentIds: number[]) =>
            (await calls.listCdr({ viaDepartmentIds })).map((c) => c.id);
          expect(await ids([2])).toEqual(['via']);
          expect(await ids([5])).toEqual(['via']);
          // 2 is not 12: the list is matched by whole numbers.
          expect(await ids([12])).toEqual(['other']);
          expect(await ids([5, 12])).toEqual(['other', 'via']);
          expect(await ids([])).toEqual([]);
          expect(await calls.countCdr({ viaDepartmentIds: [2] })).toBe(1);
        });

        it('matches a department or an agent on the way by the whole number: 10 is not 1, 101 or 110', async () => {
          const calls = store.calls;
          const lists: Record<string, number[]> = {
            one: [1],
            ten: [10],
            hundredOne: [101],
            hundredTen: [110, 7],
            around: [7, 10, 3],
            last: [3, 1],
          };
          let at = 1000;
          for (const [id, list] of Object.entries(lists))
            await calls.insertCdr({ id, startedAt: at++, departmentIds: list, agentIds: list });
          const via = async (id: number) =>
            (await calls.listCdr({ viaDepartmentIds: [id] })).map((c) => c.id).sort();
          const withAgent = async (id: number) =>
            (await calls.listCdr({ agentId: id })).map((c) => c.id).sort();
          expect(await via(10)).toEqual(['around', 'ten']);
          expect(await via(1)).toEqual(['last', 'one']);
          expect(await via(101)).toEqual(['hundredOne']);
          expect(await via(11)).toEqual([]);
          expect(await withAgent(10)).toEqual(['around', 'ten']);
          expect(await withAgent(1)).toEqual(['last', 'one']);
          expect(await calls.countCdr({ viaDepartmentIds: [10, 110] })).toBe(3);
        });

        it('records queue events in order', async () => {
          const calls = store.calls;
          await calls.insertQueueEvent({ callId: 'c', companyId: 1, departmentId: 2, at: 10, kind: 'enter' });
          await calls.insertQueueEvent({
            callId: 'c',
            companyId: 1,
            departmentId: 2,
            at: 20,
            kind: 'connect',
            agentId: 7,
          });
          await calls.insertQueueEvent({
            callId: 'other',
            companyId: 1,
            departmentId: 2,
            at: 15,
            kind: 'enter',
          });
          const events = await calls.listQueueEvents('c');
          expect(events.map((e) => [e.kind, e.agentId, e.detail])).toEqual([
            ['enter', null, null],
            ['connect', 7, null],
          ]);
        });
      });

      describe("the board's figures of a period (issue 14)", () => {
        it('handleFigures: calls that went busy and their busy + wrap-up time, per agent of the company', async () => {
          const c = await store.directory.createCompany({ name: 'Acme' });
          const other = await store.directory.createCompany({ name: 'Other' });
          const agent = (companyId: number, login: string) =>
            store.directory.createAgent({
              companyId,
              login,
              name: login,
              shortNumber: login.slice(1),
              contact: `+7900000${login}`,
              pin: '7391',
            });
          const a = await agent(c.id, '1001');
          const b = await agent(c.id, '1002');
          const x = await agent(other.id, '2001');
          const last = new Map<number, AgentState>();
          const move = (agentId: number, at: number, to: AgentState) => {
            const from = last.get(agentId) ?? 'logged_out';
            last.set(agentId, to);
            return store.agentStates.recordTransition({
              agentId,
              at,
              from,
              to,
              reason: 'test',
              source: 'system',
            });
          };
          for (const [id, at, to] of [
            [a.id, 1000, 'ready'],
            [a.id, 2000, 'offered'],
            [a.id, 3000, 'busy'], // 3 s … 10 s with wrap-up: 7 s
            [a.id, 8000, 'wrap_up'],
            [a.id, 10_000, 'ready'],
            [a.id, 11_000, 'offered'],
            [a.id, 12_000, 'busy'], // 12 s … 15 s: 3 s
            [a.id, 14_000, 'wrap_up'],
            [a.id, 15_000, 'ready'],
            [a.id, 16_000, 'offered'],
            [a.id, 17_000, 'busy'], // still talking: counted, not timed
            [b.id, 1000, 'ready'],
            [b.id, 2000, 'offered'],
            [b.id, 3000, 'temporarily_not_ready'],
            [x.id, 1000, 'ready'],
            [x.id, 2000, 'offered'],
            [x.id, 3000, 'busy'],
          ] as const)
            await move(id, at, to);
          expect(await store.agentStates.handleFigures({ companyId: c.id, from: 0, to: 100_000 })).toEqual([
            { agentId: a.id, calls: 3, handled: 2, handleSeconds: 10 },
          ]);
          expect(
            await store.agentStates.handleFigures({ companyId: c.id, from: 11_500, to: 100_000 }),
          ).toEqual([{ agentId: a.id, calls: 2, handled: 1, handleSeconds: 3 }]);
          expect(
            (await store.agentStates.handleFigures({ from: 0, to: 100_000 })).map((f) => f.agentId),
          ).toEqual([a.id, x.id]);
        });
      });

      describe('access', () => {
        describe('users', () => {
          it('stores a scrypt hash, verifies the password, refuses a wrong one or an unknown user', async () => {
            const u = await store.access.createUser(
              { username: 'Ann', password: 'ann-password-1', role: 'supervisor', companyIds: [2, 1, 2] },
              1000,
            );
            expect(u).toEqual({
              id: u.id,
              username: 'ann',
              role: 'supervisor',
              companyIds: [1, 2],
              createdAt: 1000,
            });
            expect(await store.access.verifyPassword('ANN', 'ann-password-1')).toEqual(u);
            expect(await store.access.verifyPassword('ann', 'ann-password-2')).toBeNull();
            expect(await store.access.verifyPassword('bob', 'ann-password-1')).toBeNull();
            await expect(
              store.access.createUser({ username: 'ann', password: 'xxxxxxxxxxxx', role: 'viewer' }, 0),
            ).rejects.toMatchObject({ code: 'conflict' });
          });

          it('refuses bad usernames, short passwords and unknown roles', async () => {
            for (const input of [
              { username: 'a b', password: 'long-enough-pw', role: 'viewer' as const },
              { username: 'ok', password: 'short', role: 'viewer' as const },
              { username: 'ok', password: 'long-enough-pw', role: 'root' as 'admin' },
            ])
              await expect(store.access.createUser(input, 0)).rejects.toMatchObject({
                code: 'invalid_input',
              });
          });

          it('updates the password and role; deleting a user deletes their sessions', async () => {
            const u = await store.access.createUser(
              { username: 'cy', password: 'cy-password-1', role: 'viewer' },
              0,
            );
            const s = await store.access.createSession(u.id, 0, 60_000);
            expect((await store.access.findSession(s.secret, 1))?.username).toBe('cy');
            await store.access.updateUser(u.id, { password: 'cy-password-2', role: 'admin' });
            expect((await store.access.verifyPassword('cy', 'cy-password-2'))?.role).toBe('admin');
            await store.access.deleteUser(u.id);
            expect(await store.access.findSession(s.secret, 1)).toBeNull();
            await expect(store.access.deleteUser(u.id)).rejects.toMatchObject({ code: 'not_found' });
          });
        });

        describe('sessions', () => {
          it('expire, and only a hash of the id is stored', async () => {
            const u = await store.access.createUser(
              { username: 'di', password: 'di-password-1', role: 'viewer' },
              0,
            );
            const s = await store.access.createSession(u.id, 1000, 10_000);
            expect(s.expiresAt).toBe(11_000);
            expect(await store.access.findSession(s.secret, 10_999)).not.toBeNull();
            expect(await store.access.findSession(s.secret, 11_000)).toBeNull();
            expect(await store.access.findSession('forged', 5000)).toBeNull();
            await store.access.deleteSession(s.secret);
            expect(await store.access.findSession(s.secret, 5000)).toBeNull();
          });
        });

        describe('tokens', () => {
          it('are found by their secret, note their use, and are revoked', async () => {
            const { token, secret } = await store.access.createToken(
              { name: 'ci', role: 'viewer', companyIds: [1] },
              5,
            );
            expect(token).toMatchObject({ name: 'ci', role: 'viewer', companyIds: [1], lastUsedAt: null });
            expect((await store.access.findToken(secret, 99))?.lastUsedAt).toBe(99);
            expect(await store.access.findToken(secret + 'x', 99)).toBeNull();
            await store.access.deleteToken(token.id);
            expect(await store.access.findToken(secret, 100)).toBeNull();
          });
        });

        describe('audit log', () => {
          it('is read newest first and paged back with before', async () => {
            for (let i = 0; i < 5; i++)
              await store.access.appendAudit({
                at: i,
                actorKind: 'user',
                actor: 'ann',
                method: 'POST',
                route: '/api/v1/agents/:login/state',
                params: { login: `100${i}` },
                status: 200,
                source: '127.0.0.1',
              });
            const page1 = await store.access.listAudit({ limit: 2 });
            expect(page1.map((e) => e.params.login)).toEqual(['1004', '1003']);
            const page2 = await store.access.listAudit({ limit: 2, before: page1[1]?.id });
            expect(page2.map((e) => e.params.login)).toEqual(['1002', '1001']);
          });
        });

        describe('start-up', () => {
          it('a generated admin token is stored as its SHA-256 only; a configured one is not stored', async () => {
            const first = await resolveAdminToken(store.auth, undefined);
            expect(first.generated).toMatch(/^[A-Za-z0-9_-]{43}$/);
            expect(await store.auth.getSetting('admin_token_sha256')).toBe(sha256Hex(first.generated ?? ''));
            const again = await resolveAdminToken(store.auth, undefined);
            expect(again).toEqual({ sha256: first.sha256 });
            expect(await resolveAdminToken(store.auth, 'configured-token')).toEqual({
              sha256: sha256Hex('configured-token'),
            });
          });

          it('the first admin user is created once', async () => {
            const admin = await ensureFirstAdmin(store.access, 0);
            expect(admin?.username).toBe('admin');
            expect((await store.access.verifyPassword('admin', admin?.password ?? ''))?.role).toBe('admin');
            expect(await ensureFirstAdmin(store.access, 0)).toBeNull();
          });
        });
      });

      describe('agent states', () => {
        let agentIds: number[];
        beforeEach(async () => {
          const c = await store.directory.createCompany({ name: 'Acme' });
          agentIds = [];
          for (const login of ['1001', '1002'])
            agentIds.push(
              (
                await store.directory.createAgent({
                  companyId: c.id,
                  login,
                  name: `Agent ${login}`,
                  shortNumber: login.slice(1),
                  contact: `+7900000${login}`,
                  pin: '7391',
                })
              ).id,
            );
        });
        it('an agent never seen is logged_out since 0; a transition sets the state and appends history', async () => {
          const [a, b] = agentIds as [number, number];
          expect(await store.agentStates.getAgentState(a)).toEqual({
            agentId: a,
            state: 'logged_out',
            since: 0,
            reason: 'initial',
            source: 'system',
          });
          expect(await store.agentStates.getAgentState(999)).toBeNull();
          const login = {
            agentId: a,
            at: T0,
            from: 'logged_out',
            to: 'ready',
            reason: 'ivr_login',
            source: 'ivr',
          } as const;
          const row = await store.agentStates.recordTransition(login);
          expect(row).toEqual({ id: row.id, ...login });
          await store.agentStates.recordTransition({
            agentId: a,
            at: T0 + MIN,
            from: 'ready',
            to: 'not_ready',
            reason: 'x',
            source: 'api',
          });
          await store.agentStates.recordTransition({
            agentId: b,
            at: T0 + 2 * MIN,
            from: 'logged_out',
            to: 'ready',
            reason: 'y',
            source: 'api',
          });
          expect(
            (await store.agentStates.listAgentStates()).map((s) => [s.agentId, s.state, s.since]),
          ).toEqual([
            [a, 'not_ready', T0 + MIN],
            [b, 'ready', T0 + 2 * MIN],
          ]);
          const history = (q: StateHistoryQuery) => store.agentStates.listStateHistory(q);
          expect((await history({ agentId: a })).map((h) => h.to)).toEqual(['ready', 'not_ready']);
          expect((await history({ since: T0 + MIN, until: T0 + 2 * MIN })).map((h) => h.agentId)).toEqual([
            a,
          ]);
          expect((await history({ newestFirst: true, limit: 2 })).map((h) => h.at)).toEqual([
            T0 + 2 * MIN,
            T0 + MIN,
          ]);
        });

        it("a department's ready agents with their priority, and whether anyone of it is logged in", async () => {
          const [a, b] = agentIds as [number, number];
          const c = (await store.directory.getAgent(a))!.companyId;
          const d = await store.directory.createDepartment({ companyId: c, code: '201', name: 'Support' });
          const other = await store.directory.createDepartment({ companyId: c, code: '202', name: 'Other' });
          await store.directory.setAgentDepartments(a, [{ departmentId: d.id, priority: 2 }]);
          await store.directory.setAgentDepartments(b, [
            { departmentId: d.id, priority: 1 },
            { departmentId: other.id, priority: 3 },
          ]);
          expect(await store.agentStates.listReadyIn(d.id)).toEqual([]);
          expect(await store.agentStates.anyLoggedIn(d.id)).toBe(false);
          const move = (agentId: number, from: AgentState, to: AgentState, at: number) =>
            store.agentStates.recordTransition({ agentId, at, from, to, reason: 'x', source: 'api' });
          await move(a, 'logged_out', 'ready', T0);
          await move(b, 'logged_out', 'not_ready', T0 + MIN);
          expect(await store.agentStates.listReadyIn(d.id)).toEqual([{ agentId: a, since: T0, priority: 2 }]);
          expect(await store.agentStates.listReadyIn(other.id)).toEqual([]);
          expect(await store.agentStates.anyLoggedIn(other.id)).toBe(true);
          await move(b, 'not_ready', 'ready', T0 + 2 * MIN);
          expect(await store.agentStates.listReadyIn(d.id)).toEqual([
            { agentId: a, since: T0, priority: 2 },
            { agentId: b, since: T0 + 2 * MIN, priority: 1 },
          ]);
          await move(a, 'ready', 'logged_out', T0 + 3 * MIN);
          await move(b, 'ready', 'logged_out', T0 + 3 * MIN);
          expect(await store.agentStates.anyLoggedIn(d.id)).toBe(false);
        });

        it('refuses a move from a state the agent is not in, and an unknown agent', async () => {
          const [a] = agentIds as [number];
          const move = {
            agentId: a,
            at: T0,
            from: 'ready',
            to: 'not_ready',
            reason: 'x',
            source: 'api',
          } as const;
          expect(await errorCode(store.agentStates.recordTransition(move))).toBe('conflict');
          expect(await errorCode(store.agentStates.recordTransition({ ...move, agentId: 999 }))).toBe(
            'not_found',
          );
          expect(await store.agentStates.listStateHistory()).toEqual([]);
        });

        it('of 20 moves from the same state at once, one is recorded and 19 refused', async () => {
          const [a] = agentIds as [number];
          // Reads at once first: a store with a connection pool opens its connections now, so
          // the moves below run side by side, not one after another on the only one yet open.
          await Promise.all(
            agentIds.flatMap((id) => Array.from({ length: 10 }, () => store.agentStates.getAgentState(id))),
          );
          const results = await Promise.allSettled(
            Array.from({ length: 20 }, (_, i) =>
              store.agentStates.recordTransition({
                agentId: a,
                at: T0 + i,
                from: 'logged_out',
                to: i % 2 ? 'ready' : 'not_ready',
                reason: `r${i}`,
                source: 'api',
              }),
            ),
          );
          const won = results.filter((r) => r.status === 'fulfilled');
          expect(won).toHaveLength(1);
          expect(
            results.filter((r) => r.status === 'rejected').map((r) => (r.reason as AppError).code),
          ).toEqual(Array(19).fill('conflict'));
          expect(await store.agentStates.listStateHistory()).toHaveLength(1);
        });
      });

      describe('trunks', () => {
        it('fills defaults, keeps booleans and lists, lists by priority then name, refuses a taken name', async () => {
          const t = store.trunks;
          const main = await t.create({
            name: 'main',
            uri: 'sip:10.0.0.1:5060',
            register: true,
            inbound: ['10.0.0.0/8'],
          });
          expect(main).toMatchObject({ register: true, priority: 100, companies: [], srtp: 'optional' });
          await t.create({ name: 'backup', uri: 'sip:10.0.0.2', priority: 100, companies: [2, 1] });
          await t.create({ name: 'first', uri: 'sip:10.0.0.3', priority: 10 });
          expect(await t.get('main')).toEqual(main);
          expect((await t.list()).map((x) => x.name)).toEqual(['first', 'backup', 'main']);
          const updated = await t.update('main', { register: false, qualifySeconds: 0, srtp: 'mandatory' });
          expect(await t.get('main')).toEqual(updated);
          expect(updated).toMatchObject({ register: false, qualifySeconds: 0, inbound: ['10.0.0.0/8'] });
          expect(await errorCode(t.create({ name: 'main', uri: 'sip:10.0.0.9' }))).toBe('conflict');
          await t.delete('backup');
          expect(await errorCode(t.delete('backup'))).toBe('not_found');
          expect(await errorCode(t.update('backup', {}))).toBe('not_found');
        });
      });

      describe('recordings (issue 14)', () => {
        it('adds, finishes, lists by call and by age per company, deletes; a department may override the company', async () => {
          const r = store.recordings;
          const a = await r.insertRecording({ callId: 'c1', companyId: 1, file: 'a.wav', startedAt: 1_000 });
          const b = await r.insertRecording({ callId: 'c1', companyId: 1, file: 'b.wav', startedAt: 5_000 });
          await r.insertRecording({ callId: 'c2', companyId: 2, file: 'c.wav', startedAt: 500 });
          expect(a).toMatchObject({
            callId: 'c1',
            file: 'a.wav',
            endedAt: null,
            durationMs: null,
            bytes: null,
          });
          await r.finishRecording(a.id, { endedAt: 4_000, durationMs: 3_000, bytes: 48_058 });
          expect(await r.getRecording(a.id)).toEqual({
            ...a,
            endedAt: 4_000,
            durationMs: 3_000,
            bytes: 48_058,
          });
          expect((await r.listRecordings('c1')).map((x) => x.file)).toEqual(['a.wav', 'b.wav']);
          expect((await r.listRecordingsBefore(1, 5_000, 10)).map((x) => x.file)).toEqual(['a.wav']);
          await r.deleteRecording(a.id);
          expect(await r.getRecording(a.id)).toBeNull();
          expect((await r.listRecordings('c1')).map((x) => x.id)).toEqual([b.id]);
          const dir = store.directory;
          const co = await dir.createCompany({ name: 'Rec', settings: { recording: 'all' } });
          expect(co.settings).toMatchObject({
            recording: 'all',
            recordingAnnouncement: 'on',
            recordingRetentionDays: 90,
          });
          const d = await dir.createDepartment({
            companyId: co.id,
            code: '301',
            name: 'Rec',
            recording: 'on_demand',
          });
          expect(d.recording).toBe('on_demand');
          expect((await dir.updateDepartment(d.id, { recording: null })).recording).toBeNull();
          expect(
            await errorCode(
              dir.createDepartment({ companyId: co.id, code: '302', name: 'X', recording: 'x' as never }),
            ),
          ).toBe('invalid_input');
        });
      });

      /**
       * Where SQLite and PostgreSQL differ unless the schema and stores make them agree
       * (src/store/migrations/columns.ts): they must not differ here.
       */
      describe('the same on every dialect', () => {
        it('epoch-ms times far beyond 32 bits and fractional seconds come back as the same numbers', async () => {
          const far = 8_640_000_000_000_000; // the last millisecond a Date can hold
          const cdr = await store.calls.insertCdr({
            id: 'x',
            startedAt: far - 1000,
            endedAt: far,
            talkSeconds: 12.345678901,
          });
          expect(await store.calls.getCdr('x')).toEqual(cdr);
          expect(cdr).toMatchObject({ startedAt: far - 1000, endedAt: far, talkSeconds: 12.345678901 });
          expect(typeof (await store.calls.listCdr())[0]?.startedAt).toBe('number');
          await store.auth.recordLoginFailure('1001', far);
          expect(await store.auth.countLoginFailures('1001', 0)).toBe(1);
        });

        it('generated ids are numbers, grow, and are not reused after a delete', async () => {
          const a = await store.directory.createCompany({ name: 'A' });
          const b = await store.directory.createCompany({ name: 'B' });
          expect(typeof a.id).toBe('number');
          expect(b.id).toBeGreaterThan(a.id);
          await store.directory.deleteCompany(b.id);
          expect((await store.directory.createCompany({ name: 'C' })).id).toBeGreaterThan(b.id);
        });

        it('JSON columns keep nested values, Unicode and quotes', async () => {
          const c = await store.directory.createCompany({
            name: 'Ромашка "Ltd" \u{1F4DE}',
            settings: { allowedDestinations: ['+7*', 'agents'] },
          });
          expect(await store.directory.getCompany(c.id)).toEqual(c);
          const entry = await store.access.appendAudit({
            at: T0,
            actorKind: 'token',
            actor: 'ci',
            method: 'PUT',
            route: '/x',
            params: { name: 'Ёж \\ "q" \u0000end' },
            status: 200,
            source: null,
          });
          expect((await store.access.listAudit())[0]).toEqual(entry);
          await store.calls.insertCdr({ id: 'y', startedAt: T0, agentIds: [3, 1, 2] });
          expect((await store.calls.getCdr('y'))?.agentIds).toEqual([3, 1, 2]);
        });

        it('text compares case-sensitively and sorts by bytes; % and _ are plain characters', async () => {
          const dir = store.directory;
          for (const u of ['alice', 'Alice', 'a_b', 'a%b', 'b', 'Zed'])
            await dir.createSipAccount(u, `secret-${u}`, 'agentline');
          expect((await dir.listSipAccounts()).map((a) => a.username)).toEqual([
            'Alice',
            'Zed',
            'a%b',
            'a_b',
            'alice',
            'b',
          ]);
          expect(await dir.getSipAccount('ALICE', 'agentline')).toBeNull();
          expect((await dir.getSipAccount('Alice', 'agentline'))?.ha1Md5).not.toBe(
            (await dir.getSipAccount('alice', 'agentline'))?.ha1Md5,
          );
          expect(await dir.getSipAccount('a_', 'agentline')).toBeNull();
          expect(await dir.getSipAccount('a%', 'agentline')).toBeNull();
          await store.trunks.create({ name: 'Main', uri: 'sip:10.0.0.1' });
          expect(await store.trunks.get('main')).toBeNull();
          await store.trunks.create({ name: 'main', uri: 'sip:10.0.0.2' });
          expect((await store.trunks.list()).map((t) => t.uri)).toEqual(['sip:10.0.0.1', 'sip:10.0.0.2']);
        });

        it('usernames are case-insensitive: stored lower-case, found in any case', async () => {
          await store.access.createUser(
            { username: 'Admin', password: 'long-password-1', role: 'admin' },
            T0,
          );
          expect((await store.access.getUserByUsername('ADMIN'))?.username).toBe('admin');
          expect(await store.access.verifyPassword('aDmIn', 'long-password-1')).not.toBeNull();
          expect(
            await errorCode(
              store.access.createUser({ username: 'ADMIN', password: 'long-password-2', role: 'admin' }, T0),
            ),
          ).toBe('conflict');
        });
      });
    });

    describe('attemptPin: the PIN lockout as one atomic step (SPEC §4, issue 11)', () => {
      let store: Store;
      /** The login's counted attempts (wrong or still being checked). */
      const rows = (login: string): Promise<number[]> => store.auth.listLoginFailures(login, 0);

      beforeEach(async () => {
        store = await open();
        const c = await store.directory.createCompany({ name: 'Acme' });
        for (const [login, short] of [
          ['1001', '201'],
          ['1002', '202'],
        ] as const) {
          await store.directory.createAgent({
            companyId: c.id,
            login,
            name: `Agent ${login}`,
            shortNumber: short,
            contact: `+7900000${login}`,
            pin: PIN,
          });
        }
      });
      afterEach(async () => {
        await store.close();
      });

      const attempt = (pin: string, at: number, callerId: string | null, login = '1001') =>
        store.directory.attemptPin({ login, pin, at, callerId });

      describe('many attempts at once', () => {
        it('150 wrong PINs started before any resolves: 5 are evaluated, 145 refused as locked', async () => {
          const results = await Promise.all(
            Array.from({ length: 150 }, (_, i) => attempt('0000', T0, `+7901${String(i).padStart(7, '0')}`)),
          );
          expect(count(results, 'wrong')).toBe(LOCKOUT_POLICY.maxFailures);
          expect(count(results, 'locked')).toBe(145);
          expect(results.filter((r) => r.result === 'locked' && r.by === 'login')).toHaveLength(145);
          // exactly one of the five is the failure that locked the login (one warn line)
          expect(results.filter((r) => r.result === 'wrong' && r.lockedLogin)).toHaveLength(1);
          expect(await rows('1001')).toHaveLength(5);
          expect(await store.directory.pinLockedUntil('1001', '+79990000000', T0)).toBe(T0 + LOCK);
        });

        it('the same with the right PIN among them: the right one is either evaluated first or refused', async () => {
          const results = await Promise.all([
            ...Array.from({ length: 20 }, (_, i) => attempt('0000', T0, `+7901000000${i}`)),
            attempt(PIN, T0, '+79000001001'),
          ]);
          const right = results[20];
          // 5 slots: the right PIN got one (ok) or came after they were taken (locked) — never more than 5 checked
          expect(count(results, 'wrong') + (right?.result === 'ok' ? 1 : 0)).toBeLessThanOrEqual(5);
          expect(['ok', 'locked']).toContain(right?.result);
        });
      });

      describe('locked login', () => {
        const lockIt = async (): Promise<void> => {
          for (let i = 0; i < 5; i++) {
            const r = await attempt('0000', T0 + i * MIN, `+7901000000${i}`);
            expect(r).toEqual({ result: 'wrong', lockedLogin: i === 4, lockedCaller: false });
          }
        };

        it('refuses the right PIN too, from the agent’s own number, without touching the count', async () => {
          await lockIt();
          const lockEnd = T0 + 4 * MIN + LOCK;
          for (const at of [T0 + 4 * MIN, T0 + 10 * MIN, lockEnd - 1]) {
            expect(await attempt(PIN, at, '+790000001001')).toEqual({
              result: 'locked',
              by: 'login',
              until: lockEnd,
            });
          }
          expect(await rows('1001')).toHaveLength(5);
          // another login is not affected
          expect(await attempt(PIN, T0 + 5 * MIN, '+790000001002', '1002')).toEqual({ result: 'ok' });
        });

        it('lets the right PIN in once the lock expires, and that clears the failures', async () => {
          await lockIt();
          const lockEnd = T0 + 4 * MIN + LOCK;
          expect(await store.directory.pinLockedUntil('1001', null, lockEnd - 1)).toBe(lockEnd);
          expect(await store.directory.pinLockedUntil('1001', null, lockEnd)).toBeNull();
          expect(await attempt(PIN, lockEnd, '+790000001001')).toEqual({ result: 'ok' });
          expect(await rows('1001')).toHaveLength(0);
        });

        it('never evaluates more than 5 wrong PINs in any 15 minutes', async () => {
          // One wrong PIN a minute for an hour: only 5 per lock period get evaluated.
          const results: PinAttemptResult[] = [];
          for (let m = 0; m < 60; m++) results.push(await attempt('0000', T0 + m * MIN, `+7902${m}`));
          const evaluated = results.flatMap((r, m) => (r.result === 'wrong' ? [m] : []));
          for (const start of evaluated) {
            expect(evaluated.filter((m) => m >= start && m < start + 15).length).toBeLessThanOrEqual(5);
          }
          expect(evaluated).toEqual([0, 1, 2, 3, 4, 19, 20, 21, 22, 23, 38, 39, 40, 41, 42, 57, 58, 59]);
        });

        it('counts an unknown login like a known one (a lock does not tell them apart)', async () => {
          for (let i = 0; i < 5; i++) {
            expect((await attempt(PIN, T0 + i, `+7901000000${i}`, '9999')).result).toBe('wrong');
          }
          expect((await attempt(PIN, T0 + 5, '+79010000005', '9999')).result).toBe('locked');
        });
      });

      describe('below the limit', () => {
        it('a right PIN clears the earlier failures', async () => {
          for (let i = 0; i < 4; i++) await attempt('0000', T0 + i, '+79010000000');
          expect(await attempt(PIN, T0 + 10, '+79010000000')).toEqual({ result: 'ok' });
          expect(await rows('1001')).toHaveLength(0);
          for (let i = 0; i < 4; i++)
            expect((await attempt('0000', T0 + 20 + i, '+79010000000')).result).toBe('wrong');
        });
      });

      describe('per caller id', () => {
        it('refuses a caller id after 10 wrong PINs across logins, others still get in', async () => {
          const attacker = '+74951234567';
          const results: PinAttemptResult[] = [];
          for (let i = 0; i < CALLER_LOCKOUT_POLICY.maxFailures; i++) {
            results.push(await attempt('0000', T0 + i, attacker, String(2000 + i)));
          }
          expect(results.every((r) => r.result === 'wrong')).toBe(true);
          expect(results.at(-1)).toEqual({ result: 'wrong', lockedLogin: false, lockedCaller: true });
          const until = T0 + 9 + CALLER_LOCKOUT_POLICY.lockMs;
          expect(await attempt(PIN, T0 + 20, attacker)).toEqual({ result: 'locked', by: 'caller', until });
          expect(await store.directory.pinLockedUntil('1001', attacker, T0 + 20)).toBe(until);
          expect(await attempt(PIN, T0 + 20, '+790000001001')).toEqual({ result: 'ok' });
          expect(await attempt(PIN, until, attacker)).toEqual({ result: 'ok' });
        });

        it('withheld caller ids count together', async () => {
          const ids = [
            '',
            'anonymous',
            'Anonymous',
            ' restricted ',
            null,
            'unknown',
            'private',
            'Withheld',
            'unavailable',
            '',
          ];
          for (const [i, id] of ids.entries()) await attempt('0000', T0 + i, id, String(3000 + i));
          expect(await attempt(PIN, T0 + 20, null)).toMatchObject({ result: 'locked', by: 'caller' });
          expect(await attempt(PIN, T0 + 20, '+790000001001')).toEqual({ result: 'ok' });
        });

        it('normalises caller ids', () => {
          expect(normaliseCallerId(undefined)).toBe('anonymous');
          expect(normaliseCallerId(' +79001 ')).toBe('+79001');
          expect(normaliseCallerId('x'.repeat(100))).toHaveLength(64);
        });
      });
    });
  });
}

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as AppError).code ?? 'not an AppError';
  }
  return 'resolved';
}

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 1, 9, 0);
const PIN = '7391';
const LOCK = LOCKOUT_POLICY.lockMs;

const count = (rs: PinAttemptResult[], result: PinAttemptResult['result']): number =>
  rs.filter((r) => r.result === result).length;

let postgres: TestPostgres | undefined;
beforeAll(async () => {
  postgres = await startTestPostgres();
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});

const IMPLEMENTATIONS: StoreImplementation[] = [
  { name: 'sqlite', open: () => openSqliteStore(':memory:') },
  {
    name: 'postgres',
    open: async () => {
      if (!postgres) throw new Error('the test PostgreSQL is not running');
      return openPostgresStore(await postgres.freshDatabase());
    },
  },
];

for (const impl of IMPLEMENTATIONS) storeContract(impl);
