import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { configSchema, type Config } from '../../src/config/config.ts';
import { Server, type ServerDeps } from '../../src/server.ts';
import type { ServiceIvrTimings } from '../../src/ivr/service-menu/service-ivr.ts';
import { TestPhone, type PhoneOptions } from '../phone/phone.ts';
import type { Clock } from '../../src/util/clock.ts';
import { PHONE_RTP, SERVER_RTP, blocks } from './ports.ts';
import { afterAll, beforeAll } from 'vitest';
import { startTestPostgres, type TestPostgres } from '../../src/store/postgres/test-server.ts';

/** GET an admin API path with the test token. */
export async function api<T = unknown>(
  server: Server,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
    ...init,
    headers: {
      authorization: 'Bearer test-token-123',
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.headers ?? {}),
    },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export const SERVICE = '+79262951361';

const nextRtpBlock = blocks(SERVER_RTP, 1000);
TestPhone.portRange = PHONE_RTP;

export interface TestServerOptions extends Partial<Record<keyof Config, unknown>> {
  ivrTimings?: ServiceIvrTimings;
  clock?: Clock;
  sipT1?: number;
  authThrottle?: { failures: number; windowMs: number };
  logger?: Logger;
  /**
   * The demo companies' `acceptCall`. Default `off`: the call-flow tests that do
   * not test the accept key expect the customer through right after the whisper.
   */
  acceptCall?: 'off' | 'key';
  /** How long a silent trunk is waited for before the next (Server's trunkNoResponseMs). */
  trunkNoResponseMs?: number;
  /** Session timer policy (RFC 4028) below the RFC's 90 s floor, for expiry tests in seconds. */
  sessionTimer?: ServerDeps['sessionTimer'];
}

let testPostgres: TestPostgres | undefined;

/**
 * From here on in this test file, servers open a fresh PostgreSQL database each (instead of
 * SQLite `:memory:`), on a PostgreSQL server of the file's own, started before its first test
 * and removed after its last. `AGENTLINE_TEST_DB=postgres` turns it on for every file.
 */
export function onPostgres(): void {
  beforeAll(async () => {
    testPostgres = await startTestPostgres();
  }, 60_000);
  afterAll(async () => {
    await testPostgres?.stop();
    testPostgres = undefined;
  });
}
if (process.env.AGENTLINE_TEST_DB === 'postgres') onPostgres();

/** A new empty database for a server: PostgreSQL under onPostgres(), else SQLite `:memory:`. */
export async function freshTestDb(): Promise<string> {
  return testPostgres ? testPostgres.freshDatabase() : ':memory:';
}

export const FAST_IVR: ServiceIvrTimings = { firstDigitMs: 4000, interDigitMs: 1500, menuIdleMs: 2500 };

/** A server on loopback with ephemeral SIP/HTTP ports and its own RTP range. */
export async function startServer(o: TestServerOptions = {}): Promise<Server> {
  const {
    ivrTimings,
    clock,
    sipT1,
    authThrottle,
    logger,
    acceptCall,
    trunkNoResponseMs,
    sessionTimer,
    ...rest
  } = o;
  const base = nextRtpBlock();
  const config = configSchema.parse({
    sipHost: '127.0.0.1',
    sipPort: 0,
    httpPort: 0,
    rtpPorts: `${base}-${base + 999}`,
    db: rest.db ?? (await freshTestDb()),
    logLevel: process.env.TEST_LOG ?? 'silent',
    adminToken: 'test-token-123',
    diagnostics: true, // most tests check a line with 9000–9002
    demo: true, // the call-flow and API tests use the demo company
    // Call-flow tests place many calls from one loopback address; the limits tests set their own.
    inviteRate: 1000,
    inviteBurst: 1000,
    // Local media unless TEST_MEDIA_WORKERS=2 runs a suite's calls on media worker threads (issue 13);
    // chosen here, not by the server's default (one worker per core).
    mediaWorkers: process.env.TEST_MEDIA_WORKERS ?? 0,
    ...rest,
  });
  const t1 = sipT1 ?? 100;
  const server = new Server(config, {
    clock,
    sipTimers: { t1, t2: 4 * t1, t4: 5 * t1 },
    ivrTimings: ivrTimings ?? FAST_IVR,
    inCallTimings: { menuTimeoutMs: 3000, announceChoiceMs: 2500 },
    authThrottle,
    logger,
    trunkNoResponseMs,
    sessionTimer,
  });
  await server.start();
  for (const c of await server.store.directory.listCompanies())
    await server.store.directory.updateCompanySettings(c.id, { acceptCall: acceptCall ?? 'off' });
  return server;
}

export async function phone(opts: Partial<PhoneOptions> & { number: string }): Promise<TestPhone> {
  return TestPhone.create(opts);
}

/** Polls until `check` holds or the time is up. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A bare UDP socket for raw SIP: sends bytes, collects the datagrams that come back. */
export class RawSip {
  readonly received: Buffer[] = [];
  private constructor(readonly socket: dgram.Socket) {}

  /** `address`: any loopback address (127.0.0.0/8), to play another source. */
  static async open(address = '127.0.0.1'): Promise<RawSip> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, address, () => r()));
    const raw = new RawSip(socket);
    socket.on('message', (m) => raw.received.push(m));
    return raw;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Buffer | string, port: number): void {
    this.socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, '127.0.0.1');
  }

  /**
   * Sends an INVITE for `user` to the server on `serverPort`, offering `sdp`, with this
   * socket as its Contact; returns the request as sent.
   */
  sendInvite(user: string, serverPort: number, sdp: string, callId?: string): string {
    const { address, port } = this.socket.address();
    const invite = rawRequest(
      'INVITE',
      `sip:${user}@127.0.0.1:${serverPort}`,
      port,
      `Contact: <sip:raw@${address}:${port}>\r\nContent-Type: application/sdp\r\n`,
      sdp,
      callId,
    );
    this.send(invite, serverPort);
    return invite;
  }

  /** Waits for a response whose status line matches. */
  async waitFor(re: RegExp, timeoutMs = 2000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.map((b) => b.toString('latin1')).find((t) => re.test(t));
      if (hit) return hit;
      if (Date.now() > until)
        throw new Error(
          `no message matching ${re} (got ${this.received.length}: ${this.received.map((b) => b.toString('latin1').split('\r\n')[0]).join(' | ')})`,
        );
      await sleep(20);
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** A minimal request for raw tests, addressed to the server on loopback. */
export function rawRequest(
  method: string,
  ruri: string,
  port: number,
  extra = '',
  body = '',
  callId = `raw-${Math.random()}`,
): string {
  return (
    `${method} ${ruri} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${Math.random().toString(36).slice(2)};rport\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:raw@127.0.0.1>;tag=r1\r\n` +
    `To: <${ruri}>\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: 1 ${method}\r\n` +
    extra +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
    body
  );
}

/** A pino logger that keeps its JSON lines in memory, for tests that check what was logged. */
export function memoryLog(level = 'info'): {
  logger: Logger;
  /** Everything written so far, as written. */
  text: () => string;
  /** The lines written so far, parsed. */
  lines: () => Record<string, unknown>[];
} {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const text = (): string => chunks.join('');
  return {
    logger: pino({ level }, sink),
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
