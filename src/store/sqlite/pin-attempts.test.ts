import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrationProvider } from '../migrations/index.ts';
import { tempDir } from '../test-helpers.ts';
import { CALLER_LOCKOUT_POLICY, LOCKOUT_POLICY, normaliseCallerId } from '../lockout.ts';
import type { PinAttemptResult } from '../store.ts';
import { openSqliteStore, type SqliteStore } from './open.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 1, 9, 0);
const PIN = '7391';
const LOCK = LOCKOUT_POLICY.lockMs;

const count = (rs: PinAttemptResult[], result: PinAttemptResult['result']): number =>
  rs.filter((r) => r.result === result).length;

describe('attemptPin: the PIN lockout as one atomic step (SPEC §4, issue 11)', () => {
  let store: SqliteStore;
  /** The login's counted attempts (wrong or still being checked). */
  const rows = (login: string): Promise<number[]> => store.auth.listLoginFailures(login, 0);

  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
    const c = await store.directory.createCompany({ name: 'Acme' });
    for (const [login, short] of [
      ['1001', '201'],
      ['1002', '202'],
    ] as const) {
      await store.directory.createAgent({
        companyId: c.id,
        login,
        name: `Agent ${login}`,
        shortNumber: short,
        contact: `+7900000${login}`,
        pin: PIN,
      });
    }
  });
  afterEach(async () => {
    await store.close();
  });

  const attempt = (pin: string, at: number, callerId: string | null, login = '1001') =>
    store.directory.attemptPin({ login, pin, at, callerId });

  describe('many attempts at once', () => {
    it('150 wrong PINs started before any resolves: 5 are evaluated, 145 refused as locked', async () => {
      const results = await Promise.all(
        Array.from({ length: 150 }, (_, i) => attempt('0000', T0, `+7901${String(i).padStart(7, '0')}`)),
      );
      expect(count(results, 'wrong')).toBe(LOCKOUT_POLICY.maxFailures);
      expect(count(results, 'locked')).toBe(145);
      expect(results.filter((r) => r.result === 'locked' && r.by === 'login')).toHaveLength(145);
      // exactly one of the five is the failure that locked the login (one warn line)
      expect(results.filter((r) => r.result === 'wrong' && r.lockedLogin)).toHaveLength(1);
      expect(await rows('1001')).toHaveLength(5);
      expect(await store.directory.pinLockedUntil('1001', '+79990000000', T0)).toBe(T0 + LOCK);
    });

    it('the same with the right PIN among them: the right one is either evaluated first or refused', async () => {
      const results = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => attempt('0000', T0, `+7901000000${i}`)),
        attempt(PIN, T0, '+79000001001'),
      ]);
      const right = results[20];
      // 5 slots: the right PIN got one (ok) or came after they were taken (locked) — never more than 5 checked
      expect(count(results, 'wrong') + (right?.result === 'ok' ? 1 : 0)).toBeLessThanOrEqual(5);
      expect(['ok', 'locked']).toContain(right?.result);
    });
  });

  describe('locked login', () => {
    const lockIt = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        const r = await attempt('0000', T0 + i * MIN, `+7901000000${i}`);
        expect(r).toEqual({ result: 'wrong', lockedLogin: i === 4, lockedCaller: false });
      }
    };

    it('refuses the right PIN too, from the agent’s own number, without touching the count', async () => {
      await lockIt();
      const lockEnd = T0 + 4 * MIN + LOCK;
      for (const at of [T0 + 4 * MIN, T0 + 10 * MIN, lockEnd - 1]) {
        expect(await attempt(PIN, at, '+790000001001')).toEqual({
          result: 'locked',
          by: 'login',
          until: lockEnd,
        });
      }
      expect(await rows('1001')).toHaveLength(5);
      // another login is not affected
      expect(await attempt(PIN, T0 + 5 * MIN, '+790000001002', '1002')).toEqual({ result: 'ok' });
    });

    it('lets the right PIN in once the lock expires, and that clears the failures', async () => {
      await lockIt();
      const lockEnd = T0 + 4 * MIN + LOCK;
      expect(await store.directory.pinLockedUntil('1001', null, lockEnd - 1)).toBe(lockEnd);
      expect(await store.directory.pinLockedUntil('1001', null, lockEnd)).toBeNull();
      expect(await attempt(PIN, lockEnd, '+790000001001')).toEqual({ result: 'ok' });
      expect(await rows('1001')).toHaveLength(0);
    });

    it('never evaluates more than 5 wrong PINs in any 15 minutes', async () => {
      // One wrong PIN a minute for an hour: only 5 per lock period get evaluated.
      const results: PinAttemptResult[] = [];
      for (let m = 0; m < 60; m++) results.push(await attempt('0000', T0 + m * MIN, `+7902${m}`));
      const evaluated = results.flatMap((r, m) => (r.result === 'wrong' ? [m] : []));
      for (const start of evaluated) {
        expect(evaluated.filter((m) => m >= start && m < start + 15).length).toBeLessThanOrEqual(5);
      }
      expect(evaluated).toEqual([0, 1, 2, 3, 4, 19, 20, 21, 22, 23, 38, 39, 40, 41, 42, 57, 58, 59]);
    });

    it('counts an unknown login like a known one (a lock does not tell them apart)', async () => {
      for (let i = 0; i < 5; i++) {
        expect((await attempt(PIN, T0 + i, `+7901000000${i}`, '9999')).result).toBe('wrong');
      }
      expect((await attempt(PIN, T0 + 5, '+79010000005', '9999')).result).toBe('locked');
    });
  });

  describe('below the limit', () => {
    it('a right PIN clears the earlier failures', async () => {
      for (let i = 0; i < 4; i++) await attempt('0000', T0 + i, '+79010000000');
      expect(await attempt(PIN, T0 + 10, '+79010000000')).toEqual({ result: 'ok' });
      expect(await rows('1001')).toHaveLength(0);
      for (let i = 0; i < 4; i++)
        expect((await attempt('0000', T0 + 20 + i, '+79010000000')).result).toBe('wrong');
    });
  });

  describe('per caller id', () => {
    it('refuses a caller id after 10 wrong PINs across logins, others still get in', async () => {
      const attacker = '+74951234567';
      const results: PinAttemptResult[] = [];
      for (let i = 0; i < CALLER_LOCKOUT_POLICY.maxFailures; i++) {
        results.push(await attempt('0000', T0 + i, attacker, String(2000 + i)));
      }
      expect(results.every((r) => r.result === 'wrong')).toBe(true);
      expect(results.at(-1)).toEqual({ result: 'wrong', lockedLogin: false, lockedCaller: true });
      const until = T0 + 9 + CALLER_LOCKOUT_POLICY.lockMs;
      expect(await attempt(PIN, T0 + 20, attacker)).toEqual({ result: 'locked', by: 'caller', until });
      expect(await store.directory.pinLockedUntil('1001', attacker, T0 + 20)).toBe(until);
      expect(await attempt(PIN, T0 + 20, '+790000001001')).toEqual({ result: 'ok' });
      expect(await attempt(PIN, until, attacker)).toEqual({ result: 'ok' });
    });

    it('withheld caller ids count together', async () => {
      const ids = [
        '',
        'anonymous',
        'Anonymous',
        ' restricted ',
        null,
        'unknown',
        'private',
        'Withheld',
        'unavailable',
        '',
      ];
      for (const [i, id] of ids.entries()) await attempt('0000', T0 + i, id, String(3000 + i));
      expect(await attempt(PIN, T0 + 20, null)).toMatchObject({ result: 'locked', by: 'caller' });
      expect(await attempt(PIN, T0 + 20, '+790000001001')).toEqual({ result: 'ok' });
    });

    it('normalises caller ids', () => {
      expect(normaliseCallerId(undefined)).toBe('anonymous');
      expect(normaliseCallerId(' +79001 ')).toBe('+79001');
      expect(normaliseCallerId('x'.repeat(100))).toHaveLength(64);
    });
  });
});

describe('migration 003-pin-attempts', () => {
  it('keeps failures recorded before it as evaluated wrong PINs', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'old.db');
      const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SqliteDatabase(file) }) });
      const r = await new Migrator({ db, provider: migrationProvider }).migrateTo('001-initial');
      expect(r.error).toBeUndefined();
      await sql`insert into login_failures (login, at) values ('1001', ${T0}), ('1001', ${T0 + 1})`.execute(
        db,
      );
      await db.destroy();

      const store = await openSqliteStore(file);
      try {
        expect(store.appliedMigrations).toContain('003-pin-attempts');
        expect(await store.auth.listLoginFailures('1001', 0)).toEqual([T0, T0 + 1]);
        for (let i = 0; i < 3; i++)
          await store.directory.attemptPin({ login: '1001', pin: '0000', at: T0 + 2 + i, callerId: null });
        expect(await store.directory.pinLockedUntil('1001', '+79001', T0 + 10)).toBe(T0 + 4 + LOCK);
      } finally {
        await store.close();
      }
    } finally {
      cleanup();
    }
  });
});
