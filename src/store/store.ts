/**
 * Storage interfaces. The rest of AgentLine depends on these types only, never
 * on a database: `kysely/` implements them over `sqlite/` and `postgres/` (docs/storage.md).
 *
 * Conventions:
 * - every method is async;
 * - times are wall-clock milliseconds since the epoch (`Clock.wallNow()`);
 * - a lookup that finds nothing returns `null`; an update or delete of a
 *   missing row throws `AppError('not_found')`; a taken unique value throws
 *   `AppError('conflict')`; a bad value throws `AppError('invalid_input')`;
 *   a reference to a missing row throws `AppError('invalid_reference')`.
 */

import type { Country } from '../util/phone-number.ts';
import type {
  AcceptCallMode,
  AgentState,
  AnnounceNumberMode,
  CallOutcome,
  DeliverTo,
  DistributionStrategy,
  ExternalTransferMode,
  InbandDtmfMode,
  Language,
  NumberFormat,
  NumberFrom,
  NumberKind,
  PresentedCallerId,
  RecordingAnnouncement,
  RecordingMode,
  Role,
  SipDigestAlgorithm,
  SipTransport,
  SrtpPolicy,
} from './vocabulary.ts';

// ---------------------------------------------------------------------------
// Companies and settings (SPEC §7)

// Declared once in vocabulary.ts; re-exported so `store.ts` stays the one import for store types.
export type {
  AcceptCallMode,
  AnnounceNumberMode,
  CallOutcome,
  DeliverTo,
  DistributionStrategy,
  ExternalTransferMode,
  Language,
  NumberKind,
  PresentedCallerId,
  RecordingAnnouncement,
  RecordingMode,
  SipDigestAlgorithm,
  SrtpPolicy,
};

export interface CompanySettings {
  /** In-call `* 1`: how a transfer to an external number behaves. Default `release_on_answer`. */
  externalTransfer: ExternalTransferMode;
  /** In-call `* 3`: how announcing a number behaves. Default `stay_until_connected`. */
  announceNumber: AnnounceNumberMode;
  /** How long an offered agent (or a transfer target) may ring. Default 20. */
  ringSeconds: number;
  /** Wrap-up after a call before the agent is `ready` again. Default 0. */
  wrapUpSeconds: number;
  /** `temporarily_not_ready` returns to `ready` after this. Default 15. */
  breakMinutes: number;
  /** Where customer calls go after an IVR login: the number the agent called from, or the profile contact. */
  deliverTo: DeliverTo;
  /** Prompt language. Default `ru`. */
  language: Language;
  /**
   * Toll-fraud protection for transfers and announced numbers. Each entry is
   * `agents` (the company's own agents: short numbers and contacts) or a number
   * pattern: optional `+`, digits, `X` for any one digit, optional trailing `*`
   * for any further digits (`+7*`, `+7495XXXXXXX`). Default `['agents', '+7*']`.
   */
  allowedDestinations: string[];
  /** Period of the queue position announcement. Default 30. */
  announceSeconds: number;
  /** Shortest new PIN accepted (IVR PIN change, API set/reset), 4–8. Default 4. */
  minPinLength: number;
  /**
   * From on calls to agents and transfer targets: the customer's number, or
   * the hotline they called (carriers that only pass numbers of the account).
   * P-Asserted-Identity and Diversion name the hotline either way. Default `customer`.
   */
  presentedCallerId: PresentedCallerId;
  /**
   * Whether an agent who answers an offer must press `acceptKey` within
   * `acceptSeconds` (after the whisper and the "press 1" prompt) before the
   * customer is connected, so that a voicemail or an answering machine never
   * takes the call. Default `key`, `1`, 10 s.
   */
  acceptCall: AcceptCallMode;
  acceptKey: string;
  acceptSeconds: number;
  /**
   * The dial plan of the company's numbers (src/util/phone-number.ts): how
   * 8…, 0…, 00… are read in routing, transfers, announcements and
   * allowedDestinations, and what `national` means on a trunk. Default `RU`.
   */
  country: Country;
  /** IANA time zone of the company's day (the board's "today"). Default `Europe/Moscow`. */
  timeZone: string;
  /**
   * Call recording (a department may say otherwise): `off`, `all` connected calls, or
   * `on_demand` (the agent keys `*7`). Default `off`.
   */
  recording: RecordingMode;
  /** Whether the customer hears "this call may be recorded" first when recording may happen. Default `on`. */
  recordingAnnouncement: RecordingAnnouncement;
  /** Recordings older than this are deleted (file and row). Default 90. */
  recordingRetentionDays: number;
}

export interface Company {
  id: number;
  name: string;
  settings: CompanySettings;
}

export interface NewCompany {
  name: string;
  /** Missing settings take their defaults. */
  settings?: Partial<CompanySettings>;
}

// ---------------------------------------------------------------------------
// Departments

export type OverflowAction = { kind: 'department'; code: string } | { kind: 'hangup' };

export interface Department {
  id: number;
  companyId: number;
  /** Three digits, unique within the company (`101`). */
  code: string;
  name: string;
  strategy: DistributionStrategy;
  maxWaitSeconds: number;
  maxQueueLength: number;
  /** What happens past the limits or with nobody logged in; `null`: play `no_agents` and hang up. */
  overflow: OverflowAction | null;
  /** Prompt file or id played before queueing, if any. */
  greeting: string | null;
  /** Call recording here; `null`: the company's setting. */
  recording: RecordingMode | null;
}

export interface NewDepartment {
  companyId: number;
  code: string;
  name: string;
  strategy?: DistributionStrategy; // default longest_idle
  maxWaitSeconds?: number; // default 600
  maxQueueLength?: number; // default 50
  overflow?: OverflowAction | null; // default null
  greeting?: string | null; // default null
  recording?: RecordingMode | null; // default null (the company's)
}

export type DepartmentPatch = Partial<Omit<NewDepartment, 'companyId'>>;

// ---------------------------------------------------------------------------
// Agents

export interface AgentDepartment {
  departmentId: number;
  /** 1 is the most preferred; used by the `priority` strategy. */
  priority: number;
}

export interface Agent {
  id: number;
  companyId: number;
  /** Globally unique digits (`1001`). */
  login: string;
  name: string;
  /** Company-local short number (transfer target), digits. */
  shortNumber: string;
  /** Profile contact: E.164 (`+79000000001`) or a SIP user (`sip:alice`). */
  contact: string;
  /** Contact for the current work session (the number the agent logged in from), if any. */
  sessionContact: string | null;
  departments: AgentDepartment[];
  /** May listen to, whisper to and barge into colleagues' calls (service IVR key 9, console). */
  supervisor: boolean;
}

export interface NewAgent {
  companyId: number;
  login: string;
  name: string;
  shortNumber: string;
  contact: string;
  /** 4–8 digits; stored only as a salted hash. */
  pin: string;
  departments?: AgentDepartment[];
  /** Default false. */
  supervisor?: boolean;
}

export type AgentPatch = Partial<Pick<Agent, 'name' | 'shortNumber' | 'contact' | 'supervisor'>>;

export interface AgentFilter {
  companyId?: number;
  departmentId?: number;
}

// ---------------------------------------------------------------------------
// Numbers and SIP accounts

export interface NumberRoute {
  /** The Request-URI user part it is matched against (`+74950000001`). */
  number: string;
  kind: NumberKind;
  /** Null for the shared service number. */
  companyId: number | null;
  /** The department a hotline rings; null for the service number. */
  departmentId: number | null;
}

export interface SipAccount {
  username: string;
  realm: string;
  /** hex MD5(username:realm:password) (RFC 2617 / 3261 digest). */
  ha1Md5: string;
  /** hex SHA-256(username:realm:password) (RFC 7616). */
  ha1Sha256: string;
  agentId: number | null;
  /** Digest algorithms its phone is challenged with, in order; null: the server default. */
  algorithms: SipDigestAlgorithm[] | null;
  /** SRTP policy of calls to and from its phone (call/sdp.ts). */
  srtp: SrtpPolicy;
}

/** A registrar binding as kept across restarts (RFC 3261 §10.3). */
export interface StoredSipBinding {
  aor: string;
  /** The binding's identity: the normalised Contact URI. */
  contactKey: string;
  /** The Contact name-addr as registered, without `expires`. */
  contact: string;
  /** Wall-clock ms. */
  expiresAt: number;
  callId: string;
  cseq: number;
  source: { address: string; port: number; transport: SipTransport };
}

export interface PinAttempt {
  login: string;
  pin: string;
  /** Wall-clock ms of the attempt. */
  at: number;
  /** The presented caller id; empty or withheld ones count together (`normaliseCallerId`). */
  callerId: string | null;
}

export type PinAttemptResult =
  | { result: 'ok' }
  /** `lockedLogin`/`lockedCaller`: this failure is the one that locked it (log that once, as a warning). */
  | { result: 'wrong'; lockedLogin: boolean; lockedCaller: boolean }
  /** Refused unchecked until `until`: the login or the caller id is locked. */
  | { result: 'locked'; by: 'login' | 'caller'; until: number };

export interface DirectoryStore {
  createCompany(input: NewCompany): Promise<Company>;
  getCompany(id: number): Promise<Company | null>;
  listCompanies(): Promise<Company[]>;
  renameCompany(id: number, name: string): Promise<Company>;
  /** Merges `patch` into the current settings, validates, stores; returns the result. */
  updateCompanySettings(id: number, patch: Partial<CompanySettings>): Promise<Company>;
  /** Deletes the company with its departments, agents, numbers. */
  deleteCompany(id: number): Promise<void>;

  createDepartment(input: NewDepartment): Promise<Department>;
  getDepartment(id: number): Promise<Department | null>;
  getDepartmentByCode(companyId: number, code: string): Promise<Department | null>;
  listDepartments(companyId: number): Promise<Department[]>;
  updateDepartment(id: number, patch: DepartmentPatch): Promise<Department>;
  deleteDepartment(id: number): Promise<void>;

  createAgent(input: NewAgent): Promise<Agent>;
  getAgent(id: number): Promise<Agent | null>;
  getAgentByLogin(login: string): Promise<Agent | null>;
  getAgentByShortNumber(companyId: number, shortNumber: string): Promise<Agent | null>;
  /** Agents whose profile contact equals `contact` exactly (the IVR asks only for the PIN when there is one). */
  findAgentsByContact(contact: string): Promise<Agent[]>;
  /** Ordered by login. */
  listAgents(filter?: AgentFilter): Promise<Agent[]>;
  updateAgent(id: number, patch: AgentPatch): Promise<Agent>;
  /** Replaces the agent's department memberships. */
  setAgentDepartments(id: number, departments: AgentDepartment[]): Promise<Agent>;
  setSessionContact(id: number, contact: string | null): Promise<void>;
  deleteAgent(id: number): Promise<void>;
  /**
   * False for an unknown login or a wrong PIN (same cost either way). Checks the
   * hash only, with no lockout: logins go through `attemptPin`.
   */
  verifyPin(login: string, pin: string): Promise<boolean>;
  /**
   * A PIN login under the lockout (SPEC §4, issue 11). Checking the locks of the
   * login and of the caller id and counting the attempt are one atomic step, taken
   * *before* the slow hash check: however many calls try at once, at most
   * `LOCKOUT_POLICY.maxFailures` wrong PINs per login (and
   * `CALLER_LOCKOUT_POLICY.maxFailures` per caller id) are ever evaluated per window.
   * A locked login refuses the right PIN too, without touching its count; a right
   * PIN clears the login's failures. An unknown login is counted like a known one.
   */
  attemptPin(attempt: PinAttempt): Promise<PinAttemptResult>;
  /** When the login's or the caller id's lock ends (the later), or null; reads only. */
  pinLockedUntil(login: string, callerId: string | null, now: number): Promise<number | null>;
  /** Checks the format (4–8 digits) only; weakness is the caller's policy (`isWeakPin`). */
  setPin(login: string, pin: string): Promise<void>;

  /** Inserts or replaces the route of `route.number`. */
  putNumber(route: NumberRoute): Promise<NumberRoute>;
  getNumber(number: string): Promise<NumberRoute | null>;
  /** All numbers, or those of one company (the service number has none). */
  listNumbers(companyId?: number): Promise<NumberRoute[]>;
  deleteNumber(number: string): Promise<void>;

  /** Stores both HA1 digests of the password (never the password). Replaces an existing account. */
  createSipAccount(
    username: string,
    password: string,
    realm: string,
    agentId?: number | null,
  ): Promise<SipAccount>;
  getSipAccount(username: string, realm: string): Promise<SipAccount | null>;
  listSipAccounts(): Promise<SipAccount[]>;
  deleteSipAccount(username: string, realm: string): Promise<void>;
  /** Sets the account's digest algorithms (null: the server default). */
  setSipAccountAlgorithms(
    username: string,
    realm: string,
    algorithms: SipDigestAlgorithm[] | null,
  ): Promise<void>;
  /** Sets the account's SRTP policy. */
  setSipAccountSrtp(username: string, realm: string, srtp: SrtpPolicy): Promise<void>;

  /** Replaces every binding of an AOR (an empty list removes them). */
  saveSipBindings(aor: string, bindings: StoredSipBinding[]): Promise<void>;
  /** Bindings unexpired at wall-clock `now`; expired ones are deleted. */
  loadSipBindings(now: number): Promise<StoredSipBinding[]>;
}

// ---------------------------------------------------------------------------
// Agent state (SPEC §3)

export type { AgentState };

export type TransitionSource = 'ivr' | 'api' | 'system';

export interface AgentStateRecord {
  agentId: number;
  state: AgentState;
  /** When the agent entered `state`. */
  since: number;
  reason: string;
  source: TransitionSource;
}

export interface AgentStateHistoryRow {
  id: number;
  agentId: number;
  at: number;
  from: AgentState;
  to: AgentState;
  reason: string;
  source: TransitionSource;
}

export interface StateHistoryQuery {
  agentId?: number;
  /** Inclusive lower bound on `at`. */
  since?: number;
  /** Exclusive upper bound on `at`. */
  until?: number;
  /** Newest rows first when set; default oldest first. */
  newestFirst?: boolean;
  limit?: number;
}

export interface AgentStateStore {
  /** The current state; an agent never seen is `logged_out` (since 0). Null for an unknown agent. */
  getAgentState(agentId: number): Promise<AgentStateRecord | null>;
  /** Current state of every agent (of one company when given). */
  listAgentStates(companyId?: number): Promise<AgentStateRecord[]>;
  /**
   * The department's agents whose state is `ready`, with their priority in it: the
   * distributor's candidates in one query (it asks once per waiting call it passes over).
   */
  listReadyIn(departmentId: number): Promise<ReadyAgent[]>;
  /** Whether any agent of the department is logged in, in whatever state. */
  anyLoggedIn(departmentId: number): Promise<boolean>;
  /** Atomically sets the current state and appends a history row. */
  recordTransition(change: Omit<AgentStateHistoryRow, 'id'>): Promise<AgentStateHistoryRow>;
  listStateHistory(query?: StateHistoryQuery): Promise<AgentStateHistoryRow[]>;
  /** Calls handled per agent (of one company when given) that went `busy` in [from, to) (the board, issue 14). */
  handleFigures(query: FiguresQuery): Promise<AgentHandleFigures[]>;
}

/** An agent ready in a department: since when (the strategies' idle time), and their priority there. */
export interface ReadyAgent {
  agentId: number;
  since: number;
  priority: number;
}

/** A company's period for the board's figures: `from` inclusive, `to` exclusive (wall ms). */
export interface FiguresQuery {
  companyId?: number;
  from: number;
  to: number;
}

/**
 * One agent's handled calls: `calls` counts every move into `busy`; a handle runs from
 * `busy` to the end of the wrap-up that follows it (talk + hold + after-call work, as
 * contact centres define AHT). Only handles already over (`handled`) add to `handleSeconds`.
 */
export interface AgentHandleFigures {
  agentId: number;
  calls: number;
  handled: number;
  handleSeconds: number;
}

// ---------------------------------------------------------------------------
// Call records (SPEC §8) — minimal for now

export interface Cdr {
  /** The call's id (generated by the call layer). */
  id: string;
  companyId: number | null;
  /** The dialled hotline number. */
  hotline: string | null;
  callerId: string | null;
  departmentId: number | null;
  startedAt: number;
  /** First entered a queue. */
  queuedAt: number | null;
  /** First answered by an agent. */
  answeredAt: number | null;
  endedAt: number | null;
  /** Agents who talked to the customer, in order. */
  agentIds: number[];
  transfers: number;
  outcome: CallOutcome | null;
  talkSeconds: number;
  /** Departments the call was queued in, in order: the first is where it entered, the last where it ended. */
  departmentIds: number[];
  /** Each agent's own time with the customer (an outside number's is nobody's), in the order they talked. */
  agentTalk: AgentTalk[];
}

export interface AgentTalk {
  agentId: number;
  talkSeconds: number;
}

export type NewCdr = Pick<Cdr, 'id' | 'startedAt'> & Partial<Omit<Cdr, 'id' | 'startedAt'>>;
export type CdrPatch = Partial<Omit<Cdr, 'id'>>;

export interface CdrQuery {
  companyId?: number;
  /** Only these companies (a supervisor's scope); a CDR of no company never matches. */
  companyIds?: readonly number[];
  /** Inclusive lower bound on `startedAt`. */
  from?: number;
  /** Exclusive upper bound on `startedAt`. */
  to?: number;
  departmentId?: number;
  /** Departments of which the call was queued in at least one, anywhere on its way (none: no call). */
  viaDepartmentIds?: readonly number[];
  outcome?: CallOutcome;
  /** An agent who talked to the customer. */
  agentId?: number;
  /** Keyset cursor: only CDRs after this one in the newest-first order (started earlier, or as early with a smaller id). */
  after?: CdrCursor;
  /** Rows skipped before the first returned (page-number paging). */
  offset?: number;
  /** Newest first; default 100. */
  limit?: number;
}

/** Where a page of the newest-first order ended: the last CDR's start and id. */
export interface CdrCursor {
  startedAt: number;
  id: string;
}

/** The CDR filters without the paging. */
export type CdrFilter = Omit<CdrQuery, 'after' | 'offset' | 'limit'>;

/**
 * Sums over CDRs, which the summary report's figures are computed from: the store adds them up
 * in the database (GROUP BY), never handing over the rows.
 */
export interface CdrTotals {
  calls: number;
  answered: number;
  abandoned: number;
  overflow: number;
  noAgents: number;
  /** Queued calls answered or abandoned: the service level's base. */
  queuedSettled: number;
  /** Queued calls answered within the service level's threshold. */
  answeredWithin: number;
  /** Queued calls answered, and their waits (queue entry to answer) added up, ms. */
  waited: number;
  waitMs: number;
  /** Talk seconds of the answered calls, added up. */
  talkSeconds: number;
}

export interface CdrAggregates {
  /** Totals per `bucketMs` of start time counted from `origin` (bucket 0), buckets with calls only. */
  buckets: (CdrTotals & { bucket: number })[];
  /**
   * Answered calls per list of agents who talked: how many and the talk seconds, added up. A call
   * that went from one agent to another (or to an outside number) has its own split, `agentTalk`
   * (each agent's seconds in one such call), with the calls that split the same way.
   */
  agentSets: { agentIds: number[]; answered: number; talkSeconds: number; agentTalk?: AgentTalk[] }[];
}

/**
 * Queue log events, in the spirit of Asterisk's queue_log: `enter` the queue,
 * `offer` to an agent, `no_answer` from them, `connect`ed, `complete_agent` /
 * `complete_customer` (who hung up), `abandon` while waiting, `overflow` out of
 * it, `transfer` elsewhere, `position` announced to the caller (detail: the position), the agent
 * put the customer on `hold` (`* 4`), a supervisor ended the call (`supervisor_end`, detail: who) or
 * took its agent out of it (`supervisor_agent`, detail: who).
 */
export type QueueEventKind =
  | 'enter'
  | 'position'
  | 'hold'
  | 'offer'
  | 'no_answer'
  | 'connect'
  | 'complete_agent'
  | 'complete_customer'
  | 'abandon'
  | 'overflow'
  | 'transfer'
  | 'supervisor_end'
  | 'supervisor_agent'
  /** A supervisor began hearing the call (agentId: the agent heard; detail JSON {supervisor, mode}). */
  | 'monitor_started'
  /** The supervisor changed the mode (listen, whisper, barge): detail JSON {supervisor, mode}. */
  | 'monitor_mode'
  /** Monitoring ended: detail JSON {supervisor, end}. */
  | 'monitor_stopped';

export interface QueueEvent {
  id: number;
  callId: string;
  companyId: number | null;
  departmentId: number | null;
  at: number;
  kind: QueueEventKind;
  agentId: number | null;
  detail: string | null;
}

export type NewQueueEvent = Omit<QueueEvent, 'id' | 'agentId' | 'detail'> &
  Partial<Pick<QueueEvent, 'agentId' | 'detail'>>;

export interface CallRecordStore {
  insertCdr(cdr: NewCdr): Promise<Cdr>;
  updateCdr(id: string, patch: CdrPatch): Promise<Cdr>;
  getCdr(id: string): Promise<Cdr | null>;
  listCdr(query?: CdrQuery): Promise<Cdr[]>;
  /**
   * Every CDR `query` matches (its `limit` aside), newest first, `pageSize` rows at a time. Each
   * page is its own short query, and the next one waits for a turn of the event loop, so a long
   * export never holds the database — or, with a synchronous driver, the media clock — for
   * longer than one page.
   */
  pagesOfCdr(query: CdrFilter, pageSize: number): AsyncIterable<Cdr[]>;
  /** How many CDRs match. */
  countCdr(query: CdrFilter): Promise<number>;
  /**
   * The summary report's sums over the CDRs `query` matches, by start-time bucket and by the
   * agents who talked; a call answered within `serviceLevelMs` of entering the queue counts
   * in `answeredWithin`.
   */
  aggregateCdr(
    query: CdrFilter,
    grouping: { origin: number; bucketMs: number; serviceLevelMs: number },
  ): Promise<CdrAggregates>;
  /**
   * Closes every CDR still open (no end time or no outcome) as `interrupted`, ending at `endedAt`:
   * called once at start, before any call, when every open row is one a crash left behind.
   * Returns how many rows it closed.
   */
  closeInterruptedCdrs(endedAt: number): Promise<number>;
  insertQueueEvent(event: NewQueueEvent): Promise<QueueEvent>;
  listQueueEvents(callId: string): Promise<QueueEvent[]>;
}

// ---------------------------------------------------------------------------
// Auth: key-value settings (admin token …) and login failures (SPEC §4 lockout)

export interface AuthStore {
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  deleteSetting(key: string): Promise<void>;
  recordLoginFailure(login: string, at: number): Promise<void>;
  /** Failures with `at >= sinceMs`. */
  countLoginFailures(login: string, sinceMs: number): Promise<number>;
  /** Failure times with `at >= sinceMs`, oldest first. */
  listLoginFailures(login: string, sinceMs: number): Promise<number[]>;
  clearLoginFailures(login: string): Promise<void>;
}

// ---------------------------------------------------------------------------
// Access: console users, API tokens, sessions, audit log (issue 11)

/**
 * `admin`: everything. `supervisor`: its companies' board, calls, reports and agent state
 * changes, and read of their departments and agents. `viewer`: read-only of its companies.
 */
export type { Role };

export interface User {
  id: number;
  /** Lower-case letters, digits, `.`, `_`, `-`. */
  username: string;
  role: Role;
  /** The companies a supervisor or viewer sees (ignored for an admin). */
  companyIds: number[];
  createdAt: number;
}

export interface NewUser {
  username: string;
  /** Stored only as a scrypt hash. */
  password: string;
  role: Role;
  companyIds?: number[];
}

export type UserPatch = Partial<Pick<NewUser, 'password' | 'role' | 'companyIds'>>;

export interface ApiToken {
  id: number;
  name: string;
  role: Role;
  companyIds: number[];
  createdAt: number;
  /** Who created it (audit actor), if known. */
  createdBy: string | null;
  lastUsedAt: number | null;
}

export interface NewApiToken {
  name: string;
  role: Role;
  companyIds?: number[];
  createdBy?: string | null;
}

export interface AuditEntry {
  id: number;
  at: number;
  /** `user`, `token`, `admin-token` or `anonymous` (a failed sign-in). */
  actorKind: string;
  /** Username or token name. */
  actor: string;
  method: string;
  /** The route template (`/api/v1/agents/:login`). */
  route: string;
  /** Path parameters: what the change was about. */
  params: Record<string, string>;
  status: number;
  /** Source address. */
  source: string | null;
}

export interface AuditQuery {
  /** Rows with `id < before` (paging back). */
  before?: number;
  /** Newest first; default 100. */
  limit?: number;
}

export interface AccessStore {
  /** Refuses a taken username (`conflict`). */
  createUser(input: NewUser, at: number): Promise<User>;
  getUser(id: number): Promise<User | null>;
  getUserByUsername(username: string): Promise<User | null>;
  /** Ordered by username. */
  listUsers(): Promise<User[]>;
  updateUser(id: number, patch: UserPatch): Promise<User>;
  /** Deletes the user with their sessions. */
  deleteUser(id: number): Promise<void>;
  /** The user, or null for an unknown username or a wrong password (same cost either way). */
  verifyPassword(username: string, password: string): Promise<User | null>;

  /** Creates a token; `secret` is returned this once and stored only as its SHA-256. */
  createToken(input: NewApiToken, at: number): Promise<{ token: ApiToken; secret: string }>;
  /** The token whose secret this is (and notes its use at `at`), or null. */
  findToken(secret: string, at: number): Promise<ApiToken | null>;
  listTokens(): Promise<ApiToken[]>;
  deleteToken(id: number): Promise<void>;

  /** A new session; `secret` (the cookie value) is stored only as its SHA-256. */
  createSession(userId: number, at: number, ttlMs: number): Promise<{ secret: string; expiresAt: number }>;
  /** The signed-in user of an unexpired session, or null. */
  findSession(secret: string, now: number): Promise<User | null>;
  deleteSession(secret: string): Promise<void>;
  deleteUserSessions(userId: number): Promise<void>;

  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry>;
  listAudit(query?: AuditQuery): Promise<AuditEntry[]>;
}

// ---------------------------------------------------------------------------
// SIP trunks (issue 9)

export type TrunkTransport = SipTransport;
/** Where a trunk puts the dialled number: the Request-URI, or `To` (carriers that send the registration contact in the R-URI). */
export type TrunkNumberFrom = NumberFrom;
/** How numbers are written on the trunk's outbound calls (src/util/phone-number.ts `formatNumber`). */
export type TrunkNumberFormat = NumberFormat;
/** DTMF in the audio on the trunk's legs: `auto` follows `--inband-dtmf`. */
export type TrunkInbandDtmf = InbandDtmfMode;

export interface Trunk {
  name: string;
  /** `sip:host:port;transport=udp|tcp|tls`. */
  uri: string;
  username: string | null;
  /** Write-only to the outside: the API and logs never show it. */
  password: string | null;
  realm: string | null;
  register: boolean;
  /** Lower first. */
  priority: number;
  /** IPs or CIDRs whose INVITEs to hotlines are this trunk's. */
  inbound: string[];
  /** Companies that may send calls through it; empty = every company. */
  companies: number[];
  numberFrom: TrunkNumberFrom;
  /** Request-URI/To user and the presented From/P-Asserted-Identity/Diversion users. Default `e164_plus`. */
  numberFormat: TrunkNumberFormat;
  /** Default `auto`. */
  inbandDtmf: TrunkInbandDtmf;
  /** OPTIONS probe period; 0 = no probing (status then follows registration). */
  qualifySeconds: number;
  /** SRTP policy of its calls (call/sdp.ts). */
  srtp: SrtpPolicy;
}

export type NewTrunk = Pick<Trunk, 'name' | 'uri'> & Partial<Omit<Trunk, 'name' | 'uri'>>;
export type TrunkPatch = Partial<Omit<Trunk, 'name'>>;

export interface TrunkStore {
  /** By priority, then name. */
  list(): Promise<Trunk[]>;
  get(name: string): Promise<Trunk | null>;
  /** `conflict` when the name is taken. */
  create(t: NewTrunk): Promise<Trunk>;
  update(name: string, patch: TrunkPatch): Promise<Trunk>;
  delete(name: string): Promise<void>;
}

/** Everything a node needs from its database. */
// ---------------------------------------------------------------------------
// Call recordings (issue 14 item 3)

export interface Recording {
  id: number;
  callId: string;
  companyId: number;
  /** File name under --recordings-dir. */
  file: string;
  startedAt: number;
  /** null while it records. */
  endedAt: number | null;
  durationMs: number | null;
  bytes: number | null;
}

export type NewRecording = Pick<Recording, 'callId' | 'companyId' | 'file' | 'startedAt'>;

export interface RecordingStore {
  insertRecording(r: NewRecording): Promise<Recording>;
  finishRecording(id: number, end: { endedAt: number; durationMs: number; bytes: number }): Promise<void>;
  getRecording(id: number): Promise<Recording | null>;
  /** A call's recordings, oldest first. */
  listRecordings(callId: string): Promise<Recording[]>;
  /** The company's recordings started before `before`, oldest first, at most `limit`. */
  listRecordingsBefore(companyId: number, before: number, limit: number): Promise<Recording[]>;
  deleteRecording(id: number): Promise<void>;
}

export interface Store {
  directory: DirectoryStore;
  agentStates: AgentStateStore;
  calls: CallRecordStore;
  auth: AuthStore;
  access: AccessStore;
  trunks: TrunkStore;
  recordings: RecordingStore;
  close(): Promise<void>;
}
