/** The admin API, with the token kept in sessionStorage (gone when the tab closes). */

const TOKEN_KEY = 'agentline.token';

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
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
  const headers: Record<string, string> = { authorization: `Bearer ${getToken() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
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

/** Downloads a token-protected file (the CSV export). */
export async function download(path: string, filename: string): Promise<void> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${getToken() ?? ''}` } });
  if (!res.ok) throw new ApiError(res.status, 'http_error', `HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// --- types of the API's answers (see /api/v1/openapi.json) ----------------

export type AgentState =
  'logged_out' | 'ready' | 'offered' | 'busy' | 'wrap_up' | 'temporarily_not_ready' | 'not_ready';

export interface Agent {
  login: string;
  name: string;
  companyId: number;
  shortNumber: string;
  state: AgentState;
  stateSince: string | null;
  contact: string;
  profileContact: string;
  departments: { departmentId: number; priority: number }[];
}

export interface CompanySettings {
  externalTransfer: 'disabled' | 'release_immediately' | 'release_on_answer' | 'consult';
  announceNumber: 'disabled' | 'release_agent' | 'stay_until_connected';
  ringSeconds: number;
  wrapUpSeconds: number;
  breakMinutes: number;
  deliverTo: 'caller_id' | 'profile';
  language: 'ru' | 'en';
  allowedDestinations: string[];
  announceSeconds: number;
  minPinLength: number;
}

export interface Company {
  id: number;
  name: string;
  settings: CompanySettings;
}

export interface Department {
  id: number;
  companyId: number;
  code: string;
  name: string;
  strategy: 'longest_idle' | 'round_robin' | 'priority';
  maxWaitSeconds: number;
  maxQueueLength: number;
  overflow: { kind: 'department'; code: string } | { kind: 'hangup' } | null;
  greeting: string | null;
}

export interface NumberRoute {
  number: string;
  kind: 'service' | 'hotline';
  companyId: number | null;
  departmentId: number | null;
}

export interface Queue {
  companyId: number;
  departmentId: number;
  code: string;
  name: string;
  waiting: number;
  longestWaitSeconds: number;
  readyAgents: number;
  loggedInAgents: number;
}

export interface LiveCall {
  id: string;
  hotline: string;
  callerId: string;
  department: string;
  state: string;
  agentLogin: string | null;
  waitingSeconds: number;
  startedAt: string | null;
  answeredAt: string | null;
}

export interface Cdr {
  id: string;
  hotline: string | null;
  callerId: string | null;
  departmentId: number | null;
  startedAt: string | null;
  answeredAt: string | null;
  endedAt: string | null;
  agentLogins: string[];
  transfers: number;
  outcome: string | null;
  talkSeconds: number;
  queueSeconds: number | null;
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
    login?: string;
    agentId: number;
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
