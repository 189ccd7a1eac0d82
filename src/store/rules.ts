/**
 * The rules every Store implementation applies before it writes: input validation, PIN hashing
 * and HA1 computation (issue 12 item 6). They live above the dialect code so that the SQLite
 * store and the PostgreSQL one share them instead of each re-implementing them; an
 * implementation only maps the values returned here to its columns.
 */
import { AppError } from '../util/errors.ts';
import { hashPin, isPinFormatValid } from './pin.ts';
import { ROLES, type RecordingMode } from './vocabulary.ts';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_RE } from './secrets.ts';
import { computeHa1 } from './sip-credentials.ts';
import type {
  AgentDepartment,
  AgentPatch,
  AgentTalk,
  Cdr,
  CdrAggregates,
  Department,
  DepartmentPatch,
  DistributionStrategy,
  NewAgent,
  NewCdr,
  NewDepartment,
  NewTrunk,
  NumberRoute,
  OverflowAction,
  Role,
  SipDigestAlgorithm,
  SrtpPolicy,
  Trunk,
  TrunkPatch,
} from './store.ts';
import {
  agentDepartmentsSchema,
  contactSchema,
  departmentFieldsSchema,
  idSchema,
  loginSchema,
  nameSchema,
  numberRouteSchema,
  shortNumberSchema,
  supervisorSchema,
  trunkFieldsSchema,
  validate,
} from './validation.ts';

/** `o` without its undefined fields, so that a spread of it leaves defaults alone. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// --- call records ------------------------------------------------------------

/** A new CDR with every field it leaves out at its default (nobody talked yet, no outcome). */
export function completeCdr(cdr: NewCdr): Cdr {
  return {
    companyId: null,
    hotline: null,
    callerId: null,
    departmentId: null,
    queuedAt: null,
    answeredAt: null,
    endedAt: null,
    agentIds: [],
    transfers: 0,
    outcome: null,
    talkSeconds: 0,
    departmentIds: [],
    agentTalk: [],
    ...stripUndefined(cdr),
    id: cdr.id,
    startedAt: cdr.startedAt,
  };
}

/** One of `CdrAggregates.agentSets`; `split` is the calls' `agentTalk` JSON ('[]': not split). */
export function agentSet(
  agentIds: number[],
  answered: number,
  talkSeconds: number,
  split: string,
): CdrAggregates['agentSets'][number] {
  const agentTalk = JSON.parse(split) as AgentTalk[];
  return agentTalk.length
    ? { agentIds, answered, talkSeconds, agentTalk }
    : { agentIds, answered, talkSeconds };
}

/** The `agentTalk` a call is grouped by in the agent sets: its own when it changed hands. */
export function splitOf(c: Pick<Cdr, 'transfers' | 'agentIds' | 'agentTalk'>): string {
  return c.transfers > 0 || c.agentIds.length > 1 ? JSON.stringify(c.agentTalk) : '[]';
}

// --- directory ---------------------------------------------------------------

export function companyName(name: string): string {
  return validate(nameSchema, name, 'company name');
}

const DEPARTMENT_DEFAULTS = {
  strategy: 'longest_idle' as DistributionStrategy,
  maxWaitSeconds: 600,
  maxQueueLength: 50,
  overflow: null as OverflowAction | null,
  greeting: null as string | null,
  recording: null as RecordingMode | null,
};

export type DepartmentFields = Omit<Department, 'id' | 'companyId'>;

export function newDepartment(input: NewDepartment): { companyId: number; fields: DepartmentFields } {
  const companyId = validate(idSchema, input.companyId, 'company id');
  const fields = validate(
    departmentFieldsSchema,
    { ...DEPARTMENT_DEFAULTS, ...stripUndefined(input) },
    'department',
  );
  return { companyId, fields };
}

export function patchedDepartment(current: Department, patch: DepartmentPatch): DepartmentFields {
  return validate(departmentFieldsSchema, { ...current, ...stripUndefined(patch) }, 'department');
}

/** A new agent's validated fields, its PIN as a hash (the PIN itself is never stored). */
export async function newAgent(input: NewAgent): Promise<{
  companyId: number;
  login: string;
  name: string;
  shortNumber: string;
  contact: string;
  departments: AgentDepartment[];
  pinHash: string;
  supervisor: boolean;
}> {
  const companyId = validate(idSchema, input.companyId, 'company id');
  const login = validate(loginSchema, input.login, 'login');
  const name = validate(nameSchema, input.name, 'agent name');
  const shortNumber = validate(shortNumberSchema, input.shortNumber, 'short number');
  const contact = validate(contactSchema, input.contact, 'contact');
  const departments = agentDepartments(input.departments ?? []);
  const pinHash = await newPinHash(input.pin);
  const supervisor = validate(supervisorSchema, input.supervisor ?? false, 'supervisor');
  return { companyId, login, name, shortNumber, contact, departments, pinHash, supervisor };
}

/** The fields of `patch` that are set, validated. */
export function agentPatch(patch: AgentPatch): {
  name?: string;
  shortNumber?: string;
  contact?: string;
  supervisor?: boolean;
} {
  const out: ReturnType<typeof agentPatch> = {};
  if (patch.name !== undefined) out.name = validate(nameSchema, patch.name, 'agent name');
  if (patch.shortNumber !== undefined)
    out.shortNumber = validate(shortNumberSchema, patch.shortNumber, 'short number');
  if (patch.contact !== undefined) out.contact = validate(contactSchema, patch.contact, 'contact');
  if (patch.supervisor !== undefined)
    out.supervisor = validate(supervisorSchema, patch.supervisor, 'supervisor');
  return out;
}

export function agentDepartments(departments: AgentDepartment[]): AgentDepartment[] {
  return validate(agentDepartmentsSchema, departments, 'departments');
}

export function sessionContact(contact: string | null): string | null {
  return contact === null ? null : validate(contactSchema, contact, 'contact');
}

/** The scrypt hash of a PIN of the right format; refuses any other. */
export async function newPinHash(pin: string): Promise<string> {
  if (!isPinFormatValid(pin)) throw new AppError('invalid_input', 'invalid PIN: 4–8 digits required');
  return hashPin(pin);
}

export function numberRoute(route: NumberRoute): NumberRoute {
  const r = validate(numberRouteSchema, route, 'number route');
  return { number: r.number, kind: r.kind, companyId: r.companyId, departmentId: r.departmentId };
}

/** Checks a SIP account's username, realm and password; returns the HA1s (the password is not kept). */
export function sipAccountHa1(
  username: string,
  realm: string,
  password: string,
): { ha1Md5: string; ha1Sha256: string } {
  if (!/^[A-Za-z0-9._~!$&'()*+,;=%-]{1,64}$/.test(username)) {
    throw new AppError('invalid_input', 'invalid SIP username');
  }
  if (realm.length === 0 || realm.length > 255 || /[\s"]/.test(realm))
    throw new AppError('invalid_input', 'invalid realm');
  if (password.length < 6) throw new AppError('invalid_input', 'SIP password too short (6+ characters)');
  return computeHa1(username, realm, password);
}

export function sipAlgorithms(algorithms: SipDigestAlgorithm[] | null): SipDigestAlgorithm[] | null {
  if (algorithms !== null) {
    const ok = algorithms.length > 0 && algorithms.every((a) => a === 'MD5' || a === 'SHA-256');
    if (!ok || new Set(algorithms).size !== algorithms.length)
      throw new AppError('invalid_input', 'algorithms: a non-empty list of MD5, SHA-256');
  }
  return algorithms;
}

export function srtpPolicy(srtp: SrtpPolicy): SrtpPolicy {
  if (srtp !== 'off' && srtp !== 'optional' && srtp !== 'mandatory')
    throw new AppError('invalid_input', 'srtp: off, optional or mandatory');
  return srtp;
}

export function settingKey(key: string): string {
  if (key.length === 0) throw new AppError('invalid_input', 'empty setting key');
  return key;
}

// --- trunks ------------------------------------------------------------------

const TRUNK_DEFAULTS: Omit<Trunk, 'name' | 'uri'> = {
  username: null,
  password: null,
  realm: null,
  register: false,
  priority: 100,
  inbound: [],
  companies: [],
  numberFrom: 'request_uri',
  numberFormat: 'e164_plus',
  inbandDtmf: 'auto',
  qualifySeconds: 60,
  srtp: 'optional',
};

export function newTrunk(t: NewTrunk): Trunk {
  return validate(trunkFieldsSchema, { ...TRUNK_DEFAULTS, ...t }, 'trunk');
}

/** `current` with `patch` applied; the name never changes. */
export function patchedTrunk(current: Trunk, patch: TrunkPatch): Trunk {
  return validate(trunkFieldsSchema, { ...current, ...patch, name: current.name }, 'trunk');
}

// --- access ------------------------------------------------------------------

export function checkRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role))
    throw new AppError('invalid_input', `unknown role ${role}`);
  return role as Role;
}

/** Distinct positive ids, ascending. */
export function checkCompanyIds(ids: readonly number[] | undefined): number[] {
  const list = [...new Set(ids ?? [])];
  if (!list.every((id) => Number.isSafeInteger(id) && id > 0))
    throw new AppError('invalid_input', 'company ids must be positive integers');
  return list.sort((a, b) => a - b);
}

export function checkPassword(password: string): string {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX)
    throw new AppError('invalid_input', `a password has ${PASSWORD_MIN}–${PASSWORD_MAX} characters`);
  return password;
}

/** Usernames are case-insensitive: stored lower-case. */
export function checkUsername(username: string): string {
  const lower = username.toLowerCase();
  if (!USERNAME_RE.test(lower)) throw new AppError('invalid_input', 'a username is 1–64 of a-z 0-9 . _ -');
  return lower;
}
