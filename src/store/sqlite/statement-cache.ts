/**
 * Kysely's SQLite driver prepares every statement it runs; under load that was a fifth of
 * the main thread (compiling the same few hundred SQL texts again and again). This hands it
 * a database whose `prepare` keeps the last `max` statements by their SQL text.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

export function withStatementCache(db: Database.Database, max = 512): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare(sql: string): SqliteStatement {
      const known = cache.get(sql);
      // A statement still iterating a stream cannot run again: that caller gets its own.
      if (known && !known.busy) {
        // Most recently used last: the first key is the one to drop.
        cache.delete(sql);
        cache.set(sql, known);
        return known;
      }
      const stmt = db.prepare(sql);
      if (known) return stmt;
      cache.set(sql, stmt);
      if (cache.size > max) cache.delete(cache.keys().next().value as string);
      return stmt;
    },
  };
}
