import SqliteDatabase from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from './statement-cache.ts';

describe('withStatementCache', () => {
  const raw = new SqliteDatabase(':memory:');

  it('hands out the same statement for the same SQL, and a fresh one while it streams', () => {
    const db = withStatementCache(raw, 2);
    const q = 'select 1 as a union all select 2';
    const first = db.prepare(q);
    expect(db.prepare(q)).toBe(first);
    const rows = first.iterate([]);
    rows.next();
    const other = db.prepare(q);
    expect(other).not.toBe(first);
    expect(other.all([])).toEqual([{ a: 1 }, { a: 2 }]);
    rows.return?.();
    expect(db.prepare(q)).toBe(first);
  });

  it('keeps only the most recently used statements', () => {
    const db = withStatementCache(raw, 2);
    const a = db.prepare('select 1');
    const b = db.prepare('select 2');
    expect(db.prepare('select 1')).toBe(a); // a is now the most recent
    db.prepare('select 3'); // drops b
    expect(db.prepare('select 1')).toBe(a);
    expect(db.prepare('select 2')).not.toBe(b);
    db.close();
    expect(raw.open).toBe(false);
  });
});
