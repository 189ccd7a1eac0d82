/**
 * The admin API. The console signs in with username and password (`POST /api/v1/session`);
 * the server answers with an HttpOnly session cookie that the browser sends with every
 * request and with the event stream. Script never sees a secret: nothing is kept in storage.
 */

import type {
  AgentState,
  CallOutcome,
  CompanySettings,
  Department,
  NumberKind,
  Role,
  SrtpPolicy,
  TrunkInbandDtmf,
  TrunkNumberFormat,
  TrunkNumberFrom,
} from '../../src/store/store.ts';
import type { TrunkRegistrationState, TrunkStatus } from '../../src/store/vocabulary.ts';
import type { BoardView } from '../../src/http/routes/board-schema.ts';
import type { JourneyEvent, JourneyRecording } from '../../src/http/routes/call-journey.ts';

// The API's vocabulary and shapes are the server's own types (src/store, the board's zod
// schema), not retyped here.
export type { AgentState, BoardView, CompanySettings, Department, JourneyEvent, Role };

/** A number as the API shows it: its department by code. */
export interface NumberRoute {
  number: string;
  kind: NumberKind;
  companyId: number | null;
  department: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json: unknown =
    text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`);
  }
  return json as T;
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);

/** Who is signed in (`GET /api/v1/session`). */
export interface Me {
  kind: 'user' | 'token' | 'admin-token';
  name: string;
  role: Role;
  companyIds: number[];
}

/** The signed-in user, or null when there is no (valid) session cookie. */
export async function whoAmI(): Promise<Me | null> {
  try {
    return await get<Me>('/api/v1/session');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

export const signIn = (username: string, password: string): Promise<Me> =>
  request<Me>('POST', '/api/v1/session', { username, password });

export const signOut = (): Promise<void> => request<void>('DELETE', '/api/v1/session');

/** Downloads a file behind the session (the CSV export). */
export async function download(path: string, filename: string): Promise<void> {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (!res.ok) throw new ApiError(res.status, 'http_error', `HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// --- types of the API's answers (see /api/v1/openapi.json) ----------------

export interface Agent {
  login: string;
  name: string;
  companyId: number;
  shortNumber: string;
  state: AgentState;
  stateSince: string | null;
  contact: string;
  profileContact: string;
  departments: { department: string; priority: number }[];
  /** May listen to, whisper to and barge into colleagues' calls. */
  supervisor: boolean;
}

/** A SIP trunk as the API shows it: no password, only whether one is set. */
export interface Trunk {
  name: string;
  uri: string;
  username: string | null;
  realm: string | null;
  hasPassword: boolean;
  register: boolean;
  priority: number;
  inbound: string[];
  companies: number[];
  numberFrom: TrunkNumberFrom;
  numberFormat: TrunkNumberFormat;
  inbandDtmf: TrunkInbandDtmf;
  qualifySeconds: number;
  srtp: SrtpPolicy;
  registration: {
    state: TrunkRegistrationState;
    since: number;
    expiresS?: number;
    lastStatus?: number;
    lastReason?: string;
  };
  status: TrunkStatus;
}

export interface Company {
  id: number;
  name: string;
  settings: CompanySettings;
}

export interface Cdr {
  id: string;
  hotline: string | null;
  callerId: string | null;
  startedAt: string | null;
  answeredAt: string | null;
  endedAt: string | null;
  agentLogins: string[];
  transfers: number;
  outcome: CallOutcome | null;
  talkSeconds: number;
  queueSeconds: number | null;
  /** Code of the department the call entered, and of every one it was queued in, in order. */
  department: string | null;
  departments: string[];
  agentTalk: { agent: string; talkSeconds: number }[];
}

/** `GET /api/v1/calls/{id}`: the CDR and its events in order. */
export interface CallJourney extends Cdr {
  events: JourneyEvent[];
  /** Its recordings; `url` serves the WAV to the signed-in console (its cookie, range requests). */
  recordings: JourneyRecording[];
}

export interface Summary {
  from: string;
  to: string;
  calls: number;
  answered: number;
  abandoned: number;
  overflow: number;
  noAgents: number;
  serviceLevel: number | null;
  serviceLevelSeconds: number;
  averageSpeedOfAnswer: number | null;
  averageHandleTime: number | null;
  abandonRate: number | null;
  agents: {
    login: string;
    answered: number;
    talkSeconds: number;
    loggedInSeconds: number;
    occupancy: number | null;
  }[];
  hours: { hour: string; calls: number; answered: number; abandoned: number; serviceLevel: number | null }[];
}

export interface AgentEvent {
  login: string | null;
  companyId: number;
  from: AgentState;
  to: AgentState;
  reason: string;
  at: string;
}
