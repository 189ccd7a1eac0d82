import { Readable } from 'node:stream';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { HOUR_MS, SERVICE_LEVEL_SECONDS, byHour, summaryOf } from '../../acd/reports.ts';
import type { Cdr, CdrCursor, CdrFilter, Department } from '../../store/store.ts';
import { type Api, companyIdQuery } from '../api.ts';
import { HttpError } from '../errors.ts';
import { liveCallFields, liveQueue } from './board.ts';
import type { Scope } from '../scope.ts';
import { callOutcomeSchema, departmentCodeSchema } from '../../store/validation.ts';
import {
  journeyEventSchema,
  journeyOf,
  journeyRecording,
  journeyRecordingSchema,
  withRecordingEvents,
} from './call-journey.ts';
import { found } from './found.ts';

/** ISO time or epoch ms. */
const time = z.string().describe('ISO time or epoch milliseconds');

const rangeQuery = z.object({
  from: time
    .optional()
    .describe('Start of the period: ISO time or epoch milliseconds (default: 24 hours ago)'),
  to: time.optional().describe('End of the period, exclusive: ISO time or epoch milliseconds (default: now)'),
  companyId: companyIdQuery,
});

/**
 * The call search (list and CSV). Strict: a parameter it does not know (`departmentId` of old,
 * now `department`) is a 400, not silently ignored.
 */
const cdrQuery = rangeQuery
  .extend({
    department: departmentCodeSchema
      .optional()
      .describe('Code of a department the call was queued in: where it entered, ended or any on the way'),
    outcome: callOutcomeSchema.optional().describe('How the call ended'),
    agent: z
      .string()
      .regex(/^[0-9]{1,12}$/)
      .optional()
      .describe('Login of an agent who talked to the customer'),
    page: z.coerce.number().int().min(1).max(100_000).optional().describe('Page number from 1 (default 1)'),
    pageSize: z.coerce.number().int().min(1).max(1000).optional().describe('Rows per page (default 50)'),
    cursor: z
      .string()
      .max(200)
      .optional()
      .describe(
        "Keyset paging: the previous answer's `nextCursor`; the rows after it (page is then ignored). Each page costs the same however deep it is, and calls started meanwhile (newer) never shift it.",
      ),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe('Older form of paging: the first `limit` rows, newest first (default 1000)'),
  })
  .strict()
  .meta({ id: 'CdrQuery' });

/**
 * Rows per store query of the CSV export. With better-sqlite3 a query blocks the event loop
 * while it runs; with 500-row pages a 9001 echo call during a 200,000-row export never waited
 * more than ~55 ms for a packet (bench/export-stall.ts), against ~1 s with the whole result
 * read at once.
 */
const CSV_PAGE_ROWS = 500;

/** The largest time a JavaScript Date can hold (ECMA-262 21.4.1.1). */
const MAX_TIME_MS = 8.64e15;

/** Epoch ms from ISO or digits. */
function parseTime(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  // Beyond 8.64e15 ms a Date is invalid (toISOString throws): a 400, not a 500.
  if (!Number.isFinite(n) || Math.abs(n) > MAX_TIME_MS)
    throw new HttpError(400, 'invalid_time', `${name} must be an ISO time or epoch milliseconds`);
  return n;
}

function parseRange(q: { from?: string; to?: string }, now: number): { from: number; to: number } {
  const from = parseTime(q.from, 'from', now - 24 * 3600_000);
  const to = parseTime(q.to, 'to', now + 1);
  if (to <= from) throw new HttpError(400, 'invalid_range', 'to must be after from');
  return { from, to };
}

/** `nextCursor`: where a page ended, opaque to the client. */
const encodeCursor = (c: CdrCursor): string =>
  Buffer.from(JSON.stringify([c.startedAt, c.id])).toString('base64url');

function decodeCursor(cursor: string): CdrCursor {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string')
      return { startedAt: v[0] as number, id: v[1] };
  } catch {
    // not JSON: the 400 below
  }
  throw new HttpError(400, 'invalid_query', 'invalid query: cursor is not one this API gave');
}

const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

export const cdrSchema = z
  .object({
    id: z.string(),
    companyId: z.number().int().nullable(),
    hotline: z.string().nullable(),
    callerId: z.string().nullable(),
    startedAt: z.string().nullable(),
    queuedAt: z.string().nullable(),
    answeredAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    agentLogins: z.array(z.string()).describe('Logins of the agents who took the call, in order'),
    transfers: z.number().int(),
    outcome: callOutcomeSchema.nullable(),
    talkSeconds: z.number(),
    queueSeconds: z.number().nullable(),
    department: z.string().nullable().describe('Code of the department the call entered'),
    departments: z.array(z.string()).describe('Codes of the departments the call was queued in, in order'),
    agentTalk: z
      .array(z.object({ agent: z.string(), talkSeconds: z.number() }))
      .describe("Each agent's own time with the customer (an outside number's is nobody's)"),
  })
  .meta({ id: 'Cdr' });

type CdrView = z.output<typeof cdrSchema>;

/** Who's who in a view: agent logins and department codes by database id. */
interface Directory {
  loginOf: ReadonlyMap<number, string>;
  codeOf: ReadonlyMap<number, string>;
}

function cdrView(c: Cdr, { loginOf, codeOf }: Directory): CdrView {
  const code = (id: number) => codeOf.get(id) ?? String(id);
  // Database ids stay inside (issue 14 item 2): departments by code, agents by login.
  const { agentTalk, departmentIds, departmentId, agentIds, ...rest } = c;
  const entry = departmentIds[0] ?? departmentId;
  return {
    ...rest,
    department: entry === null ? null : code(entry),
    departments: departmentIds.map(code),
    agentTalk: agentTalk.map((t) => ({
      agent: loginOf.get(t.agentId) ?? String(t.agentId),
      talkSeconds: t.talkSeconds,
    })),
    startedAt: iso(c.startedAt),
    queuedAt: iso(c.queuedAt),
    answeredAt: iso(c.answeredAt),
    endedAt: iso(c.endedAt),
    agentLogins: agentIds.map((id) => loginOf.get(id) ?? String(id)),
    queueSeconds:
      c.queuedAt !== null
        ? Math.round(((c.answeredAt ?? c.endedAt ?? c.queuedAt) - c.queuedAt) / 1000)
        : null,
  };
}

const CSV_COLUMNS = [
  'id',
  'startedAt',
  'companyId',
  'hotline',
  'callerId',
  'outcome',
  'queueSeconds',
  'talkSeconds',
  'transfers',
  'agentLogins',
  'answeredAt',
  'endedAt',
  'department',
  'departments',
] as const;

/**
 * One CSV cell. Text that starts with `=`, `+`, `-`, `@` (or a tab or CR) is a formula to a
 * spreadsheet (a caller id `=HYPERLINK(...)` would run in whoever opens the export), so it is
 * prefixed with `'` (OWASP "CSV injection"). Numbers are ours and left as they are.
 */
export function csvCell(v: unknown): string {
  if (typeof v === 'number') return String(v);
  let s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v as string);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const summarySchema = z
  .object({
    from: z.string(),
    to: z.string(),
    calls: z.number(),
    answered: z.number(),
    abandoned: z.number(),
    overflow: z.number(),
    noAgents: z.number(),
    serviceLevel: z.number().nullable(),
    serviceLevelSeconds: z.number(),
    averageSpeedOfAnswer: z.number().nullable(),
    averageHandleTime: z.number().nullable(),
    abandonRate: z.number().nullable(),
    agents: z.array(
      z.object({
        login: z.string(),
        answered: z.number(),
        talkSeconds: z.number(),
        loggedInSeconds: z.number(),
        occupancy: z.number().nullable(),
      }),
    ),
    hours: z.array(
      z.object({
        hour: z.string(),
        calls: z.number(),
        answered: z.number(),
        abandoned: z.number(),
        serviceLevel: z.number().nullable(),
      }),
    ),
  })
  .meta({ id: 'Summary' });

/** A live call as the API shows it: the agent by login only. */
const withoutAgentId = <T extends { agentId: unknown }>({
  agentId: _agentId,
  ...rest
}: T): Omit<T, 'agentId'> => rest;

/** CDRs (search, paging, CSV), live calls, queues and the summary report. */
export function callRoutes(api: Api, deps: HttpDeps): void {
  const { store } = deps;
  const tag = 'calls';

  /** Supervisors and viewers see their companies' calls only (issue 11). */
  const read = { level: 'read', company: 'query' } as const;

  /** Agent logins and department codes (every company: a CDR's company is in scope already). */
  const directoryOf = async (): Promise<Directory & { departments: Department[] }> => {
    const agents = await store.directory.listAgents();
    const departments: Department[] = [];
    for (const company of await store.directory.listCompanies())
      departments.push(...(await store.directory.listDepartments(company.id)));
    return {
      loginOf: new Map(agents.map((a) => [a.id, a.login])),
      codeOf: new Map(departments.map((d) => [d.id, d.code])),
      departments,
    };
  };

  /** The store filter of a search: its period, scope, department, outcome and agent. */
  const filterOf = async (
    query: z.output<typeof cdrQuery>,
    scope: Scope,
  ): Promise<{ filter: CdrFilter; names: Directory }> => {
    const r = parseRange(query, deps.clock.wallNow());
    const names = await directoryOf();
    // An unknown login matches no call (ids are positive).
    const agentId =
      query.agent === undefined
        ? undefined
        : ([...names.loginOf].find(([, login]) => login === query.agent)?.[0] ?? -1);
    const filter: CdrFilter = {
      from: r.from,
      to: r.to,
      companyId: scope.only,
      companyIds: scope.companyIds,
      // A code is a company's own: the departments of that code in the companies in scope.
      viaDepartmentIds:
        query.department === undefined
          ? undefined
          : names.departments
              .filter((d) => d.code === query.department && scope.allows(d.companyId))
              .map((d) => d.id),
      outcome: query.outcome,
      agentId,
    };
    return { filter, names };
  };

  api.route({
    method: 'GET',
    url: '/api/v1/calls',
    tag,
    summary:
      'Call detail records, newest first, paged by page number or by cursor (`nextCursor` of the previous page)',
    access: read,
    query: cdrQuery,
    response: z.object({
      calls: z.array(cdrSchema),
      page: z.number(),
      pageSize: z.number(),
      total: z.number(),
      nextCursor: z.string().nullable().describe('`cursor` for the next page; null on the last'),
    }),
    handler: async ({ query, scope }) => {
      const { filter, names } = await filterOf(query, scope);
      const paged = query.page !== undefined || query.pageSize !== undefined || query.cursor !== undefined;
      const pageSize = paged ? (query.pageSize ?? 50) : (query.limit ?? 1000);
      const page = query.page ?? 1;
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      // One row past the page says whether there is a next one.
      const rows = await store.calls.listCdr({
        ...filter,
        after,
        offset: after ? 0 : (page - 1) * pageSize,
        limit: pageSize + 1,
      });
      const calls = rows.slice(0, pageSize);
      const last = calls[calls.length - 1];
      return {
        calls: calls.map((c) => cdrView(c, names)),
        page,
        pageSize,
        total: await store.calls.countCdr(filter),
        nextCursor: rows.length > pageSize && last ? encodeCursor(last) : null,
      };
    },
  });

  api.route({
    method: 'GET',
    url: '/api/v1/calls.csv',
    tag,
    summary: 'The same search as CSV (every matching row, newest first), streamed',
    access: read,
    query: cdrQuery,
    produces: 'text/csv',
    handler: async ({ query, reply, scope }) => {
      // Streamed (issue 12 item 6): rows come from the store a page at a time and go out as the
      // client takes them (Readable.from pulls the next page only when the socket drains), so a
      // 30-day export neither sits in memory nor holds the event loop the media clock runs on.
      const { filter, names } = await filterOf(query, scope);
      const pages = store.calls.pagesOfCdr(filter, CSV_PAGE_ROWS);
      async function* lines(): AsyncGenerator<string> {
        yield CSV_COLUMNS.join(',') + '\r\n';
        for await (const page of pages) {
          let chunk = '';
          for (const c of page) {
            const v = cdrView(c, names);
            chunk += CSV_COLUMNS.map((k) => csvCell(v[k])).join(',') + '\r\n';
          }
          if (chunk !== '') yield chunk;
        }
      }
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="calls.csv"');
      return Readable.from(lines());
    },
  });

  api.route({
    method: 'GET',
    url: '/api/v1/calls/:id',
    tag,
    summary:
      "A call's journey: its CDR, the departments it was queued in and its events in order (queue, offers, answer, hold, transfers, announce, end)",
    access: read,
    params: z.object({ id: z.string().min(1).max(100) }),
    query: z.object({ companyId: companyIdQuery }),
    response: cdrSchema
      .extend({ events: z.array(journeyEventSchema), recordings: z.array(journeyRecordingSchema) })
      .meta({ id: 'CallJourney' }),
    handler: async ({ params, scope }) => {
      // A call of a company out of scope is as unknown as one that never was.
      const cdr = await store.calls.getCdr(params.id);
      const mine = found(cdr && scope.allows(cdr.companyId) ? cdr : null, `no call ${params.id}`);
      const names = await directoryOf();
      const events = await store.calls.listQueueEvents(mine.id);
      const recordings = await store.recordings.listRecordings(mine.id);
      const journey = journeyOf(mine, events, {
        department: (id) => (id === null ? undefined : (names.codeOf.get(id) ?? String(id))),
        agent: (id) => (id === null ? undefined : (names.loginOf.get(id) ?? String(id))),
      });
      return {
        ...cdrView(mine, names),
        events: withRecordingEvents(journey, recordings),
        recordings: recordings.map(journeyRecording),
      };
    },
  });

  api.route({
    method: 'GET',
    url: '/api/v1/calls/live',
    tag,
    summary: 'Customer calls in progress',
    access: read,
    query: z.object({ companyId: companyIdQuery }),
    handler: async ({ scope }) => {
      const now = deps.clock.wallNow();
      const agents = new Map((await store.directory.listAgents()).map((a) => [a.id, a.login]));
      return {
        calls: deps.acd.liveCalls
          .filter((cc) => scope.allows(cc.companyId))
          .map((cc) => ({
            ...withoutAgentId(liveCallFields(cc, agents)),
            companyId: cc.companyId,
            waitingSeconds:
              cc.enteredAt !== undefined ? Math.round(((cc.answeredAt ?? now) - cc.enteredAt) / 1000) : 0,
            startedAt: iso(cc.startedAt),
          })),
      };
    },
  });

  api.route({
    method: 'GET',
    url: '/api/v1/queues',
    tag: 'queues',
    summary: 'Department queues: waiting calls, longest wait, ready and logged-in agents',
    access: read,
    query: z.object({ companyId: companyIdQuery }),
    handler: async ({ scope }) => {
      const now = deps.clock.wallNow();
      const out = [];
      for (const company of await store.directory.listCompanies()) {
        if (!scope.allows(company.id)) continue;
        for (const d of await store.directory.listDepartments(company.id)) {
          const { waiting, readyAgents: ready, loggedInAgents: loggedIn } = await liveQueue(deps, d.id);
          const longest = waiting.reduce((m, cc) => Math.max(m, now - (cc.enteredAt ?? now)), 0);
          out.push({
            companyId: company.id,
            code: d.code,
            name: d.name,
            strategy: d.strategy,
            waiting: waiting.length,
            longestWaitSeconds: Math.round(longest / 1000),
            readyAgents: ready,
            loggedInAgents: loggedIn,
          });
        }
      }
      return { queues: out };
    },
  });

  api.route({
    method: 'GET',
    url: '/api/v1/reports/summary',
    tag: 'reports',
    summary: `Service level (answered within ${SERVICE_LEVEL_SECONDS} s), ASA, AHT, abandon rate, occupancy, calls by hour`,
    access: read,
    query: rangeQuery,
    response: summarySchema,
    handler: async ({ query, scope }) => {
      const now = deps.clock.wallNow();
      const r = parseRange(query, now);
      // Summed in the database (GROUP BY), by the hour from the hour `from` falls in.
      const first = Math.floor(r.from / HOUR_MS) * HOUR_MS;
      const sums = await store.calls.aggregateCdr(
        { from: r.from, to: r.to, companyId: scope.only, companyIds: scope.companyIds },
        { origin: first, bucketMs: HOUR_MS, serviceLevelMs: SERVICE_LEVEL_SECONDS * 1000 },
      );
      const agents = (
        await store.directory.listAgents(scope.only !== undefined ? { companyId: scope.only } : undefined)
      ).filter((a) => scope.allows(a.companyId));
      const history = await store.agentStates.listStateHistory({ until: r.to });
      // Logged-in time (occupancy) counts up to now, not into the future of a period still running.
      const summary = summaryOf(
        sums,
        history,
        r.from,
        Math.max(r.from + 1, Math.min(r.to, now)),
        agents.map((a) => a.id),
      );
      const login = new Map(agents.map((a) => [a.id, a.login]));
      return {
        ...summary,
        from: iso(summary.from),
        to: iso(r.to),
        serviceLevelSeconds: SERVICE_LEVEL_SECONDS,
        agents: summary.agents.map(({ agentId, ...a }) => ({ login: login.get(agentId) ?? '', ...a })),
        hours: byHour(sums.buckets, first, Math.min(24 * 31, Math.ceil((r.to - first) / HOUR_MS))),
      };
    },
  });
}
