/**
 * The C media peers (rtp-load.c), compiled once with the system cc into a temp dir and run
 * as tracked tools: the customers' generator and the agents' echo. Commands go by stdin,
 * answers come back as JSON lines.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTool, type ToolProcess } from '../../test/interop/tool-process.ts';
import type { Histogram } from './stats.ts';

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rtp-load.c');

/** Compiles rtp-load.c into `dir`; throws with the compiler's output when cc is missing or fails. */
export function buildPeers(dir: string): string {
  const bin = path.join(dir, 'rtp-load');
  try {
    execFileSync('cc', ['-O2', '-Wall', '-o', bin, SOURCE], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`cannot build ${SOURCE} with cc: ${e.stderr?.toString() ?? e.message}`, { cause: err });
  }
  return bin;
}

/** What the generator reports for its window (see rtp-load.c). */
export interface GenReport {
  bucketUs: number;
  sent: number;
  received: number;
  duplicates: number;
  foreign: number;
  setupMs: number[];
  answered: number;
  bridged: number;
  /** Streams counted in the window: those bridged when it started. */
  measured: number;
  /** The longest time between two packets of one stream coming back, µs. */
  maxGapUs: number;
  rtt: Histogram;
  jitter: Histogram;
}

/** A peer process spoken to line by line. */
class LinePeer {
  private buf = '';
  private waiting: ((line: string) => void)[] = [];
  private lines: string[] = [];

  constructor(readonly proc: ToolProcess) {
    proc.child.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiting.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
  }

  send(command: string): void {
    if (this.proc.alive) this.proc.child.stdin?.write(`${command}\n`);
  }

  /** The next line, or an error after `ms` (or when the process has exited). */
  async nextLine(ms = 10_000): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return queued;
    return new Promise((resolve, reject) => {
      const take = (line: string): void => {
        clearTimeout(t);
        resolve(line);
      };
      const t = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== take);
        reject(new Error(`${this.proc.name}: no answer within ${ms} ms\n${this.proc.tail(10)}`));
      }, ms);
      this.waiting.push(take);
    });
  }

  /** Resolves once the peer has bound its sockets ("ready"). */
  async ready(): Promise<void> {
    const line = await Promise.race([
      this.nextLine(15_000),
      this.proc.exited.then((e) => {
        throw new Error(`${this.proc.name} exited (${JSON.stringify(e)})\n${this.proc.tail(10)}`);
      }),
    ]);
    if (line !== 'ready') throw new Error(`${this.proc.name}: expected ready, got ${line}`);
  }

  async stop(): Promise<void> {
    this.send('quit');
    await this.proc.wait(2000);
  }
}

/** N customer phones on `base`, `base`+2, … (see rtp-load.c for `latch` and `fixed`). */
export class Generator extends LinePeer {
  static async start(bin: string, n: number, base: number, mode: 'latch' | 'fixed', timeoutMs: number) {
    const g = new Generator(
      spawnTool(bin, ['gen', String(n), String(base), mode], { timeoutMs, name: 'rtp-gen', stdin: 'pipe' }),
    );
    await g.ready();
    return g;
  }

  target(stream: number, port: number): void {
    this.send(`target ${stream} ${port}`);
  }

  async report(): Promise<GenReport> {
    this.send('report');
    return JSON.parse(await this.nextLine()) as GenReport;
  }
}

/** The agents' phones' media: one socket that returns every packet to its sender. */
export class Echo extends LinePeer {
  static async start(bin: string, port: number, timeoutMs: number): Promise<Echo> {
    const e = new Echo(
      spawnTool(bin, ['echo', String(port)], { timeoutMs, name: 'rtp-echo', stdin: 'pipe' }),
    );
    await e.ready();
    return e;
  }

  async packets(): Promise<number> {
    this.send('report');
    return (JSON.parse(await this.nextLine()) as { packets: number }).packets;
  }
}
