/**
 * A month of call history in a SQLite file, for the benches that export it while audio flows
 * (bench/export-stall.ts, the load bench's stress step): `rows` answered calls of the demo
 * company's first department, spread over the last 29 days.
 */
import SqliteDatabase from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';

const DAY = 24 * 3600_000;

export async function seedCdrs(file: string, rows: number): Promise<void> {
  await (await openSqliteStore(file)).close(); // schema
  const db = new SqliteDatabase(file);
  const insert = db.prepare(
    `insert into cdr (id, company_id, hotline, caller_id, department_id, started_at, queued_at,
       answered_at, ended_at, agent_ids, transfers, outcome, talk_seconds)
     values (?, 1, '+74950000001', ?, 1, ?, ?, ?, ?, '[1]', 0, 'answered', 42)`,
  );
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const at = now - 1000 - Math.floor((i / rows) * 29 * DAY);
      insert.run(`bench-${i}`, `+7999${String(i).padStart(7, '0')}`, at, at + 1000, at + 5000, at + 47_000);
    }
  })();
  db.close();
}
