import { z } from 'zod';
import type { Cdr, QueueEvent, Recording } from '../../store/store.ts';

/**
 * A call's journey (issue 14 item 1) told from its queue log in the words a supervisor uses:
 * department codes and agent logins, never database ids.
 */
export const JOURNEY_KINDS = [
  'entered',
  'position_announced',
  'offered',
  'no_answer',
  'rejected',
  'not_accepted',
  'answered',
  'hold',
  'transfer',
  'announce',
  'requeued',
  'overflow',
  'abandoned',
  'hangup',
  'ended_by_supervisor',
  'agent_removed',
  'monitor_started',
  'monitor_mode',
  'monitor_stopped',
  'ended',
  'recording_started',
  'recording_stopped',
] as const;

export const journeyEventSchema = z
  .object({
    at: z.string().describe('ISO time'),
    kind: z.enum(JOURNEY_KINDS),
    department: z.string().optional().describe('Code of the department the call was in'),
    agent: z.string().optional().describe('Login of the agent concerned'),
    detail: z
      .string()
      .optional()
      .describe(
        'entered/requeued: nothing; position_announced: the position; recording_started/recording_stopped: the recording id; no_answer/rejected: the ringing outcome; answered: seconds waited; transfer/announce: the outcome; overflow: why; abandoned: seconds waited; hangup: `agent` or `customer`; ended_by_supervisor: who ended the call; agent_removed: who took the agent out of it (forced state); ended: the call outcome',
      ),
    mode: z
      .string()
      .optional()
      .describe(
        'transfer/announce: the mode (`blind`, `consult`, …); monitor_started/monitor_mode: `listen`, `whisper` or `barge`',
      ),
    supervisor: z
      .string()
      .optional()
      .describe('monitor_*: login of the supervisor hearing the call (`agent` is the agent heard)'),
    target: z.string().optional().describe('transfer: department code or number; announce: the number'),
    type: z
      .string()
      .optional()
      .describe('transfer: `department` or `external` (a number, or a colleague by short number)'),
    choice: z
      .enum(['1', '2', '*'])
      .optional()
      .describe("announce: the customer's key (1 connect, 2 back to the agent, * leave)"),
  })
  .meta({ id: 'JourneyEvent' });

export type JourneyEvent = z.output<typeof journeyEventSchema>;

export interface Names {
  department(id: number | null): string | undefined;
  agent(id: number | null): string | undefined;
}

const REJECTED = new Set(['busy', 'declined']);

/** What the customer's key was, from the announce's recorded outcome. */
const CHOICE_OF: Record<string, '1' | '2' | '*'> = { customer_left: '*', back: '2' };

/** The transfer's recorded detail (`{type, to, mode, outcome}` JSON), or nothing readable. */
function transferDetail(detail: string | null): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(detail ?? '');
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const text = (v: unknown): string | undefined =>
  typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;

function kindOf(e: QueueEvent, t: Record<string, unknown>): JourneyEvent['kind'] {
  switch (e.kind) {
    case 'enter':
      return e.detail === 'head' ? 'requeued' : 'entered';
    case 'position':
      return 'position_announced';
    case 'offer':
      return 'offered';
    case 'no_answer':
      if (e.detail === 'not_accepted') return 'not_accepted';
      return REJECTED.has(e.detail ?? '') ? 'rejected' : 'no_answer';
    case 'connect':
      return 'answered';
    case 'hold':
      return 'hold';
    case 'transfer':
      return t.type === 'announce' ? 'announce' : 'transfer';
    case 'overflow':
      return 'overflow';
    case 'abandon':
      return 'abandoned';
    case 'complete_agent':
    case 'complete_customer':
      return 'hangup';
    case 'supervisor_end':
      return 'ended_by_supervisor';
    case 'supervisor_agent':
      return 'agent_removed';
    case 'monitor_started':
    case 'monitor_mode':
    case 'monitor_stopped':
      return e.kind;
  }
}

function journeyEvent(e: QueueEvent, names: Names): JourneyEvent {
  const t = e.kind === 'transfer' || e.kind.startsWith('monitor_') ? transferDetail(e.detail) : {};
  const kind = kindOf(e, t);
  const out: JourneyEvent = { at: new Date(e.at).toISOString(), kind };
  const department = names.department(e.departmentId);
  if (department !== undefined) out.department = department;
  const agent = names.agent(e.agentId);
  if (agent !== undefined) out.agent = agent;
  let detail: string | undefined = e.detail ?? undefined;
  if (e.kind === 'enter') detail = undefined;
  else if (e.kind === 'complete_agent' || e.kind === 'complete_customer')
    detail = e.kind === 'complete_agent' ? 'agent' : 'customer';
  else if (e.kind === 'transfer') {
    detail = text(t.outcome);
    const mode = text(t.mode);
    const target = text(t.to);
    if (mode !== undefined) out.mode = mode;
    if (target !== undefined) out.target = target;
    if (kind === 'announce') out.choice = CHOICE_OF[detail ?? ''] ?? '1';
    else if (text(t.type) !== undefined) out.type = text(t.type);
  } else if (e.kind.startsWith('monitor_')) {
    detail = text(t.end);
    const mode = text(t.mode);
    const supervisor = text(t.supervisor);
    if (mode !== undefined) out.mode = mode;
    if (supervisor !== undefined) out.supervisor = supervisor;
  }
  if (detail !== undefined) out.detail = detail;
  return out;
}

/** The ordered events of a call: its queue log, then its end from the CDR. */
export function journeyOf(cdr: Cdr, events: readonly QueueEvent[], names: Names): JourneyEvent[] {
  const out = events.map((e) => journeyEvent(e, names));
  if (cdr.endedAt !== null) {
    const ended: JourneyEvent = { at: new Date(cdr.endedAt).toISOString(), kind: 'ended' };
    const department = names.department(cdr.departmentId);
    if (department !== undefined) ended.department = department;
    if (cdr.outcome !== null) ended.detail = cdr.outcome;
    out.push(ended);
  }
  return out;
}

/** A call's recording as the journey lists it; `url` serves the WAV (range requests). */
export const journeyRecordingSchema = z
  .object({
    id: z.number().int(),
    startedAt: z.string().describe('ISO time'),
    endedAt: z.string().nullable().describe('ISO time; null while it records'),
    durationMs: z.number().int().nullable(),
    bytes: z.number().int().nullable(),
    url: z.string().describe('GET it (with the same credentials) for the WAV: stereo G.711, customer left'),
  })
  .meta({ id: 'CallRecording' });

export type JourneyRecording = z.output<typeof journeyRecordingSchema>;

export function journeyRecording(r: Recording): JourneyRecording {
  return {
    id: r.id,
    startedAt: new Date(r.startedAt).toISOString(),
    endedAt: r.endedAt === null ? null : new Date(r.endedAt).toISOString(),
    durationMs: r.durationMs,
    bytes: r.bytes,
    url: `/api/v1/calls/${encodeURIComponent(r.callId)}/recordings/${r.id}`,
  };
}

/** The journey's events with each recording's start and stop put in time order (the end stays last). */
export function withRecordingEvents(
  events: JourneyEvent[],
  recordings: readonly Recording[],
): JourneyEvent[] {
  const marks: JourneyEvent[] = [];
  for (const r of recordings) {
    marks.push({ at: new Date(r.startedAt).toISOString(), kind: 'recording_started', detail: String(r.id) });
    if (r.endedAt !== null)
      marks.push({ at: new Date(r.endedAt).toISOString(), kind: 'recording_stopped', detail: String(r.id) });
  }
  if (marks.length === 0) return events;
  const rank = (e: JourneyEvent): number => (e.kind === 'ended' ? 1 : 0);
  return [...events, ...marks].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : rank(a) - rank(b)));
}
