import type { Kysely, Selectable, Transaction } from 'kysely';
import { AppError } from '../../util/errors.ts';
import { mergeCompanySettings, parseCompanySettings } from '../company-settings.ts';
import { dummyPinHash, verifyPinHash } from '../pin.ts';
import { isRecordingMode } from '../vocabulary.ts';
import {
  agentDepartments,
  agentPatch,
  companyName,
  newAgent,
  newDepartment,
  newPinHash,
  numberRoute,
  patchedDepartment,
  sessionContact,
  sipAccountHa1,
  sipAlgorithms,
  srtpPolicy,
} from '../rules.ts';
import type {
  Agent,
  AgentDepartment,
  AgentFilter,
  AgentPatch,
  Company,
  CompanySettings,
  Department,
  DepartmentPatch,
  DirectoryStore,
  DistributionStrategy,
  NewAgent,
  NewCompany,
  NewDepartment,
  NumberKind,
  NumberRoute,
  OverflowAction,
  PinAttempt,
  PinAttemptResult,
  SipAccount,
  SipDigestAlgorithm,
  SrtpPolicy,
  StoredSipBinding,
} from '../store.ts';
import type { MapDbError, PinAttemptLedger } from './dialect.ts';
import type { AgentsTable, CompaniesTable, Database, DepartmentsTable, SipAccountsTable } from './schema.ts';

/** Companies, departments, agents, numbers and SIP accounts; the rules are in ../rules.ts. */
export class KyselyDirectoryStore implements DirectoryStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly mapDbError: MapDbError,
    private readonly pins: PinAttemptLedger,
  ) {}

  // --- companies -----------------------------------------------------------

  async createCompany(input: NewCompany): Promise<Company> {
    const name = companyName(input.name);
    const settings = parseCompanySettings(input.settings ?? {});
    const row = await this.db
      .insertInto('companies')
      .values({ name, settings: JSON.stringify(settings) })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch(this.mapDbError);
    return toCompany(row);
  }

  async getCompany(id: number): Promise<Company | null> {
    const row = await this.db.selectFrom('companies').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toCompany(row) : null;
  }

  async listCompanies(): Promise<Company[]> {
    const rows = await this.db.selectFrom('companies').selectAll().orderBy('id').execute();
    return rows.map(toCompany);
  }

  async renameCompany(id: number, name: string): Promise<Company> {
    const valid = companyName(name);
    const row = await this.db
      .updateTable('companies')
      .set({ name: valid })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw notFound('company', id);
    return toCompany(row);
  }

  async updateCompanySettings(id: number, patch: Partial<CompanySettings>): Promise<Company> {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('companies').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound('company', id);
      const settings = mergeCompanySettings(toCompany(current).settings, patch);
      const row = await trx
        .updateTable('companies')
        .set({ settings: JSON.stringify(settings) })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return toCompany(row);
    });
  }

  async deleteCompany(id: number): Promise<void> {
    await this.deleteById('companies', 'company', id);
  }

  // --- departments ---------------------------------------------------------

  async createDepartment(input: NewDepartment): Promise<Department> {
    const { companyId, fields: d } = newDepartment(input);
    const row = await this.db
      .insertInto('departments')
      .values({
        company_id: companyId,
        ...departmentColumns(d),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch(this.mapDbError);
    return toDepartment(row);
  }

  async getDepartment(id: number): Promise<Department | null> {
    const row = await this.db.selectFrom('departments').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toDepartment(row) : null;
  }

  async getDepartmentByCode(companyId: number, code: string): Promise<Department | null> {
    const row = await this.db
      .selectFrom('departments')
      .selectAll()
      .where('company_id', '=', companyId)
      .where('code', '=', code)
      .executeTakeFirst();
    return row ? toDepartment(row) : null;
  }

  async listDepartments(companyId: number): Promise<Department[]> {
    const rows = await this.db
      .selectFrom('departments')
      .selectAll()
      .where('company_id', '=', companyId)
      .orderBy('code')
      .execute();
    return rows.map(toDepartment);
  }

  async updateDepartment(id: number, patch: DepartmentPatch): Promise<Department> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('departments').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound('department', id);
      const d = patchedDepartment(toDepartment(row), patch);
      const updated = await trx
        .updateTable('departments')
        .set(departmentColumns(d))
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
        .catch(this.mapDbError);
      return toDepartment(updated);
    });
  }

  async deleteDepartment(id: number): Promise<void> {
    await this.deleteById('departments', 'department', id);
  }

  // --- agents --------------------------------------------------------------

  async createAgent(input: NewAgent): Promise<Agent> {
    const { companyId, login, name, shortNumber, contact, departments, pinHash, supervisor } =
      await newAgent(input);
    const id = await this.db
      .transaction()
      .execute(async (trx) => {
        const row = await trx
          .insertInto('agents')
          .values({
            company_id: companyId,
            login,
            name,
            short_number: shortNumber,
            contact,
            session_contact: null,
            pin_hash: pinHash,
            supervisor: supervisor ? 1 : 0,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await writeMemberships(trx, row.id, companyId, departments);
        return row.id;
      })
      .catch(this.mapDbError);
    return this.mustGetAgent(id);
  }

  async getAgent(id: number): Promise<Agent | null> {
    const row = await this.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    return this.withDepartmentsOf(row);
  }

  async getAgentByLogin(login: string): Promise<Agent | null> {
    const row = await this.db.selectFrom('agents').selectAll().where('login', '=', login).executeTakeFirst();
    return this.withDepartmentsOf(row);
  }

  async getAgentByShortNumber(companyId: number, shortNumber: string): Promise<Agent | null> {
    const row = await this.db
      .selectFrom('agents')
      .selectAll()
      .where('company_id', '=', companyId)
      .where('short_number', '=', shortNumber)
      .executeTakeFirst();
    return this.withDepartmentsOf(row);
  }

  async findAgentsByContact(contact: string): Promise<Agent[]> {
    const rows = await this.db
      .selectFrom('agents')
      .selectAll()
      .where('contact', '=', contact)
      .orderBy('login')
      .execute();
    return this.withDepartments(rows);
  }

  async listAgents(filter: AgentFilter = {}): Promise<Agent[]> {
    let q = this.db.selectFrom('agents').selectAll('agents');
    if (filter.companyId !== undefined) q = q.where('agents.company_id', '=', filter.companyId);
    if (filter.departmentId !== undefined) {
      const departmentId = filter.departmentId;
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('agent_departments')
            .select('agent_departments.agent_id')
            .whereRef('agent_departments.agent_id', '=', 'agents.id')
            .where('agent_departments.department_id', '=', departmentId),
        ),
      );
    }
    const rows = await q.orderBy('agents.login').execute();
    return this.withDepartments(rows);
  }

  async updateAgent(id: number, patch: AgentPatch): Promise<Agent> {
    const valid = agentPatch(patch);
    const set: Partial<Pick<AgentsTable, 'name' | 'short_number' | 'contact'> & { supervisor: number }> = {};
    if (valid.name !== undefined) set.name = valid.name;
    if (valid.shortNumber !== undefined) set.short_number = valid.shortNumber;
    if (valid.contact !== undefined) set.contact = valid.contact;
    if (valid.supervisor !== undefined) set.supervisor = valid.supervisor ? 1 : 0;
    if (Object.keys(set).length > 0) {
      const r = await this.db
        .updateTable('agents')
        .set(set)
        .where('id', '=', id)
        .executeTakeFirst()
        .catch(this.mapDbError);
      if (r.numUpdatedRows === 0n) throw notFound('agent', id);
    }
    return this.mustGetAgent(id);
  }

  async setAgentDepartments(id: number, departments: AgentDepartment[]): Promise<Agent> {
    const valid = agentDepartments(departments);
    await this.db
      .transaction()
      .execute(async (trx) => {
        const agent = await trx
          .selectFrom('agents')
          .select('company_id')
          .where('id', '=', id)
          .executeTakeFirst();
        if (!agent) throw notFound('agent', id);
        await trx.deleteFrom('agent_departments').where('agent_id', '=', id).execute();
        await writeMemberships(trx, id, agent.company_id, valid);
      })
      .catch(this.mapDbError);
    return this.mustGetAgent(id);
  }

  async setSessionContact(id: number, contact: string | null): Promise<void> {
    const value = sessionContact(contact);
    const r = await this.db
      .updateTable('agents')
      .set({ session_contact: value })
      .where('id', '=', id)
      .executeTakeFirst();
    if (r.numUpdatedRows === 0n) throw notFound('agent', id);
  }

  async deleteAgent(id: number): Promise<void> {
    await this.deleteById('agents', 'agent', id);
  }

  async verifyPin(login: string, pin: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('agents')
      .select('pin_hash')
      .where('login', '=', login)
      .executeTakeFirst();
    // Unknown login: spend the same work on a dummy hash, then refuse.
    const ok = await verifyPinHash(pin, row?.pin_hash ?? (await dummyPinHash()));
    return row !== undefined && ok;
  }

  attemptPin(attempt: PinAttempt): Promise<PinAttemptResult> {
    return this.pins.attempt(attempt);
  }

  pinLockedUntil(login: string, callerId: string | null, now: number): Promise<number | null> {
    return this.pins.lockedUntil(login, callerId, now);
  }

  async setPin(login: string, pin: string): Promise<void> {
    const pinHash = await newPinHash(pin);
    const r = await this.db
      .updateTable('agents')
      .set({ pin_hash: pinHash })
      .where('login', '=', login)
      .executeTakeFirst();
    if (r.numUpdatedRows === 0n) throw new AppError('not_found', `no agent with login ${login}`);
  }

  // --- numbers -------------------------------------------------------------

  async putNumber(route: NumberRoute): Promise<NumberRoute> {
    const r = numberRoute(route);
    await this.db
      .transaction()
      .execute(async (trx) => {
        if (r.departmentId !== null) {
          const dep = await trx
            .selectFrom('departments')
            .select('company_id')
            .where('id', '=', r.departmentId)
            .executeTakeFirst();
          if (!dep) throw new AppError('invalid_reference', `no department ${r.departmentId}`);
          if (dep.company_id !== r.companyId) {
            throw new AppError(
              'invalid_input',
              `department ${r.departmentId} is not in company ${String(r.companyId)}`,
            );
          }
        }
        const route = { kind: r.kind, company_id: r.companyId, department_id: r.departmentId };
        await trx
          .insertInto('numbers')
          .values({ number: r.number, ...route })
          .onConflict((oc) => oc.column('number').doUpdateSet(route))
          .execute();
      })
      .catch(this.mapDbError);
    return { number: r.number, kind: r.kind, companyId: r.companyId, departmentId: r.departmentId };
  }

  async getNumber(number: string): Promise<NumberRoute | null> {
    const row = await this.db
      .selectFrom('numbers')
      .selectAll()
      .where('number', '=', number)
      .executeTakeFirst();
    return row ? toNumber(row) : null;
  }

  async listNumbers(companyId?: number): Promise<NumberRoute[]> {
    let q = this.db.selectFrom('numbers').selectAll();
    if (companyId !== undefined) q = q.where('company_id', '=', companyId);
    const rows = await q.orderBy('number').execute();
    return rows.map(toNumber);
  }

  async deleteNumber(number: string): Promise<void> {
    const r = await this.db.deleteFrom('numbers').where('number', '=', number).executeTakeFirst();
    if (r.numDeletedRows === 0n) throw new AppError('not_found', `no number ${number}`);
  }

  // --- SIP accounts --------------------------------------------------------

  async createSipAccount(
    username: string,
    password: string,
    realm: string,
    agentId: number | null = null,
  ): Promise<SipAccount> {
    const ha1 = sipAccountHa1(username, realm, password);
    const columns = { ha1_md5: ha1.ha1Md5, ha1_sha256: ha1.ha1Sha256, agent_id: agentId };
    // A new password keeps the account's algorithms.
    await this.db
      .insertInto('sip_accounts')
      .values({ username, realm, ...columns })
      .onConflict((oc) => oc.columns(['username', 'realm']).doUpdateSet(columns))
      .execute()
      .catch(this.mapDbError);
    const account = await this.getSipAccount(username, realm);
    if (!account) throw new AppError('not_found', `no SIP account ${username}@${realm}`);
    return account;
  }

  async getSipAccount(username: string, realm: string): Promise<SipAccount | null> {
    const row = await this.db
      .selectFrom('sip_accounts')
      .selectAll()
      .where('username', '=', username)
      .where('realm', '=', realm)
      .executeTakeFirst();
    return row ? toSipAccount(row) : null;
  }

  async listSipAccounts(): Promise<SipAccount[]> {
    const rows = await this.db
      .selectFrom('sip_accounts')
      .selectAll()
      .orderBy('username')
      .orderBy('realm')
      .execute();
    return rows.map(toSipAccount);
  }

  async deleteSipAccount(username: string, realm: string): Promise<void> {
    const r = await this.db
      .deleteFrom('sip_accounts')
      .where('username', '=', username)
      .where('realm', '=', realm)
      .executeTakeFirst();
    if (r.numDeletedRows === 0n) throw new AppError('not_found', `no SIP account ${username}@${realm}`);
  }

  async setSipAccountAlgorithms(
    username: string,
    realm: string,
    algorithms: SipDigestAlgorithm[] | null,
  ): Promise<void> {
    const valid = sipAlgorithms(algorithms);
    const r = await this.db
      .updateTable('sip_accounts')
      .set({ digest_algorithms: valid === null ? null : JSON.stringify(valid) })
      .where('username', '=', username)
      .where('realm', '=', realm)
      .executeTakeFirst();
    if (r.numUpdatedRows === 0n) throw new AppError('not_found', `no SIP account ${username}@${realm}`);
  }

  async setSipAccountSrtp(username: string, realm: string, srtp: SrtpPolicy): Promise<void> {
    const r = await this.db
      .updateTable('sip_accounts')
      .set({ srtp: srtpPolicy(srtp) })
      .where('username', '=', username)
      .where('realm', '=', realm)
      .executeTakeFirst();
    if (r.numUpdatedRows === 0n) throw new AppError('not_found', `no SIP account ${username}@${realm}`);
  }

  async saveSipBindings(aor: string, bindings: StoredSipBinding[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('sip_bindings').where('aor', '=', aor).execute();
      if (bindings.length === 0) return;
      await tx
        .insertInto('sip_bindings')
        .values(
          bindings.map((b) => ({
            aor,
            contact_key: b.contactKey,
            contact: b.contact,
            expires_at: b.expiresAt,
            call_id: b.callId,
            cseq: b.cseq,
            source_address: b.source.address,
            source_port: b.source.port,
            transport: b.source.transport,
          })),
        )
        .execute();
    });
  }

  async loadSipBindings(now: number): Promise<StoredSipBinding[]> {
    await this.db.deleteFrom('sip_bindings').where('expires_at', '<=', now).execute();
    const rows = await this.db.selectFrom('sip_bindings').selectAll().orderBy('aor').execute();
    return rows.map((r) => ({
      aor: r.aor,
      contactKey: r.contact_key,
      contact: r.contact,
      expiresAt: r.expires_at,
      callId: r.call_id,
      cseq: r.cseq,
      source: {
        address: r.source_address,
        port: r.source_port,
        transport: r.transport === 'tcp' || r.transport === 'tls' ? r.transport : 'udp',
      },
    }));
  }

  // --- helpers -------------------------------------------------------------

  private async deleteById(
    table: 'companies' | 'departments' | 'agents',
    what: string,
    id: number,
  ): Promise<void> {
    const r = await this.db.deleteFrom(table).where('id', '=', id).executeTakeFirst();
    if (r.numDeletedRows === 0n) throw notFound(what, id);
  }

  private async mustGetAgent(id: number): Promise<Agent> {
    const a = await this.getAgent(id);
    if (!a) throw notFound('agent', id);
    return a;
  }

  private async withDepartmentsOf(row: Selectable<AgentsTable> | undefined): Promise<Agent | null> {
    return row ? ((await this.withDepartments([row]))[0] ?? null) : null;
  }

  private async withDepartments(rows: Selectable<AgentsTable>[]): Promise<Agent[]> {
    if (rows.length === 0) return [];
    const memberships = await this.db
      .selectFrom('agent_departments')
      .selectAll()
      .where(
        'agent_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('priority')
      .orderBy('department_id')
      .execute();
    const byAgent = new Map<number, AgentDepartment[]>();
    for (const m of memberships) {
      const list = byAgent.get(m.agent_id) ?? [];
      list.push({ departmentId: m.department_id, priority: m.priority });
      byAgent.set(m.agent_id, list);
    }
    return rows.map((r) => ({
      id: r.id,
      companyId: r.company_id,
      login: r.login,
      name: r.name,
      shortNumber: r.short_number,
      contact: r.contact,
      sessionContact: r.session_contact,
      departments: byAgent.get(r.id) ?? [],
      supervisor: Number(r.supervisor) === 1,
    }));
  }
}

async function writeMemberships(
  trx: Transaction<Database>,
  agentId: number,
  companyId: number,
  departments: AgentDepartment[],
): Promise<void> {
  if (departments.length === 0) return;
  const ids = departments.map((d) => d.departmentId);
  const found = await trx
    .selectFrom('departments')
    .select('id')
    .where('id', 'in', ids)
    .where('company_id', '=', companyId)
    .execute();
  if (found.length !== ids.length) {
    throw new AppError('invalid_reference', 'a department does not exist in the agent’s company');
  }
  await trx
    .insertInto('agent_departments')
    .values(
      departments.map((d) => ({ agent_id: agentId, department_id: d.departmentId, priority: d.priority })),
    )
    .execute();
}

function toCompany(row: Selectable<CompaniesTable>): Company {
  return { id: row.id, name: row.name, settings: parseCompanySettings(JSON.parse(row.settings)) };
}

function toDepartment(row: Selectable<DepartmentsTable>): Department {
  return {
    id: row.id,
    companyId: row.company_id,
    code: row.code,
    name: row.name,
    strategy: row.strategy as DistributionStrategy,
    maxWaitSeconds: row.max_wait_seconds,
    maxQueueLength: row.max_queue_length,
    overflow: row.overflow === null ? null : (JSON.parse(row.overflow) as OverflowAction),
    greeting: row.greeting,
    recording: isRecordingMode(row.recording) ? row.recording : null,
  };
}

/** The columns of a department's validated fields (all but its id and company). */
function departmentColumns(d: Omit<Department, 'id' | 'companyId'>) {
  return {
    code: d.code,
    name: d.name,
    strategy: d.strategy,
    max_wait_seconds: d.maxWaitSeconds,
    max_queue_length: d.maxQueueLength,
    overflow: d.overflow ? JSON.stringify(d.overflow) : null,
    greeting: d.greeting,
    recording: d.recording,
  };
}

function toNumber(row: {
  number: string;
  kind: string;
  company_id: number | null;
  department_id: number | null;
}): NumberRoute {
  return {
    number: row.number,
    kind: row.kind as NumberKind,
    companyId: row.company_id,
    departmentId: row.department_id,
  };
}

function toSipAccount(row: Selectable<SipAccountsTable>): SipAccount {
  return {
    srtp: row.srtp === 'off' || row.srtp === 'mandatory' ? row.srtp : 'optional',
    algorithms:
      row.digest_algorithms === null ? null : (JSON.parse(row.digest_algorithms) as SipDigestAlgorithm[]),
    username: row.username,
    realm: row.realm,
    ha1Md5: row.ha1_md5,
    ha1Sha256: row.ha1_sha256,
    agentId: row.agent_id,
  };
}

function notFound(what: string, id: number): AppError {
  return new AppError('not_found', `no ${what} ${id}`);
}
