/**
 * AgentLine as the bench runs it: a real server process (`node --import tsx src/cli/main.ts
 * start`) on loopback with its own data dir, its trunk the sipp UAS playing the agents'
 * phones, and the bench company made through the admin API.
 */
import { copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTool, type ToolProcess } from '../../test/interop/tool-process.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOKEN = 'bench-token-123';
const SALES_CODE = '101';
export const SALES_HOTLINE = '+74950000001';
export const SERVICE_NUMBER = '+79262951361';

export interface ServerPorts {
  sip: number;
  http: number;
  /** `MIN-MAX` */
  rtp: string;
  /** The trunk's SIP port (the sipp UAS). */
  trunk: number;
}

/** Agent i of the bench: login, and the number its phone behind the trunk answers. */
export const benchAgent = (i: number): { login: string; contact: string } => ({
  login: String(500000 + i),
  contact: `+7901${String(i).padStart(7, '0')}`,
});

export class AgentLineProcess {
  private constructor(
    readonly proc: ToolProcess,
    readonly ports: ServerPorts,
  ) {}

  /** Starts the server on `db` and resolves once /healthz answers (or throws with its output). */
  static async start(
    db: string,
    ports: ServerPorts,
    timeoutMs: number,
    extra: readonly string[] = [],
    nodeFlags: readonly string[] = [],
  ): Promise<AgentLineProcess> {
    const args = [
      ...nodeFlags,
      '--import',
      'tsx',
      'src/cli/main.ts',
      'start',
      '--demo',
      ...['--db', db, '--sip-host', '127.0.0.1', '--sip-port', String(ports.sip)],
      ...['--http-port', String(ports.http), '--rtp-ports', ports.rtp, '--admin-token', TOKEN],
      ...['--trunk', `sip:127.0.0.1:${ports.trunk}`, '--log-level', 'warn'],
      // One loopback address places every call: the per-source limits would refuse the load.
      ...['--invite-rate', '100000', '--invite-burst', '100000', '--trusted-invite-rate', '100000'],
      ...extra,
    ];
    const proc = spawnTool(process.execPath, args, { cwd: ROOT, timeoutMs, name: 'agentline' });
    const server = new AgentLineProcess(proc, ports);
    const until = Date.now() + 30_000;
    for (;;) {
      if (!proc.alive) throw new Error(`agentline exited at start\n${proc.tail(20)}`);
      try {
        const res = await fetch(`http://127.0.0.1:${ports.http}/healthz`);
        if (res.ok) return server;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) {
        await proc.kill();
        throw new Error(`agentline: /healthz not answering within 30 s\n${proc.tail(20)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  async api<T = unknown>(method: string, url: string, body?: unknown): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.ports.http}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * The bench company (the demo one): customers straight through to the agent (no accept
   * key, no wrap-up), a Sales queue long enough for every call, and `n` agents in Sales.
   * Agents are created once (each PIN is a deliberate scrypt) and the database copied per step.
   */
  async prepareCompany(n: number): Promise<void> {
    const { companies } = await this.api<{ companies: { id: number }[] }>('GET', '/api/v1/companies');
    const companyId = companies[0]!.id;
    await this.api('PATCH', `/api/v1/companies/${companyId}/settings`, {
      acceptCall: 'off',
      wrapUpSeconds: 0,
      ringSeconds: 60,
    });
    await this.api(
      'PATCH',
      `/api/v1/companies/${companyId}/departments/${SALES_CODE}`,
      { maxQueueLength: 10_000, maxWaitSeconds: 600 },
    );
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        const a = benchAgent(i);
        await this.api('POST', '/api/v1/agents', {
          companyId,
          login: a.login,
          name: `Bench ${i}`,
          shortNumber: String(100_000 + i),
          contact: a.contact,
          pin: '7394',
          departments: [{ department: SALES_CODE, priority: 1 }],
        });
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
  }

  /** Agents 0…n-1 ready through the supervisor API. */
  async makeReady(n: number): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        const { login } = benchAgent(next++);
        await this.api('POST', `/api/v1/agents/${login}/state`, { state: 'ready', reason: 'bench' });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  /**
   * The JavaScript heaps in use, bytes, from /metrics: the main thread's and the media
   * workers' together (each worker is an isolate of its own). Where a call's memory lives.
   */
  async heaps(): Promise<{ main: number; workers: number }> {
    const res = await fetch(`http://127.0.0.1:${this.ports.http}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const text = await res.text();
    const sum = (name: string): number =>
      text
        .split('\n')
        .filter((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    return { main: sum('nodejs_heap_size_used_bytes'), workers: sum('agentline_media_worker_heap_bytes') };
  }

  /** A GET with the admin token, its body read to the end: how long it took, ms, and the bytes. */
  async timedGet(url: string): Promise<{ ms: number; bytes: number; status: number }> {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${this.ports.http}${url}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) bytes += chunk.length;
    return { ms: performance.now() - t0, bytes, status: res.status };
  }

  /** Its warn and error log lines so far (of the last 256 KiB of output) and the last one's message. */
  warnings(): { count: number; last: string } {
    const lines = this.proc.stdout.split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    const last = lines.at(-1);
    let msg = '';
    if (last) {
      try {
        msg = (JSON.parse(last) as { msg?: string }).msg ?? '';
      } catch {
        msg = last.slice(0, 120);
      }
    }
    return { count: lines.length, last: msg };
  }

  /** SIGTERM (the server's own 5 s shutdown), SIGKILL after 7 s. */
  async stop(): Promise<void> {
    await this.proc.kill(7000);
  }
}

/** Copies a stopped server's SQLite database (with its -wal/-shm files) to `toDb`. */
export function copyDatabase(fromDb: string, toDb: string): void {
  const dir = path.dirname(fromDb);
  const base = path.basename(fromDb);
  for (const f of readdirSync(dir))
    if (f.startsWith(base)) copyFileSync(path.join(dir, f), toDb + f.slice(base.length));
}
