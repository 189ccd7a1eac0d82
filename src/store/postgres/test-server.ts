import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { openPostgresStore } from './open.ts';

const run = promisify(execFile);
const BIN = process.env.AGENTLINE_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const TEMPLATE = 'agentline_template';

/**
 * A PostgreSQL server of a test's own (Debian `postgresql`, nothing of the system's): initdb in a
 * temporary directory, its own port on 127.0.0.1, stopped and removed by `stop()`. As root it
 * runs as the `postgres` user (PostgreSQL refuses root). `freshDatabase()` hands out a new,
 * migrated, empty database: a copy of a template migrated once, so a test pays a
 * `CREATE DATABASE`, not the migrations.
 */
export interface TestPostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/NAME` of a new database with the schema and no rows. */
  freshDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'agentline-pg-'));
  const asPostgres = process.getuid?.() === 0;
  const pgRun = async (cmd: string, args: string[]): Promise<void> => {
    const [file, argv] = asPostgres
      ? ['runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]]
      : [join(BIN, cmd), args];
    await run(file, argv);
  };
  const data = join(dir, 'data');
  let started = false;
  const stop = async (): Promise<void> => {
    if (started) await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    started = false;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (asPostgres) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const uid = Number(stdout.trim());
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(dir, uid, Number(gid.trim()));
    }
    await pgRun('initdb', [
      '-D',
      data,
      '-A',
      'trust',
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '-N',
    ]);
    const port = await freePort();
    // Durability off: a test database never outlives its run.
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    await pgRun('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start']);
    started = true;
    const url = (db: string): string => `postgres://postgres@127.0.0.1:${port}/${db}`;
    await admin(url('postgres'), `CREATE DATABASE ${TEMPLATE}`);
    await (await openPostgresStore(url(TEMPLATE))).close();
    let n = 0;
    return {
      port,
      async freshDatabase() {
        const name = `t${++n}`;
        await admin(url('postgres'), `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
        return url(name);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw new Error(
      `test PostgreSQL did not start (is Debian postgresql installed? ${BIN}): ${String(err)}`,
      {
        cause: err,
      },
    );
  }
}

async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A TCP port free on loopback now (the kernel's choice). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
