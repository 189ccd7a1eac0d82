import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { QueueEventKind } from '../../src/store/store.ts';
import { anonymous, call, startServer } from './helpers.ts';

const HOUR = 3600_000;

interface Page {
  calls: {
    id: string;
    outcome: string;
    agentLogins: string[];
    queueSeconds: number | null;
    startedAt: string;
  }[];
  page: number;
  pageSize: number;
  total: number;
  nextCursor: string | null;
}

describe('CDR search, CSV and report API', () => {
  let server: Server;
  const base = Date.UTC(2026, 0, 15, 9, 0, 0);
  beforeAll(async () => {
    server = await startServer();
    const a1 = (await server.store.directory.getAgentByLogin('1001'))?.id ?? 0;
    // 12 calls 10 minutes apart from 09:00: even ones answered by 1001 after 10 s, odd ones abandoned.
    for (let i = 0; i < 12; i++) {
      const startedAt = base + i * 10 * 60_000;
      const answered = i % 2 === 0;
      await server.store.calls.insertCdr({
        id: `cdr-${String(i).padStart(2, '0')}`,
        startedAt,
        companyId: 1,
        hotline: '+74950000001',
        callerId: i === 3 ? '+7900,"quoted"' : i === 5 ? '=SUM(1+1)*2' : `+7999000000${i % 10}`,
        departmentId: i < 6 ? 1 : 2,
        departmentIds: [i < 6 ? 1 : 2],
        queuedAt: startedAt + 1000,
        answeredAt: answered ? startedAt + 11_000 : null,
        endedAt: startedAt + 60_000,
        agentIds: answered ? [a1] : [],
        outcome: answered ? 'answered' : 'abandoned',
        talkSeconds: answered ? 49 : 0,
      });
    }
  });
  afterAll(async () => {
    await server.stop();
  });
  const range = `from=${new Date(base).toISOString()}&to=${new Date(base + 3 * HOUR).toISOString()}`;

  it('401 without a token', async () => {
    expect((await anonymous(server, 'GET', `/api/v1/calls?${range}`)).status).toBe(401);
    expect((await anonymous(server, 'GET', `/api/v1/calls.csv?${range}`)).status).toBe(401);
    expect((await anonymous(server, 'GET', '/api/v1/reports/summary')).status).toBe(401);
  });

  it('pages newest first, with the total', async () => {
    const p1 = await call<Page>(server, 'GET', `/api/v1/calls?${range}&page=1&pageSize=5`);
    expect(p1.status).toBe(200);
    expect(p1.body).toMatchObject({ page: 1, pageSize: 5, total: 12 });
    expect(p1.body.calls.map((c) => c.id)).toEqual(['cdr-11', 'cdr-10', 'cdr-09', 'cdr-08', 'cdr-07']);
    const p3 = await call<Page>(server, 'GET', `/api/v1/calls?${range}&page=3&pageSize=5`);
    expect(p3.body.calls.map((c) => c.id)).toEqual(['cdr-01', 'cdr-00']);
    expect((await call<Page>(server, 'GET', `/api/v1/calls?${range}&page=9&pageSize=5`)).body.calls).toEqual(
      [],
    );
  });

  it('pages by cursor: every row once, newest first, the same as by page; a bad cursor is a 400', async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `${range}&outcome=answered&pageSize=4${cursor ? `&cursor=${cursor}` : ''}`;
      const p = await call<Page>(server, 'GET', `/api/v1/calls?${q}`);
      expect(p.body.total).toBe(6);
      ids.push(...p.body.calls.map((c) => c.id));
      cursor = p.body.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(2);
    expect(ids).toEqual(['cdr-10', 'cdr-08', 'cdr-06', 'cdr-04', 'cdr-02', 'cdr-00']);
    const p2 = await call<Page>(server, 'GET', `/api/v1/calls?${range}&outcome=answered&page=2&pageSize=4`);
    expect(p2.body.calls.map((c) => c.id)).toEqual(ids.slice(4));
    expect(p2.body.nextCursor).toBeNull();
    for (const bad of ['x', Buffer.from('[1]').toString('base64url')])
      expect((await call(server, 'GET', `/api/v1/calls?${range}&cursor=${bad}`)).status).toBe(400);
  });

  it('filters by outcome, department and agent; shows agent logins and queue time', async () => {
    const answered = await call<Page>(server, 'GET', `/api/v1/calls?${range}&outcome=answered`);
    expect(answered.body.total).toBe(6);
    expect(answered.body.calls[0]).toMatchObject({ agentLogins: ['1001'], queueSeconds: 10 });
    expect((await call<Page>(server, 'GET', `/api/v1/calls?${range}&department=102`)).body.total).toBe(6);
    // Database ids stay inside: no departmentId nor agentIds in an entry, and no such filter.
    expect(Object.keys(answered.body.calls[0]!)).not.toEqual(expect.arrayContaining(['departmentId']));
    expect(Object.keys(answered.body.calls[0]!)).not.toEqual(expect.arrayContaining(['agentIds']));
    const old = await call(server, 'GET', `/api/v1/calls?${range}&departmentId=2`);
    expect(old.status).toBe(400);
    expect((await call<Page>(server, 'GET', `/api/v1/calls?${range}&agent=1001`)).body.total).toBe(6);
    expect((await call<Page>(server, 'GET', `/api/v1/calls?${range}&agent=1002`)).body.total).toBe(0);
  });

  it('entries carry the entry department and the departments on the way; the list filters by any of them', async () => {
    await server.store.calls.insertCdr({
      id: 'cdr-via',
      startedAt: base + 5 * 60_000,
      companyId: 1,
      departmentId: 2,
      departmentIds: [1, 2],
      endedAt: base + 6 * 60_000,
      outcome: 'transferred',
    });
    // 102 only on the way: entered and ended in 101.
    await server.store.calls.insertCdr({
      id: 'cdr-back',
      startedAt: base + 5 * 60_000 + 1,
      companyId: 1,
      departmentId: 1,
      departmentIds: [1, 2, 1],
      endedAt: base + 6 * 60_000,
      outcome: 'transferred',
    });
    try {
      // Company 1's transferred calls: the fixture's calls entered 101 or 102 too.
      const only = `${range}&companyId=1&outcome=transferred`;
      const of = async (q: string) =>
        (await call<Page>(server, 'GET', `/api/v1/calls?${only}&${q}`)).body.calls.map((c) => c.id);
      const via = (await call<Page>(server, 'GET', `/api/v1/calls?${only}&department=101`)).body.calls;
      expect(via.map((c) => c.id)).toEqual(['cdr-back', 'cdr-via']);
      expect(via[1]).toMatchObject({ department: '101', departments: ['101', '102'] });
      expect(via[0]).toMatchObject({ department: '101', departments: ['101', '102', '101'] });
      expect(await of('department=102')).toEqual(['cdr-back', 'cdr-via']);
      expect(await of('department=999')).toEqual([]);
      expect((await call(server, 'GET', `/api/v1/calls?${range}&department=1x`)).status).toBe(400);
    } finally {
      // Out of the other tests' way (the CSV export counts department 1's calls in the range).
      for (const id of ['cdr-via', 'cdr-back'])
        await server.store.calls.updateCdr(id, { companyId: 99, departmentId: 2 });
    }
  });

  it("GET /calls/{id}: the CDR, its departments and its events in people's identifiers; 404 for unknown", async () => {
    const calls = server.store.calls;
    const a1 = (await server.store.directory.getAgentByLogin('1001'))!.id;
    const a2 = (await server.store.directory.getAgentByLogin('1002'))!.id;
    const d101 = (await server.store.directory.getDepartmentByCode(1, '101'))!.id;
    const d102 = (await server.store.directory.getDepartmentByCode(1, '102'))!.id;
    const t = base + 7 * 60_000;
    await calls.insertCdr({
      id: 'cdr-journey',
      startedAt: t,
      companyId: 99,
      departmentId: d102,
      departmentIds: [d101, d102],
      answeredAt: t + 5000,
      endedAt: t + 60_000,
      agentIds: [a2],
      agentTalk: [{ agentId: a2, talkSeconds: 20 }],
      outcome: 'transferred',
      transfers: 1,
    });
    const ev = (at: number, kind: QueueEventKind, departmentId: number, agentId?: number, detail?: string) =>
      calls.insertQueueEvent({
        callId: 'cdr-journey',
        companyId: 99,
        departmentId,
        at: t + at,
        kind,
        agentId,
        detail,
      });
    await ev(1, 'enter', d101);
    await ev(2, 'position', d101, undefined, '1');
    await ev(3, 'offer', d101, a1);
    await ev(4, 'no_answer', d101, a1, 'no_answer');
    await ev(5, 'offer', d101, a2);
    await ev(6, 'connect', d101, a2, '5');
    await ev(7, 'hold', d101, a2);
    await ev(8, 'transfer', d101, a2, JSON.stringify({ type: 'department', to: '102', outcome: 'queued' }));
    await ev(9, 'enter', d102);
    await ev(10, 'abandon', d102, undefined, '3');
    const res = await call<{
      departments: string[];
      department: string;
      agentTalk: unknown[];
      events: { at: string; kind: string; department?: string; agent?: string; detail?: string }[];
    }>(server, 'GET', '/api/v1/calls/cdr-journey');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: 'cdr-journey',
      department: '101',
      departments: ['101', '102'],
      agentLogins: ['1002'],
      agentTalk: [{ agent: '1002', talkSeconds: 20 }],
      outcome: 'transferred',
    });
    expect(res.body.events.map((e) => [e.kind, e.department, e.agent, e.detail])).toEqual([
      ['entered', '101', undefined, undefined],
      ['position_announced', '101', undefined, '1'],
      ['offered', '101', '1001', undefined],
      ['no_answer', '101', '1001', 'no_answer'],
      ['offered', '101', '1002', undefined],
      ['answered', '101', '1002', '5'],
      ['hold', '101', '1002', undefined],
      ['transfer', '101', '1002', 'queued'],
      ['entered', '102', undefined, undefined],
      ['abandoned', '102', undefined, '3'],
      ['ended', '102', undefined, 'transferred'],
    ]);
    expect(res.body.events[7]).toMatchObject({ type: 'department', target: '102' });
    expect(res.body.events[0]?.at).toBe(new Date(t + 1).toISOString());
    expect((await call(server, 'GET', '/api/v1/calls/no-such-call')).status).toBe(404);
  });

  it('400 for a bad time, an empty range, a bad page or outcome', async () => {
    const bad = await call(server, 'GET', '/api/v1/calls?from=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe('invalid_time');
    expect((await call(server, 'GET', `/api/v1/calls?from=${base}&to=${base}`)).body.error?.code).toBe(
      'invalid_range',
    );
    expect((await call(server, 'GET', `/api/v1/calls?${range}&page=0`)).status).toBe(400);
    expect((await call(server, 'GET', `/api/v1/calls?${range}&pageSize=5000`)).status).toBe(400);
    expect((await call(server, 'GET', `/api/v1/calls?${range}&outcome=lost`)).status).toBe(400);
  });

  it('exports the same search as CSV, quoting what needs it', async () => {
    const res = await fetch(
      `http://127.0.0.1:${server.httpPort}/api/v1/calls.csv?${range}&companyId=1&department=101`,
      {
        headers: { authorization: 'Bearer test-token-123' },
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/calls\.csv/);
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toBe(
      'id,startedAt,companyId,hotline,callerId,outcome,queueSeconds,talkSeconds,transfers,agentLogins,answeredAt,endedAt,department,departments',
    );
    expect(lines).toHaveLength(7);
    expect(lines.find((l) => l.startsWith('cdr-03'))).toContain(`"'+7900,""quoted"""`);
    // Formula injection: a cell a spreadsheet would evaluate starts with ' instead.
    expect(lines.find((l) => l.startsWith('cdr-05'))?.split(',')[4]).toBe("'=SUM(1+1)*2");
    expect(lines.find((l) => l.startsWith('cdr-04'))?.split(',')[3]).toBe("'+74950000001");
    expect(lines.find((l) => l.startsWith('cdr-04'))).toContain(',answered,10,49,0,1001,');
  });

  it('streams an export longer than one store page: every row once, newest first, filters applied', async () => {
    // 1,300 more rows the day before (more than two 500-row pages), a third of them company 2.
    const day = base - 24 * HOUR;
    for (let i = 0; i < 1300; i++)
      await server.store.calls.insertCdr({
        id: `bulk-${String(i).padStart(4, '0')}`,
        startedAt: day + Math.floor(i / 2) * 1000, // pairs share a start time: ties across pages
        companyId: i % 3 === 0 ? 2 : 1,
        outcome: 'abandoned',
      });
    const range = `from=${new Date(day).toISOString()}&to=${new Date(day + HOUR).toISOString()}`;
    const get = async (q: string): Promise<string[]> => {
      const res = await fetch(`http://127.0.0.1:${server.httpPort}/api/v1/calls.csv?${range}${q}`, {
        headers: { authorization: 'Bearer test-token-123' },
      });
      expect(res.status).toBe(200);
      return (await res.text())
        .trim()
        .split('\r\n')
        .slice(1)
        .map((l) => l.split(',')[0]!);
    };
    const ids = await get('');
    const expected = Array.from({ length: 1300 }, (_, i) => `bulk-${String(i).padStart(4, '0')}`).reverse();
    expect(ids).toEqual(expected);
    expect(await get('&companyId=2')).toEqual(expected.filter((id) => Number(id.slice(5)) % 3 === 0));
  });

  it('summary: service level, rates and calls by hour', async () => {
    const r = await call<{
      calls: number;
      serviceLevel: number;
      abandonRate: number;
      hours: { hour: string; calls: number; answered: number; serviceLevel: number | null }[];
    }>(server, 'GET', `/api/v1/reports/summary?${range}&companyId=1`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ calls: 12, serviceLevel: 0.5, abandonRate: 0.5 });
    expect(r.body.hours.map((h) => h.calls)).toEqual([6, 6, 0]);
    expect(r.body.hours[0]).toMatchObject({
      hour: new Date(base).toISOString(),
      answered: 3,
      serviceLevel: 0.5,
    });
    expect(r.body.hours[2]?.serviceLevel).toBeNull();
    expect((await call(server, 'GET', '/api/v1/reports/summary?to=0')).status).toBe(400);
  });

  it('400, not 500, for times and numbers beyond what a Date or an id can hold', async () => {
    for (const q of [
      'to=99999999999999999999999',
      'from=99999999999999999999999',
      'to=8640000000000001',
      `from=${'9'.repeat(400)}`,
      'to=%2B275760-09-13T00:00:00.001Z',
      'companyId=99999999999999999999999',
    ]) {
      for (const path of ['/api/v1/reports/summary', '/api/v1/calls', '/api/v1/calls.csv']) {
        const r = await call(server, 'GET', `${path}?${q}`);
        expect(r.status, `${path}?${q}`).toBe(400);
      }
    }
    for (const q of ['page=99999999999999999999999', 'pageSize=1e400', 'limit=-1', 'departmentId=1.5'])
      expect((await call(server, 'GET', `/api/v1/calls?${q}`)).status, q).toBe(400);
    for (const path of [
      '/api/v1/events?heartbeatMs=1e999',
      '/api/v1/agents?companyId=1e30',
      '/api/v1/calls/live?companyId=99999999999999999999999',
      '/api/v1/queues?companyId=-1',
      '/api/v1/companies/99999999999999999999999',
    ])
      expect((await call(server, 'GET', path)).status, path).toBe(400);
  });

  it('live calls and queues answer (empty with no calls)', async () => {
    expect((await call(server, 'GET', '/api/v1/calls/live')).body).toEqual({ calls: [] });
    const q = await call<{ queues: { code: string; waiting: number }[] }>(
      server,
      'GET',
      '/api/v1/queues?companyId=1',
    );
    expect(q.body.queues.map((x) => [x.code, x.waiting])).toEqual([
      ['101', 0],
      ['102', 0],
    ]);
  });
});
