import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '../test-helpers.ts';
import { openSqliteStore, type SqliteStore } from './open.ts';

describe('SqliteCallRecordStore', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  it('inserts a CDR with defaults, updates it, lists newest first with filters', async () => {
    const calls = store.calls;
    const a = await calls.insertCdr({ id: 'call-a', startedAt: 1000, companyId: 1, hotline: '+74950000001' });
    expect(a).toMatchObject({ agentIds: [], transfers: 0, outcome: null, talkSeconds: 0, answeredAt: null });
    await calls.insertCdr({ id: 'call-b', startedAt: 2000, companyId: 2 });
    const u = await calls.updateCdr('call-a', {
      answeredAt: 1500,
      agentIds: [3, 4],
      outcome: 'answered',
      talkSeconds: 42.5,
    });
    expect(u).toMatchObject({
      id: 'call-a',
      hotline: '+74950000001',
      answeredAt: 1500,
      agentIds: [3, 4],
      outcome: 'answered',
      talkSeconds: 42.5,
    });
    expect((await calls.listCdr()).map((c) => c.id)).toEqual(['call-b', 'call-a']);
    expect((await calls.listCdr({ companyId: 1 })).map((c) => c.id)).toEqual(['call-a']);
    expect((await calls.listCdr({ from: 1500 })).map((c) => c.id)).toEqual(['call-b']);
    expect((await calls.listCdr({ to: 1500 })).map((c) => c.id)).toEqual(['call-a']);
    await expect(calls.updateCdr('nope', { outcome: 'failed' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(calls.insertCdr({ id: 'call-a', startedAt: 1 })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('records queue events in order', async () => {
    const calls = store.calls;
    await calls.insertQueueEvent({ callId: 'c', companyId: 1, departmentId: 2, at: 10, kind: 'enter' });
    await calls.insertQueueEvent({
      callId: 'c',
      companyId: 1,
      departmentId: 2,
      at: 20,
      kind: 'connect',
      agentId: 7,
    });
    await calls.insertQueueEvent({ callId: 'other', companyId: 1, departmentId: 2, at: 15, kind: 'enter' });
    const events = await calls.listQueueEvents('c');
    expect(events.map((e) => [e.kind, e.agentId, e.detail])).toEqual([
      ['enter', null, null],
      ['connect', 7, null],
    ]);
  });

  it('closes the CDRs a crashed run left open as interrupted when the store is reopened', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'agentline.db');
      const before = await openSqliteStore(file);
      await before.calls.insertCdr({ id: 'live', startedAt: 1000, companyId: 1, answeredAt: 2000 });
      await before.calls.insertCdr({ id: 'done', startedAt: 1000, endedAt: 3000, outcome: 'answered' });
      // The "crash": the process dies with the call live, so nobody ever closes its row. The
      // first connection is left open on purpose, as a killed process would leave the file.
      const after = await openSqliteStore(file);
      try {
        expect(await after.calls.closeInterruptedCdrs(9000)).toBe(1);
        expect(await after.calls.getCdr('live')).toMatchObject({ endedAt: 9000, outcome: 'interrupted' });
        expect(await after.calls.getCdr('done')).toMatchObject({ endedAt: 3000, outcome: 'answered' });
        // Nothing is left open: a second start closes nothing.
        expect(await after.calls.closeInterruptedCdrs(10_000)).toBe(0);
      } finally {
        await after.close();
        await before.close();
      }
    } finally {
      cleanup();
    }
  });
});
