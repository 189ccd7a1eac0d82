/**
 * The real CLI in a child process, as production runs it (`node dist/cli/main.js`,
 * built by the same prestart step `npm start` uses): configuration from flags and
 * AGENTLINE_* variables, a clear error and exit code 2 for bad values, --help and
 * --version, the demo company only with --demo, a graceful SIGTERM — live calls get a
 * BYE, new INVITEs get 503, the process exits 0 within 5 s — also when the SIGTERM goes
 * to `npm start` (no orphan server left behind), a built tree with production
 * dependencies only, and `agentline backup` while the server writes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BOOLEAN_FLAGS, FLAGS } from '../../src/config/config.ts';
import { FLAG_HELP } from '../../src/cli/usage.ts';
import type { IncomingRequest } from '../../src/sip/stack.ts';
import { promptPath } from '../../src/call/prompts.ts';
import { RawSip, SERVICE, rawRequest, sleep, startServer } from './harness.ts';
import { TestPhone } from '../phone/phone.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOKEN = 'testtoken123';
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

/** A port free for UDP and TCP both (SIP listens on both). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
    const udp = dgram.createSocket('udp4');
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => {
      try {
        udp.close(() => r());
      } catch {
        r();
      }
    });
    if (udpFree) return port;
  }
  throw new Error('no free port');
}

interface Cli {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];

/** Runs `command args` with the environment less any AGENTLINE_* of the developer's. */
function spawnCli(command: string, args: string[], env: Record<string, string> = {}, cwd = ROOT): Cli {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTLINE_')));
  const child = spawn(command, args, { cwd, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, output: () => out, exited };
}

/** The compiled CLI, as systemd and the Docker image run it. */
const runCli = (args: string[], env: Record<string, string> = {}): Cli =>
  spawnCli(process.execPath, ['dist/cli/main.js', ...args], env);

/** `npm start -- args` in `cwd`: npm runs prestart, then the start script. */
const runNpmStart = (args: string[], cwd = ROOT, env: Record<string, string> = {}): Cli =>
  spawnCli('npm', ['start', '--', ...args], env, cwd);

/** Processes whose command line holds `needle` (Linux /proc): the server we started, if alive. */
function processesWith(needle: string): { pid: number; ppid: number; cmdline: string }[] {
  const found: { pid: number; ppid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (!cmdline.includes(needle)) continue;
      // stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      found.push({ pid: Number(entry), ppid, cmdline });
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Server flags on loopback with the given ports and an RTP block of our own. */
const serverFlags = (sipPort: number, httpPort: number, db = ':memory:'): string[] => [
  '--sip-host',
  '127.0.0.1',
  '--sip-port',
  String(sipPort),
  '--http-port',
  String(httpPort),
  '--rtp-ports',
  '39000-39099',
  '--db',
  db,
  '--log-level',
  'warn',
  '--admin-token',
  TOKEN,
];

async function companies(httpPort: number): Promise<{ id: number; name: string }[]> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/companies`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { companies: { id: number; name: string }[] }).companies;
}

// dist/ and web/dist as `npm start` would build them (only what is missing or stale).
beforeAll(() => {
  const r = spawnSync(process.execPath, ['scripts/prestart.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the build failed:\n${r.stdout}${r.stderr}`);
}, 180_000);

/** Polls GET /healthz until it answers 200 (or the child dies). */
async function waitHealthy(
  cli: Cli,
  httpPort: number,
  timeoutMs = 20_000,
): Promise<{ status: string; sipPort: number }> {
  const until = Date.now() + timeoutMs;
  let dead = false;
  void cli.exited.then(() => (dead = true));
  for (;;) {
    if (dead) throw new Error(`the CLI exited before it was healthy:\n${cli.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      if (res.status === 200) return (await res.json()) as { status: string; sipPort: number };
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`/healthz never answered 200:\n${cli.output()}`);
    await sleep(100);
  }
}

/** Sends SIGTERM and measures how long the process takes to exit. */
async function terminate(cli: Cli): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  cli.child.kill('SIGTERM');
  const { code } = await cli.exited;
  return { code, ms: Date.now() - t0 };
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('agentline start (child process)', () => {
  it('starts from flags, serves /healthz and SIP; SIGTERM sends BYE to a live call and exits 0 within 5 s', async () => {
    const [sipPort, httpPort] = [await freePort(), await freePort()];
    // --demo: the diagnostic number 9001 used below belongs to the demo set.
    const cli = runCli(['start', ...serverFlags(sipPort, httpPort), '--demo']);
    const health = await waitHealthy(cli, httpPort);
    expect(health).toEqual({ status: 'ok', sipPort });

    // The admin token from the flag guards the API.
    const denied = await fetch(`http://127.0.0.1:${httpPort}/api/v1/companies`);
    expect(denied.status).toBe(401);
    const allowed = await fetch(`http://127.0.0.1:${httpPort}/api/v1/companies`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(allowed.status).toBe(200);

    const phone = await TestPhone.create({ number: '+7900' });
    try {
      const call = await phone.call('9001', { port: sipPort });
      // Hold back the phone's answer to the BYE a little, so that the server is
      // provably in its stopping phase (BYE sent, sockets still open) while we
      // send a new INVITE; the server's BYE retransmissions are absorbed.
      const onRequest = phone.stack.onRequest;
      let byes = 0;
      phone.stack.onRequest = (incoming: IncomingRequest) => {
        if (incoming.request.method !== 'BYE') return onRequest?.(incoming);
        byes++;
        setTimeout(() => onRequest?.(incoming), 600);
      };
      const raw = await RawSip.open();
      try {
        const t0 = Date.now();
        cli.child.kill('SIGTERM');
        const deadline = Date.now() + 3000;
        while (byes === 0 && Date.now() < deadline) await sleep(5);
        expect(byes).toBe(1);
        raw.send(rawRequest('INVITE', `sip:9001@127.0.0.1:${sipPort}`, raw.port), sipPort);
        const refused = await raw.waitFor(/^SIP\/2\.0 \d{3}/, 1000);
        expect(refused).toMatch(/^SIP\/2\.0 503 /);
        expect(refused).toMatch(/\r\nRetry-After: *\d+/i);

        expect(await call.ended).toBe('remote');
        const { code } = await cli.exited;
        const ms = Date.now() - t0;
        expect(code).toBe(0);
        expect(ms).toBeLessThan(5000);
      } finally {
        raw.close();
      }
    } finally {
      await phone.close();
    }
    expect(cli.output()).not.toMatch(/shutdown failed|"level":(50|60)/);
  });

  it('takes its configuration from AGENTLINE_* environment variables', async () => {
    const [sipPort, httpPort] = [await freePort(), await freePort()];
    const cli = runCli(['start'], {
      AGENTLINE_SIP_HOST: '127.0.0.1',
      AGENTLINE_SIP_PORT: String(sipPort),
      AGENTLINE_HTTP_PORT: String(httpPort),
      AGENTLINE_RTP_PORTS: '39000-39099',
      AGENTLINE_DB: ':memory:',
      AGENTLINE_LOG_LEVEL: 'warn',
      AGENTLINE_ADMIN_TOKEN: TOKEN,
    });
    expect(await waitHealthy(cli, httpPort)).toEqual({ status: 'ok', sipPort });
    const allowed = await fetch(`http://127.0.0.1:${httpPort}/api/v1/companies`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(allowed.status).toBe(200);
    // SIP is there too: OPTIONS over UDP.
    const raw = await RawSip.open();
    try {
      raw.send(rawRequest('OPTIONS', `sip:127.0.0.1:${sipPort}`, raw.port), sipPort);
      expect(await raw.waitFor(/^SIP\/2\.0 200 /)).toMatch(/^SIP\/2\.0 200 /);
    } finally {
      raw.close();
    }
    const { code, ms } = await terminate(cli);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
  });

  it('flags win over the environment', async () => {
    const [sipPort, httpPort] = [await freePort(), await freePort()];
    const cli = runCli(['start', '--sip-port', String(sipPort), '--http-port', String(httpPort)], {
      AGENTLINE_SIP_HOST: '127.0.0.1',
      AGENTLINE_SIP_PORT: 'not-a-port',
      AGENTLINE_HTTP_PORT: '1',
      AGENTLINE_RTP_PORTS: '39000-39099',
      AGENTLINE_DB: ':memory:',
      AGENTLINE_LOG_LEVEL: 'warn',
      AGENTLINE_ADMIN_TOKEN: TOKEN,
    });
    expect(await waitHealthy(cli, httpPort)).toEqual({ status: 'ok', sipPort });
    expect((await terminate(cli)).code).toBe(0);
  });

  describe('bad configuration: a clear message and exit code 2, before listening', () => {
    const cases: { name: string; args: string[]; env?: Record<string, string>; message: RegExp }[] = [
      { name: '--sip-port abc', args: ['--sip-port', 'abc'], message: /invalid configuration: --sip-port: / },
      { name: '--sip-port 70000', args: ['--sip-port', '70000'], message: /--sip-port: / },
      { name: '--rtp-ports 5000', args: ['--rtp-ports', '5000'], message: /--rtp-ports: expected MIN-MAX/ },
      { name: '--rtp-ports 100-50', args: ['--rtp-ports', '100-50'], message: /--rtp-ports: RTP range/ },
      { name: '--log-level loud', args: ['--log-level', 'loud'], message: /--log-level: / },
      { name: '--admin-token short', args: ['--admin-token', 'short'], message: /--admin-token: / },
      { name: '--trunk http://x', args: ['--trunk', 'http://x'], message: /--trunk: expected sip:HOST/ },
      { name: 'an unknown flag', args: ['--sip-prot', '5060'], message: /Unknown option '--sip-prot'/ },
      { name: 'a flag without its value', args: ['--sip-port'], message: /--sip-port .*argument missing/ },
      {
        name: 'a value given to --demo',
        args: ['--demo=yes'],
        message: /--demo.* does not take an argument/,
      },
      { name: 'a stray argument', args: ['5060'], message: /Unexpected argument '5060'/ },
      {
        name: 'AGENTLINE_DEMO=maybe',
        args: [],
        env: { AGENTLINE_DEMO: 'maybe' },
        message: /--demo \(AGENTLINE_DEMO\): expected/,
      },
      {
        name: '--db mysql://… (no such store)',
        args: ['--db', 'mysql://agentline@127.0.0.1/agentline'],
        message: /--db: unknown database URL scheme mysql:/,
      },
      {
        name: 'AGENTLINE_HTTP_PORT=-1',
        args: [],
        env: { AGENTLINE_HTTP_PORT: '-1' },
        message: /--http-port: /,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const cli = runCli(['start', '--db', ':memory:', '--sip-host', '127.0.0.1', ...c.args], c.env);
        const timer = setTimeout(() => cli.child.kill('SIGKILL'), 20_000);
        const { code } = await cli.exited;
        clearTimeout(timer);
        expect(code).toBe(2);
        expect(cli.output()).toMatch(c.message);
        expect(cli.output()).toMatch(/agentline --help lists/);
        expect(cli.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
      });
    }

    it('no command or an unknown one: usage and exit code 2', async () => {
      const none = runCli([]);
      expect((await none.exited).code).toBe(2);
      expect(none.output()).toMatch(/^agentline: no command given\nusage: agentline start/);
      const unknown = runCli(['strat']);
      expect((await unknown.exited).code).toBe(2);
      expect(unknown.output()).toMatch(/^agentline: unknown command 'strat'\nusage: agentline start/);
    });
  });
});

describe('--help and --version', () => {
  it('--help prints the usage with every flag, its variable and a description, and exits 0', async () => {
    for (const args of [['--help'], ['-h'], ['start', '--help'], ['help']]) {
      const cli = runCli(args);
      expect((await cli.exited).code).toBe(0);
      const out = cli.output();
      expect(out).toMatch(/^usage: agentline start \[flags\]/);
      expect(out).toMatch(/agentline backup <dest-file> \[--db FILE\]/);
      for (const flag of [...FLAGS, ...BOOLEAN_FLAGS]) {
        expect(FLAG_HELP[flag]?.text, `a description for --${flag}`).toBeTruthy();
        const env = `AGENTLINE_${flag.toUpperCase().replace(/-/g, '_')}`;
        expect(out).toMatch(
          new RegExp(`\\n  --${flag}\\b.*${FLAG_HELP[flag]!.text.slice(0, 12)}.*\\[${env}\\]`),
        );
      }
    }
  });

  it('--version prints the package version, also through the bin and npx', async () => {
    for (const args of [['--version'], ['-v'], ['start', '--demo', '--version']]) {
      const cli = runCli(args);
      expect((await cli.exited).code).toBe(0);
      expect(cli.output()).toBe(`${VERSION}\n`);
    }
    const bin = spawnCli(process.execPath, ['bin/agentline.js', '--version']);
    expect((await bin.exited).code).toBe(0);
    expect(bin.output()).toBe(`${VERSION}\n`);
    // --no: never install anything, the package's own bin is what runs (`--` so that npx
    // leaves --version to it).
    const npx = spawnCli('npx', ['--no', '--', 'agentline', '--version']);
    expect((await npx.exited).code).toBe(0);
    expect(npx.output().trim()).toBe(VERSION);
  });
});

describe('the demo company: seeded only with --demo', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'agentline-demo-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('`agentline start` leaves an empty database empty; --demo and AGENTLINE_DEMO=1 seed it', async () => {
    const cases: { args: string[]; env: Record<string, string>; seeded: boolean }[] = [
      { args: [], env: {}, seeded: false },
      { args: [], env: { AGENTLINE_DEMO: '0' }, seeded: false },
      { args: ['--demo'], env: {}, seeded: true },
      { args: [], env: { AGENTLINE_DEMO: '1' }, seeded: true },
    ];
    for (const [i, c] of cases.entries()) {
      const [sipPort, httpPort] = [await freePort(), await freePort()];
      const db = path.join(dir, `case-${i}.db`);
      const cli = runCli(['start', ...serverFlags(sipPort, httpPort, db), ...c.args], c.env);
      await waitHealthy(cli, httpPort);
      const names = (await companies(httpPort)).map((x) => x.name);
      expect(names, JSON.stringify(c)).toHaveLength(c.seeded ? 1 : 0);
      expect((await terminate(cli)).code).toBe(0);
    }
  });
});

describe('npm start', () => {
  it('SIGTERM to the npm process drains the server (BYE, exit 0) and leaves no orphan', async () => {
    const [sipPort, httpPort] = [await freePort(), await freePort()];
    const cli = runNpmStart(serverFlags(sipPort, httpPort));
    await waitHealthy(cli, httpPort, 60_000);
    // `npm start` seeds the demo company (it passes --demo).
    expect(await companies(httpPort)).toHaveLength(1);
    // The server is npm's own child: the script execs node, no shell stands between them.
    const [server, ...more] = processesWith(`--http-port ${httpPort}`).filter((p) => p.pid !== cli.child.pid);
    expect(more).toEqual([]);
    expect(server?.cmdline).toMatch(/dist\/cli\/main\.js start --demo /);
    expect(server?.ppid).toBe(cli.child.pid);

    const phone = await TestPhone.create({ number: '+7901' });
    try {
      const call = await phone.call('9001', { port: sipPort });
      const { code, ms } = await terminate(cli);
      expect(await call.ended).toBe('remote'); // the server's BYE
      expect(code).toBe(0); // npm passes on the server's exit status
      expect(ms).toBeLessThan(5000);
    } finally {
      await phone.close();
    }
    expect(processesWith(`--http-port ${httpPort}`)).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${httpPort}/healthz`)).rejects.toThrow();
  });

  it('a built tree starts with production dependencies only (as after `npm ci --omit=dev`)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agentline-prod-'));
    try {
      // What the Docker image holds: the built tree, no sources, no dev tools.
      for (const f of ['package.json', 'package-lock.json', 'bin', 'scripts', 'dist', 'prompts', 'web/dist'])
        cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true, preserveTimestamps: true });
      // node_modules: exactly the packages `npm ci --omit=dev` installs (the lock file's
      // entries not marked dev), linked from ours rather than fetched again.
      const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, { dev?: boolean }>;
      };
      for (const [key, entry] of Object.entries(lock.packages)) {
        if (!key.startsWith('node_modules/') || key.lastIndexOf('node_modules/') !== 0 || entry.dev) continue;
        mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
        symlinkSync(realpathSync(path.join(ROOT, key)), path.join(dir, key), 'dir');
      }
      for (const tool of ['typescript', 'vite', 'tsx'])
        expect(existsSync(path.join(dir, 'node_modules', tool))).toBe(false);

      const npx = spawnCli('npx', ['--no', '--', 'agentline', '--help'], {}, dir);
      expect((await npx.exited).code).toBe(0);
      expect(npx.output()).toMatch(/^usage: agentline start/);

      const [sipPort, httpPort] = [await freePort(), await freePort()];
      const cli = runNpmStart(serverFlags(sipPort, httpPort), dir);
      await waitHealthy(cli, httpPort, 60_000);
      const page = await fetch(`http://127.0.0.1:${httpPort}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<!doctype html>/i);
      expect(await companies(httpPort)).toHaveLength(1);
      // Files read at run time beside the code are found from dist/: package.json (the
      // version in the OpenAPI document) and the prompts (the service IVR asks for the PIN).
      const openapi = (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/openapi.json`)).json()) as {
        info: { version: string };
      };
      expect(openapi.info.version).toBe(VERSION);
      const agentPhone = await TestPhone.create({ number: '+79000000001' });
      try {
        const call = await agentPhone.call(SERVICE, { port: sipPort });
        await call.waitForPrompt(promptPath('ru', 'enter_pin'));
        await call.hangup();
      } finally {
        await agentPhone.close();
      }
      const { code, ms } = await terminate(cli);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(5000);
      expect(processesWith(`--http-port ${httpPort}`)).toEqual([]);
      expect(cli.output()).not.toMatch(/build:server|vite build/); // nothing was rebuilt

      // Without a built tree a production install says what to do instead of failing on tsc.
      rmSync(path.join(dir, 'dist'), { recursive: true });
      const unbuilt = runNpmStart([], dir);
      expect((await unbuilt.exited).code).not.toBe(0);
      expect(unbuilt.output()).toMatch(/server \(dist\/\) is not built and typescript is not installed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agentline backup', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'agentline-backup-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const rows = (file: string, table: string): number => {
    const db = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it('copies the live database while the server writes; the copy is whole, checked and starts a server', async () => {
    const [sipPort, httpPort] = [await freePort(), await freePort()];
    const live = path.join(dir, 'live.db');
    const cli = runCli(['start', ...serverFlags(sipPort, httpPort, live), '--demo']);
    await waitHealthy(cli, httpPort);

    // Writes through the API while the first backup runs.
    let writing = true;
    const writes = (async () => {
      let n = 0;
      while (writing && n < 200) {
        const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/companies`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `Company ${++n}` }),
        });
        expect(res.status).toBe(201);
      }
      return n;
    })();
    const during = spawnCli(process.execPath, [
      'dist/cli/main.js',
      'backup',
      path.join(dir, 'during.db'),
      '--db',
      live,
    ]);
    expect((await during.exited).code, during.output()).toBe(0);
    writing = false;
    await writes;
    expect(during.output()).toMatch(
      /^backed up .*live\.db to .*during\.db \(\d+ pages, \d+ bytes, integrity ok\)\n$/,
    );
    expect(rows(path.join(dir, 'during.db'), 'companies')).toBeGreaterThanOrEqual(1);
    expect(rows(path.join(dir, 'during.db'), 'agents')).toBe(4);

    // After the writes: every company is in the copy. AGENTLINE_DB names the source too.
    const after = spawnCli(
      process.execPath,
      ['dist/cli/main.js', 'backup', path.join(dir, 'nested', 'after.db')],
      {
        AGENTLINE_DB: live,
      },
    );
    expect((await after.exited).code, after.output()).toBe(0);
    const total = (await companies(httpPort)).length;
    expect(rows(path.join(dir, 'nested', 'after.db'), 'companies')).toBe(total);
    expect((await terminate(cli)).code).toBe(0);

    // One self-contained file: rollback journal, no -wal beside it, no partial file left.
    const copy = new SqliteDatabase(path.join(dir, 'nested', 'after.db'), { readonly: true });
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    copy.close();
    expect(readdirSync(path.join(dir, 'nested'))).toEqual(['after.db']);

    // Restore = start on the copy.
    const [sip2, http2] = [await freePort(), await freePort()];
    const restored = runCli(['start', ...serverFlags(sip2, http2, path.join(dir, 'nested', 'after.db'))]);
    await waitHealthy(restored, http2);
    expect(await companies(http2)).toHaveLength(total);
    expect((await terminate(restored)).code).toBe(0);
  });

  it('refuses a missing database, a missing destination and :memory: with exit code 2', async () => {
    const cases: { args: string[]; message: RegExp }[] = [
      {
        args: ['backup', path.join(dir, 'x.db'), '--db', path.join(dir, 'none.db')],
        message: /no database at /,
      },
      { args: ['backup'], message: /usage: agentline backup <dest-file>/ },
      { args: ['backup', path.join(dir, 'x.db'), '--db', ':memory:'], message: /:memory: database cannot/ },
      { args: ['backup', path.join(dir, 'x.db'), '--bogus'], message: /Unknown option '--bogus'/ },
    ];
    for (const c of cases) {
      const cli = runCli(c.args);
      expect((await cli.exited).code, c.args.join(' ')).toBe(2);
      expect(cli.output()).toMatch(c.message);
    }
    expect(existsSync(path.join(dir, 'x.db'))).toBe(false);
  });
});

describe('while stopping (in process)', () => {
  const stopAfter: { stop(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(stopAfter.map((s) => s.stop()));
  });

  it('refuseNewCalls: a new INVITE gets 503 with Retry-After, OPTIONS is still answered', async () => {
    const server = await startServer();
    stopAfter.push(server);
    server.ua.refuseNewCalls = true;
    const raw = await RawSip.open();
    try {
      raw.send(rawRequest('INVITE', `sip:9001@127.0.0.1:${server.sipPort}`, raw.port), server.sipPort);
      const res = await raw.waitFor(/^SIP\/2\.0 \d{3}/);
      expect(res).toMatch(/^SIP\/2\.0 503 /);
      expect(res).toMatch(/\r\nRetry-After: *30\r\n/i);
      expect(server.engine.activeLegs).toBe(0);
      raw.received.length = 0;
      raw.send(rawRequest('OPTIONS', `sip:127.0.0.1:${server.sipPort}`, raw.port), server.sipPort);
      expect(await raw.waitFor(/^SIP\/2\.0 \d{3}/)).toMatch(/^SIP\/2\.0 200 /);
    } finally {
      raw.close();
    }
  });
});
