/**
 * Process plumbing for the interop tests: finding sipp and baresip, spawning them with
 * a deadline, collecting their output, killing every one of them at the end of a test,
 * picking free loopback ports, netstrings (baresip's ctrl_tcp) and temp directories.
 *
 * Only loopback (127.0.0.1) is ever used.
 */

import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Server } from '../../src/server.ts';
import { api, eventually } from '../integration/harness.ts';
import {
  killAll,
  requireTool,
  runningCount,
  spawnTool,
  type Exit,
  type ToolProcess,
} from './tool-process.ts';

export const LOOPBACK = '127.0.0.1';

export const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'interop',
);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ── finding the tools (requireTool: tool-process.ts) ─────────────────────

/**
 * play_pcap_audio opens a raw socket: sipp must run as root or carry cap_net_raw (`.ci/run`
 * grants it when it is not run as root). The pcap tests never skip: where sipp cannot open
 * the socket they fail, and sipp's own error says why.
 */

// ── processes (tool-process.ts) ──────────────────────────────────────────

export {
  CLEAN_EXIT,
  ToolProcess,
  killAll,
  runningCount,
  spawnTool,
  type Exit,
  requireTool,
  type SpawnOptions,
} from './tool-process.ts';
// ── ports ────────────────────────────────────────────────────────────────

/*
 * Tools get fixed ports from 20000–29999: below the harness's RTP ranges (30000–40000),
 * the test phone's (42000–49000) and Linux's ephemeral range (32768+), where the
 * in-process server's SIP/HTTP ports land.
 */
const PORT_LOW = 20000;
const PORT_HIGH = 29999;
const handedOut = new Set<number>();

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, LOOPBACK, () => s.close(() => resolve(true)));
  });
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, LOOPBACK, () => s.close(() => resolve(true)));
  });
}

/**
 * A block of `count` consecutive ports, all free on 127.0.0.1 for UDP and TCP, not
 * handed out before in this process. Returns the first.
 */
export async function freePortBlock(count: number): Promise<number> {
  const blocks = Math.floor((PORT_HIGH - PORT_LOW + 1) / count);
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = PORT_LOW + Math.floor(Math.random() * blocks) * count;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((p) => handedOut.has(p))) continue;
    let free = true;
    for (const p of ports) {
      if (!(await udpFree(p)) || !(await tcpFree(p))) {
        free = false;
        break;
      }
    }
    if (!free) continue;
    for (const p of ports) handedOut.add(p);
    return base;
  }
  throw new Error(`no block of ${count} free ports in ${PORT_LOW}-${PORT_HIGH}`);
}

/** Resolves once something has bound UDP `port` on loopback (the tool is listening). */
export async function waitUdpBound(port: number, timeoutMs: number, proc?: ToolProcess): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (await udpFree(port)) {
    if (proc && !proc.alive)
      throw new Error(`${proc.name} exited before binding UDP ${port}\n${proc.tail()}`);
    if (Date.now() > until)
      throw new Error(
        `nothing bound UDP ${LOOPBACK}:${port} within ${timeoutMs} ms${proc ? `\n${proc.tail()}` : ''}`,
      );
    await sleep(20);
  }
}

// ── temp dirs ────────────────────────────────────────────────────────────

const dirs = new Set<string>();

/** A fresh directory under the OS temp dir; removed by removeTempDirs(). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `agentline-${prefix}-`));
  dirs.add(dir);
  return dir;
}

/** Removes the temp dirs; set KEEP_INTEROP=1 to keep them (sipp traces, baresip dumps). */
export function removeTempDirs(): void {
  for (const d of dirs) {
    if (process.env.KEEP_INTEROP) console.log(`interop: kept ${d}`);
    else rmSync(d, { recursive: true, force: true });
  }
  dirs.clear();
}

/** afterAll of every interop suite: removes the temp dirs and checks that no tool process is left. */
export function finishSuite(): void {
  removeTempDirs();
  expect(runningCount()).toBe(0);
}

/**
 * Registers the hooks every interop suite has (call it inside `describe`): `tool` looked up
 * before all (`lazy`: on first use, for suites with tests that do without it); after each
 * test `beforeKill`, every tool process killed, then `cleanup`; after all, finishSuite.
 * Returns the tool's path, looked up once.
 */
export function toolSuite(
  tool: string,
  debianPackage: string,
  o: { lazy?: boolean; beforeKill?: () => void; cleanup?: () => Promise<void> } = {},
): () => string {
  let file: string | undefined;
  const find = (): string => (file ??= requireTool(tool, debianPackage));
  if (!o.lazy) beforeAll(() => void find());
  afterEach(async () => {
    o.beforeKill?.();
    await killAll();
    await o.cleanup?.();
  });
  afterAll(finishSuite);
  return find;
}

/** A text file's content, or '' when it does not exist (optional sipp traces). */
export const readIfExists = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

// ── netstrings (baresip ctrl_tcp) ────────────────────────────────────────

/** `<len>:<bytes>,` (https://cr.yp.to/proto/netstrings.txt). */
export function netstring(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}:`, 'latin1'), body, Buffer.from(',', 'latin1')]);
}

/** Splits complete netstrings off the front of `buf`; returns them and the rest. */
export function parseNetstrings(buf: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = [];
  let off = 0;
  for (;;) {
    const colon = buf.indexOf(0x3a, off);
    if (colon < 0) break;
    const lenText = buf.toString('latin1', off, colon);
    if (!/^\d{1,9}$/.test(lenText)) throw new Error(`bad netstring length ${JSON.stringify(lenText)}`);
    const len = Number(lenText);
    const end = colon + 1 + len;
    if (buf.length < end + 1) break;
    if (buf[end] !== 0x2c) throw new Error('netstring without trailing comma');
    messages.push(buf.toString('utf8', colon + 1, end));
    off = end + 1;
  }
  return { messages, rest: buf.subarray(off) };
}

/** A message from baresip's ctrl_tcp: an event or a response to a command. */
export interface CtrlMessage {
  event?: boolean;
  type?: string;
  response?: boolean;
  ok?: boolean;
  data?: string;
  token?: string;
  param?: string;
  [key: string]: unknown;
}

/**
 * Client for baresip's ctrl_tcp module: JSON commands in netstrings, events and
 * responses back (one TCP connection at a time, INTEROP.md).
 */
export class CtrlTcp {
  readonly messages: CtrlMessage[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private waiters: { match: (m: CtrlMessage) => boolean; resolve: (m: CtrlMessage) => void }[] = [];
  private nextToken = 1;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => {});
  }

  /** Connects, retrying while baresip starts (until `timeoutMs`). */
  static async connect(port: number, timeoutMs: number, proc?: ToolProcess): Promise<CtrlTcp> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const socket = await new Promise<net.Socket | undefined>((resolve) => {
        const s = net.connect(port, LOOPBACK);
        s.once('connect', () => resolve(s));
        s.once('error', () => {
          s.destroy();
          resolve(undefined);
        });
      });
      if (socket) return new CtrlTcp(socket);
      if (proc && !proc.alive)
        throw new Error(`${proc.name} exited before ctrl_tcp listened\n${proc.tail()}`);
      if (Date.now() > until)
        throw new Error(
          `ctrl_tcp on ${LOOPBACK}:${port} not reachable within ${timeoutMs} ms${proc ? `\n${proc.tail()}` : ''}`,
        );
      await sleep(50);
    }
  }

  private onData(d: Buffer): void {
    const { messages, rest } = parseNetstrings(Buffer.concat([this.buf, d]));
    this.buf = rest;
    for (const text of messages) {
      let m: CtrlMessage;
      try {
        m = JSON.parse(text) as CtrlMessage;
      } catch {
        continue;
      }
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(m)) return true;
        w.resolve(m);
        return false;
      });
    }
  }

  /** The first message (already received or still to come) that matches, or throws after `timeoutMs`. */
  waitFor(match: (m: CtrlMessage) => boolean, timeoutMs: number, what: string): Promise<CtrlMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: CtrlMessage) => {
          clearTimeout(t);
          resolve(m);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `baresip ctrl_tcp: no ${what} within ${timeoutMs} ms; got ${this.messages.map((x) => x.type ?? `response ${x.token}`).join(', ')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  waitEvent(type: string, timeoutMs: number): Promise<CtrlMessage> {
    return this.waitFor((m) => m.event === true && m.type === type, timeoutMs, `event ${type}`);
  }

  /** Sends a command; resolves with its response. */
  async command(command: string, params?: string, timeoutMs = 3000): Promise<CtrlMessage> {
    const token = String(this.nextToken++);
    this.socket.write(
      netstring(JSON.stringify({ command, ...(params !== undefined ? { params } : {}), token })),
    );
    return this.waitFor((m) => m.response === true && m.token === token, timeoutMs, `response to ${command}`);
  }

  close(): void {
    this.socket.destroy();
  }
}

// ── the server side ──────────────────────────────────────────────────────

export interface SeenCall {
  called: string;
  caller: string;
  /** Keys the server's leg decoded, in order. */
  digits: string[];
  ended: boolean;
}

/**
 * Records every inbound call the server routes, with the keys its leg decodes
 * (the Leg's 'dtmf' event), by wrapping the engine's onInbound hook.
 */
export function watchInbound(server: Server): SeenCall[] {
  const seen: SeenCall[] = [];
  const route = server.engine.onInbound;
  server.engine.onInbound = (call) => {
    const entry: SeenCall = { called: call.called, caller: call.caller, digits: [], ended: false };
    seen.push(entry);
    call.leg.on('dtmf', (d) => entry.digits.push(d));
    call.leg.on('ended', () => (entry.ended = true));
    route?.(call);
  };
  return seen;
}

/** An agent as the admin API shows it (the fields these tests read). */
export interface AgentJson {
  state: string;
  contact: string;
}

export const getAgentJson = async (server: Server, login: string): Promise<AgentJson> =>
  (await api<AgentJson>(server, `/api/v1/agents/${login}`)).body;

/** Polls (up to 3 s) until the agent's state, as the API shows it, is `state`. */
export const waitAgentState = (server: Server, login: string, state: string, what: string): Promise<void> =>
  eventually(async () => (await getAgentJson(server, login)).state === state, 3000, what);

// ── sipp ─────────────────────────────────────────────────────────────────

export interface SippRun {
  proc: ToolProcess;
  /** Its working directory (scenario, pcaps, traces). */
  cwd: string;
  /** Its SIP port (UDP). */
  sipPort: number;
  /** Its media port (-mp; sipp also binds -mp+2). */
  mediaPort: number;
  /** -trace_msg output: every SIP message sent and received. */
  messages: () => string;
  /** -trace_err output: unexpected messages and scenario errors. */
  errors: () => string;
  /** Exit code meanings (sipp(1)): 0 all calls succeeded, 1 some failed, 97/99 no call, 255/254 fatal. */
  finish: (ms: number) => Promise<Exit>;
  /** Everything worth printing when it failed. */
  report: () => string;
}

export interface SippOptions {
  /** Scenario file name in test/fixtures/interop (copied into `cwd`, next to its pcaps). */
  scenario: string;
  /** Working directory (pcaps are looked up next to the scenario, then here). */
  cwd: string;
  /** UAC: the server's SIP port (remote host is always 127.0.0.1); UAS: omit. */
  remotePort?: number;
  /** -s: the Request-URI user of a UAC. */
  service?: string;
  /** Ports from freePortBlock(8): SIP base, control base+1, media base+4 (and +6). */
  portBase: number;
  /** -rtp_echo on the media port. */
  rtpEcho?: boolean;
  /** sipp's -timeout (global), seconds. */
  timeoutS?: number;
  name?: string;
}

/**
 * Starts sipp for one call (-m 1) on loopback with fixed ports, no stdin, a global
 * timeout that counts as failure, and message/error traces in `cwd` (INTEROP.md).
 */
export function startSipp(sipp: string, o: SippOptions): SippRun {
  const name = o.name ?? o.scenario.replace(/\.xml$/, '');
  const scenario = path.join(o.cwd, o.scenario);
  writeFileSync(scenario, readFileSync(path.join(FIXTURES, o.scenario)));
  const sipPort = o.portBase;
  const mediaPort = o.portBase + 4;
  const msgFile = path.join(o.cwd, `${name}-messages.log`);
  const errFile = path.join(o.cwd, `${name}-errors.log`);
  const timeoutS = o.timeoutS ?? 30;
  const args = [
    ...(o.remotePort !== undefined ? [`${LOOPBACK}:${o.remotePort}`] : []),
    '-sf',
    scenario,
    ...(o.service !== undefined ? ['-s', o.service] : []),
    '-m',
    '1',
    '-nostdin',
    '-timeout',
    String(timeoutS),
    '-timeout_error',
    '-i',
    LOOPBACK,
    '-p',
    String(sipPort),
    '-ci',
    LOOPBACK,
    '-cp',
    String(o.portBase + 1),
    '-mi',
    LOOPBACK,
    '-mp',
    String(mediaPort),
    ...(o.rtpEcho ? ['-rtp_echo'] : []),
    '-trace_msg',
    '-message_file',
    msgFile,
    '-trace_err',
    '-error_file',
    errFile,
  ];
  const proc = spawnTool(sipp, args, { cwd: o.cwd, timeoutMs: (timeoutS + 10) * 1000, name });
  const messages = (): string => readIfExists(msgFile);
  const errors = (): string => readIfExists(errFile);
  return {
    proc,
    cwd: o.cwd,
    sipPort,
    mediaPort,
    messages,
    errors,
    finish: (ms) => proc.wait(ms),
    report: () =>
      `${proc.tail(25)}\n--- ${name} errors ---\n${errors()}\n--- ${name} SIP messages ---\n${messages()}`,
  };
}
