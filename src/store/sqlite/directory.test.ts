import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppError } from '../../util/errors.ts';
import type { Company, Department } from '../store.ts';
import { openSqliteStore, type SqliteStore } from './open.ts';

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as AppError).code ?? 'not an AppError';
  }
  return 'resolved';
}

describe('SqliteDirectoryStore', () => {
  let store: SqliteStore;
  let company: Company;
  let sales: Department;
  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
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
      expect(await errorCode(dir.createDepartment({ companyId: 999, code: '103', name: 'Nowhere' }))).toBe(
        'invalid_reference',
      );
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
      expect((await dir.listAgents({ companyId: company.id })).map((x) => x.login)).toEqual(['1001', '1002']);
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
      expect(await errorCode(dir.createAgent({ ...agentInput('10a9', '209', []) }))).toBe('invalid_input');
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
      await dir.putNumber({ number: '+79262951361', kind: 'service', companyId: null, departmentId: null });
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
      expect(acc.ha1Sha256).toBe(createHash('sha256').update('agent1003:agentline:secret1003').digest('hex'));
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
      expect(await errorCode(dir.setSipAccountAlgorithms('nobody', 'agentline', ['MD5']))).toBe('not_found');
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
