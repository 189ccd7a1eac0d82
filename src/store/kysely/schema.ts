import type { Generated } from 'kysely';

/** Row types of the database as Kysely sees them (the same tables in every dialect) (see migrations/). */
export interface CompaniesTable {
  id: Generated<number>;
  name: string;
  settings: string; // JSON CompanySettings
}

export interface DepartmentsTable {
  id: Generated<number>;
  company_id: number;
  code: string;
  name: string;
  strategy: string;
  max_wait_seconds: number;
  max_queue_length: number;
  overflow: string | null; // JSON OverflowAction
  greeting: string | null;
  /** off | all | on_demand; null: the company's (migration 010). */
  recording: string | null;
}

export interface AgentsTable {
  id: Generated<number>;
  company_id: number;
  login: string;
  name: string;
  short_number: string;
  contact: string;
  session_contact: string | null;
  pin_hash: string;
  /** 0/1 (migration 009). */
  supervisor: Generated<number>;
}

export interface AgentDepartmentsTable {
  agent_id: number;
  department_id: number;
  priority: number;
}

export interface NumbersTable {
  number: string;
  kind: string;
  company_id: number | null;
  department_id: number | null;
}

export interface SipAccountsTable {
  username: string;
  realm: string;
  ha1_md5: string;
  ha1_sha256: string;
  agent_id: number | null;
  /** JSON list of digest algorithms; null: the server default. */
  digest_algorithms: string | null;
  /** off | optional | mandatory (migration 007). */
  srtp: Generated<string>;
}

export interface SipBindingsTable {
  aor: string;
  contact_key: string;
  contact: string;
  expires_at: number;
  call_id: string;
  cseq: number;
  source_address: string;
  source_port: number;
  transport: string;
}

export interface AgentStatesTable {
  agent_id: number;
  state: string;
  since: number;
  reason: string;
  source: string;
}

export interface AgentStateHistoryTable {
  id: Generated<number>;
  agent_id: number;
  at: number;
  from_state: string;
  to_state: string;
  reason: string;
  source: string;
}

export interface CdrTable {
  id: string;
  company_id: number | null;
  hotline: string | null;
  caller_id: string | null;
  department_id: number | null;
  started_at: number;
  queued_at: number | null;
  answered_at: number | null;
  ended_at: number | null;
  agent_ids: string; // JSON number[]
  transfers: number;
  outcome: string | null;
  talk_seconds: number;
  department_ids: string; // JSON number[]
  agent_talk: string; // JSON AgentTalk[]
}

export interface QueueEventsTable {
  id: Generated<number>;
  call_id: string;
  company_id: number | null;
  department_id: number | null;
  at: number;
  kind: string;
  agent_id: number | null;
  detail: string | null;
}

export interface RecordingsTable {
  id: Generated<number>;
  call_id: string;
  company_id: number;
  file: string;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  bytes: number | null;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface LoginFailuresTable {
  id: Generated<number>;
  login: string;
  at: number;
  /** Caller id of the attempt, normalised (`anonymous` for a withheld one); null for rows before 003. */
  caller_id: Generated<string | null>;
  /** `pending` while the PIN is being checked, then `wrong`; right PINs delete their rows. */
  outcome: Generated<string>;
}

export interface UsersTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  role: string;
  company_ids: string; // JSON number[]
  created_at: number;
}

export interface ApiTokensTable {
  id: Generated<number>;
  name: string;
  token_sha256: string;
  role: string;
  company_ids: string; // JSON number[]
  created_at: number;
  created_by: string | null;
  last_used_at: number | null;
}

export interface SessionsTable {
  id_sha256: string;
  user_id: number;
  created_at: number;
  expires_at: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor_kind: string;
  actor: string;
  method: string;
  route: string;
  params: string; // JSON Record<string, string>
  status: number;
  source: string | null;
}

export interface TrunksTable {
  name: string;
  uri: string;
  username: string | null;
  password: string | null;
  realm: string | null;
  register: number; // 0 | 1
  priority: number;
  inbound: string; // JSON string[]
  companies: string; // JSON number[]
  number_from: string;
  number_format: string;
  inband_dtmf: string;
  qualify_seconds: number;
  /** off | optional | mandatory (migration 007). */
  srtp: string;
}

export interface Database {
  companies: CompaniesTable;
  departments: DepartmentsTable;
  agents: AgentsTable;
  agent_departments: AgentDepartmentsTable;
  numbers: NumbersTable;
  sip_accounts: SipAccountsTable;
  sip_bindings: SipBindingsTable;
  agent_states: AgentStatesTable;
  agent_state_history: AgentStateHistoryTable;
  cdr: CdrTable;
  queue_events: QueueEventsTable;
  recordings: RecordingsTable;
  settings: SettingsTable;
  login_failures: LoginFailuresTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  sessions: SessionsTable;
  audit_log: AuditLogTable;
  trunks: TrunksTable;
}
