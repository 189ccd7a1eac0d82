import {
  PostgresAdapter,
  sql,
  type ColumnDataType,
  type ColumnDefinitionBuilder,
  type Expression,
  type Kysely,
  type Migration,
} from 'kysely';

/** What `addColumn` takes as a type (kysely does not export its name for it). */
type DataTypeExpression = ColumnDataType | Expression<unknown>;

/**
 * Column types the migrations write, per dialect. SQLite gets exactly the types it always had
 * (so a fresh SQLite file is what it was before PostgreSQL existed); PostgreSQL gets the types
 * that behave the same way:
 * - `time`: epoch milliseconds overflow a 32-bit `integer`, so `bigint` (read back as a number);
 * - `real`: SQLite's REAL is 8 bytes, PostgreSQL's `real` 4, so `double precision`;
 * - `text`: byte order (`collate "C"`), as SQLite's BINARY compares, whatever the database's
 *   locale: listings sort the same and `=` stays case-sensitive;
 * - `id`: an identity column where SQLite has `integer primary key autoincrement`.
 * JSON stays in text columns on both: the stores parse it themselves.
 */
export interface ColumnTypes {
  readonly text: DataTypeExpression;
  readonly integer: DataTypeExpression;
  readonly time: DataTypeExpression;
  readonly real: DataTypeExpression;
  /** The generated primary key `id`. */
  readonly id: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
}

const SQLITE: ColumnTypes = {
  text: 'text',
  integer: 'integer',
  time: 'integer',
  real: 'real',
  id: (c) => c.primaryKey().autoIncrement(),
};

const POSTGRES: ColumnTypes = {
  text: sql`text collate "C"`,
  integer: 'integer',
  time: 'bigint',
  real: 'double precision',
  id: (c) => c.primaryKey().generatedByDefaultAsIdentity(),
};

export function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export function columnTypes(db: Kysely<unknown>): ColumnTypes {
  return isPostgres(db) ? POSTGRES : SQLITE;
}

/** `[table, column, value every existing row takes]`. */
export type AddedTextColumn = readonly [table: string, column: string, value: string];

/**
 * A migration that adds NOT NULL text columns with a default to existing tables (and drops them,
 * last first, on the way down) — the shape of every "one more setting per row" migration.
 */
export function addedTextColumns(columns: readonly AddedTextColumn[]): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const t = columnTypes(db);
      for (const [table, column, value] of columns)
        await db.schema
          .alterTable(table)
          .addColumn(column, t.text, (c) => c.notNull().defaultTo(value))
          .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const [table, column] of [...columns].reverse())
        await db.schema.alterTable(table).dropColumn(column).execute();
    },
  };
}
