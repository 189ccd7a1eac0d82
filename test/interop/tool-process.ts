/**
 * Spawned tools with a deadline: their output, their exit, and a kill that always settles.
 * Free of vitest, so that the benches (bench/load.ts) run the same processes as the interop
 * tests; test/interop/tools.ts re-exports it.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

// ── finding the tools ────────────────────────────────────────────────────

/**
 * Absolute path of `name` on PATH (or in /usr/bin, /usr/local/bin), else an Error that
 * says which Debian package to install. Used in beforeAll so a missing tool fails the
 * suite with that message instead of a spawn ENOENT.
 */
export function requireTool(name: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin'].filter(
    Boolean,
  );
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new Error(
    `${name} is not installed (looked in ${dirs.join(', ')}). The interop tests run the real ${name}: ` +
      `install the Debian package "${debianPackage}" (apt-get install ${debianPackage}).`,
  );
}

// ── processes ────────────────────────────────────────────────────────────

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we killed it because its deadline passed. */
  timedOut: boolean;
}

/** The exit of a tool that ended by itself with status 0. */
export const CLEAN_EXIT: Exit = { code: 0, signal: null, timedOut: false };

const running = new Set<ToolProcess>();
const MAX_OUTPUT = 256 * 1024;

/** One spawned tool: its output so far, its exit, and a kill that always settles. */
export class ToolProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private timedOut = false;
  private readonly deadline: NodeJS.Timeout;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    timeoutMs: number,
  ) {
    const keep = (prev: string, chunk: Buffer): string => {
      const next = prev + chunk.toString('utf8');
      return next.length > MAX_OUTPUT ? next.slice(-MAX_OUTPUT) : next;
    };
    child.stdout?.on('data', (d: Buffer) => (this.stdout = keep(this.stdout, d)));
    child.stderr?.on('data', (d: Buffer) => (this.stderr = keep(this.stderr, d)));
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exit) return;
        clearTimeout(this.deadline);
        running.delete(this);
        this.exit = { code, signal, timedOut: this.timedOut };
        resolve(this.exit);
      };
      child.once('exit', done);
      // spawn failures (ENOENT, EACCES) come as 'error' without 'exit'.
      child.once('error', (err) => {
        this.stderr += `\nspawn error: ${err.message}`;
        done(null, null);
      });
    });
    this.deadline = setTimeout(() => {
      this.timedOut = true;
      void this.kill();
    }, timeoutMs);
    running.add(this);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async kill(graceMs = 1500): Promise<Exit> {
    if (this.exit) return this.exit;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => {
      if (!this.exit) this.child.kill('SIGKILL');
    }, graceMs);
    const exit = await this.exited;
    clearTimeout(t);
    return exit;
  }

  /** Waits for the exit; past `ms` the process is killed and the exit says timedOut. */
  async wait(ms: number): Promise<Exit> {
    if (this.exit) return this.exit;
    const t = setTimeout(() => {
      this.timedOut = true;
      void this.kill();
    }, ms);
    const exit = await this.exited;
    clearTimeout(t);
    return exit;
  }

  /** Last lines of stdout and stderr, for assertion messages. */
  tail(lines = 40): string {
    const last = (s: string): string => s.split('\n').slice(-lines).join('\n');
    return `--- ${this.name} (pid ${this.pid}) stdout ---\n${last(this.stdout)}\n--- stderr ---\n${last(this.stderr)}`;
  }
}

export interface SpawnOptions {
  cwd?: string;
  /** Killed (SIGTERM, then SIGKILL) after this long; the exit then says timedOut. */
  timeoutMs: number;
  name?: string;
  env?: NodeJS.ProcessEnv;
  /** `pipe`: the caller writes commands to `child.stdin` (the load bench's RTP peers). */
  stdin?: 'ignore' | 'pipe';
}

/** Spawns `command` with no stdin (unless asked) and piped output; it is tracked until killAll(). */
export function spawnTool(command: string, args: string[], o: SpawnOptions): ToolProcess {
  const child = spawn(command, args, {
    cwd: o.cwd,
    env: o.env ?? process.env,
    stdio: [o.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  return new ToolProcess(o.name ?? path.basename(command), child, o.timeoutMs);
}

/** Kills every tool process still running (afterEach / afterAll). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
}

/** How many spawned processes are still alive (a test can assert 0 at the end). */
export const runningCount = (): number => running.size;
