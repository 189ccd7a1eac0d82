import { describe, expect, it } from 'vitest';
import { LOCKOUT_POLICY, lockedUntil, loginLockedUntil } from './lockout.ts';
import type { SqliteStore } from './sqlite/open.ts';
import { eachMemoryStore } from './test-helpers.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 1, 9, 0);

describe('login failures (AuthStore)', () => {
  let store: SqliteStore;
  eachMemoryStore((s) => (store = s));

  it('counts failures per login inside the window only', async () => {
    const auth = store.auth;
    for (const m of [0, 5, 10, 14, 16]) await auth.recordLoginFailure('1001', T0 + m * MIN);
    await auth.recordLoginFailure('1002', T0 + 10 * MIN);

    const now = T0 + 20 * MIN;
    expect(await auth.countLoginFailures('1001', now - 15 * MIN)).toBe(4); // 5 (bound inclusive), 10, 14, 16
    expect(await auth.countLoginFailures('1001', now - 15 * MIN + 1)).toBe(3);
    expect(await auth.countLoginFailures('1001', T0)).toBe(5);
    expect(await auth.countLoginFailures('1002', T0)).toBe(1);
    expect(await auth.countLoginFailures('9999', T0)).toBe(0);
    expect(await auth.listLoginFailures('1001', T0 + 10 * MIN)).toEqual([
      T0 + 10 * MIN,
      T0 + 14 * MIN,
      T0 + 16 * MIN,
    ]);

    await auth.clearLoginFailures('1001');
    expect(await auth.countLoginFailures('1001', 0)).toBe(0);
    expect(await auth.countLoginFailures('1002', 0)).toBe(1);
  });

  it('prunes failures older than a day when recording a new one', async () => {
    await store.auth.recordLoginFailure('1001', T0);
    await store.auth.recordLoginFailure('1001', T0 + 25 * 60 * MIN);
    expect(await store.auth.listLoginFailures('1001', 0)).toEqual([T0 + 25 * 60 * MIN]);
  });

  it('locks the login for 15 minutes after 5 failures within 15 minutes (SPEC §4)', async () => {
    const auth = store.auth;
    for (const m of [0, 1, 2, 3]) await auth.recordLoginFailure('1001', T0 + m * MIN);
    expect(await loginLockedUntil(auth, '1001', T0 + 4 * MIN)).toBeNull();
    await auth.recordLoginFailure('1001', T0 + 4 * MIN);
    expect(await loginLockedUntil(auth, '1001', T0 + 4 * MIN)).toBe(T0 + 19 * MIN);
    expect(await loginLockedUntil(auth, '1001', T0 + 19 * MIN - 1)).toBe(T0 + 19 * MIN);
    expect(await loginLockedUntil(auth, '1001', T0 + 19 * MIN)).toBeNull();
    expect(await loginLockedUntil(auth, '1002', T0 + 4 * MIN)).toBeNull();
  });

  it('settings: get/set/overwrite/delete', async () => {
    const auth = store.auth;
    expect(await auth.getSetting('admin_token')).toBeNull();
    await auth.setSetting('admin_token', 'a');
    await auth.setSetting('admin_token', 'b');
    expect(await auth.getSetting('admin_token')).toBe('b');
    await auth.deleteSetting('admin_token');
    expect(await auth.getSetting('admin_token')).toBeNull();
  });
});

describe('lockedUntil', () => {
  const at = (...mins: number[]) => mins.map((m) => T0 + m * MIN);

  it('needs 5 failures inside 15 minutes', () => {
    expect(lockedUntil(at(0, 4, 8, 12, 16), T0 + 16 * MIN)).toBeNull(); // spans 16 min
    expect(lockedUntil(at(0, 4, 8, 12, 14.9), T0 + 15 * MIN)).toBe(T0 + 29.9 * MIN);
  });

  it('takes the latest qualifying failure, in any order', () => {
    // runs ending at 4 (→19) and at 10 (1,2,3,4,10 → 25); 20 and 21 are too far from the rest
    expect(lockedUntil(at(20, 10, 0, 1, 2, 3, 4, 21), T0 + 22 * MIN)).toBe(T0 + 25 * MIN);
    expect(lockedUntil(at(0, 1, 2, 3, 4, 20, 21), T0 + 22 * MIN)).toBeNull();
    expect(lockedUntil(at(0, 1, 2, 3, 4), T0 + 10 * MIN, LOCKOUT_POLICY)).toBe(T0 + 19 * MIN);
  });
});
