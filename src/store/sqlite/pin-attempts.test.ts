import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { LOCKOUT_POLICY } from '../lockout.ts';
import { fromFileAt001 } from './testing.ts';

// The lockout's behaviour is in ../store.contract.test.ts; this is SQLite's migration of old files.
const T0 = Date.UTC(2024, 0, 1, 9, 0);
const LOCK = LOCKOUT_POLICY.lockMs;

describe('migration 003-pin-attempts', () => {
  it('keeps failures recorded before it as evaluated wrong PINs', async () => {
    await fromFileAt001(
      async (db) => {
        await sql`insert into login_failures (login, at) values ('1001', ${T0}), ('1001', ${T0 + 1})`.execute(
          db,
        );
      },
      async (store) => {
        expect(store.appliedMigrations).toContain('003-pin-attempts');
        expect(await store.auth.listLoginFailures('1001', 0)).toEqual([T0, T0 + 1]);
        for (let i = 0; i < 3; i++)
          await store.directory.attemptPin({ login: '1001', pin: '0000', at: T0 + 2 + i, callerId: null });
        expect(await store.directory.pinLockedUntil('1001', '+79001', T0 + 10)).toBe(T0 + 4 + LOCK);
      },
    );
  });
});
