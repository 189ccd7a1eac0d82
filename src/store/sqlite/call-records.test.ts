import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '../test-helpers.ts';
import { openSqliteStore } from './open.ts';

describe('SQLite call records', () => {
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
