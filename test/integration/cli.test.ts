/**
 * The real CLI in a child process (`node --import tsx src/cli/main.ts start`):
 * configuration from flags and AGENTLINE_* variables, a clear error and a
 * non-zero exit for bad values, and a graceful SIGTERM — live calls get a BYE,
 * new INVITEs get 503, the process exits 0 within 5 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { IncomingRequest } from '../../src/sip/stack.ts';
import { RawSip, rawRequest, sleep, startServer } from './harness.ts';
import { TestPhone } from '../phone/phone.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOKEN = 'testtoken123';

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

function runCli(args: string[], env: Record<string, string> = {}): Cli {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTLINE_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, output: () => out, exited };
}

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
    const cli = runCli([
      'start',
      '--sip-host',
      '127.0.0.1',
      '--sip-port',
      String(sipPort),
      '--http-port',
      String(httpPort),
      '--rtp-ports',
      '39000-39099',
      '--db',
      ':memory:',
      '--log-level',
      'warn',
      '--admin-token',
      TOKEN,
      '--diagnostics',
    ]);
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

  describe('bad configuration: a clear message and a non-zero exit, before listening', () => {
    const cases: { name: string; args: string[]; env?: Record<string, string>; message: RegExp }[] = [
      { name: '--sip-port abc', args: ['--sip-port', 'abc'], message: /invalid configuration: --sip-port: / },
      { name: '--sip-port 70000', args: ['--sip-port', '70000'], message: /--sip-port: / },
      { name: '--rtp-ports 5000', args: ['--rtp-ports', '5000'], message: /--rtp-ports: expected MIN-MAX/ },
      { name: '--rtp-ports 100-50', args: ['--rtp-ports', '100-50'], message: /--rtp-ports: RTP range/ },
      { name: '--log-level loud', args: ['--log-level', 'loud'], message: /--log-level: / },
      { name: '--admin-token short', args: ['--admin-token', 'short'], message: /--admin-token: / },
      { name: '--trunk http://x', args: ['--trunk', 'http://x'], message: /--trunk: expected sip:HOST/ },
      { name: 'an unknown flag', args: ['--sip-prot', '5060'], message: /Unknown option '--sip-prot'/ },
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
        expect(code).not.toBe(0);
        expect(code).not.toBeNull();
        expect(cli.output()).toMatch(c.message);
        expect(cli.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
      });
    }

    it('no command: usage and exit code 2', async () => {
      const cli = runCli([]);
      const { code } = await cli.exited;
      expect(code).toBe(2);
      expect(cli.output()).toMatch(/^usage: agentline start/);
    });
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
