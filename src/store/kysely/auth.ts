import type { Kysely } from 'kysely';
import { settingKey } from '../rules.ts';
import type { AuthStore } from '../store.ts';
import type { Database } from './schema.ts';

/** Failures older than this are pruned when a new one is recorded. */
const KEEP_FAILURES_MS = 24 * 3600_000;

export class KyselyAuthStore implements AuthStore {
  constructor(private readonly db: Kysely<Database>) {}

  async getSetting(key: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value ?? null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    settingKey(key);
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  async deleteSetting(key: string): Promise<void> {
    await this.db.deleteFrom('settings').where('key', '=', key).execute();
  }

  async recordLoginFailure(login: string, at: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('login_failures').values({ login, at }).execute();
      await trx
        .deleteFrom('login_failures')
        .where('at', '<', at - KEEP_FAILURES_MS)
        .execute();
    });
  }

  async countLoginFailures(login: string, sinceMs: number): Promise<number> {
    const row = await this.db
      .selectFrom('login_failures')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('login', '=', login)
      .where('at', '>=', sinceMs)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listLoginFailures(login: string, sinceMs: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('login_failures')
      .select('at')
      .where('login', '=', login)
      .where('at', '>=', sinceMs)
      .orderBy('at')
      .execute();
    return rows.map((r) => r.at);
  }

  async clearLoginFailures(login: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('login', '=', login).execute();
  }
}
