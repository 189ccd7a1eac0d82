/**
 * Attacked with sipvicious 0.3.3 (Debian `sipvicious`) over loopback, as issue 11 asks:
 *
 * - `svwar` (extension enumeration) with REGISTER, INVITE and OPTIONS, with and
 *   without --force, over a range holding existing and missing SIP accounts,
 *   reports none of them: the server answers every username alike.
 * - `svcrack` (digest password guessing) with 50 passwords, the right one last,
 *   restarted for 60 s like a patient attacker: at most 5 guesses are ever
 *   evaluated (the (source, user) throttle), it never finds the password, and
 *   a missing account is throttled exactly the same way. A NAT neighbour (same
 *   address, another account) still registers.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REALM, type Server } from '../../src/server.ts';
import { phone, startServer } from '../integration/harness.ts';
import { LOOPBACK, finishSuite, freePortBlock, killAll, requireTool, spawnTool, tempDir } from './tools.ts';

const EXISTING = ['2001', '2003', '2005', '2010'];
const RANGE = '2000-2012';
const PASSWORD = 'correct-horse-42';

describe('sipvicious against the registrar and the UA', () => {
  let svwar: string;
  let svcrack: string;
  let server: Server;

  beforeAll(async () => {
    // Fails the suite with "install the Debian package sipvicious" when missing.
    svwar = requireTool('svwar', 'sipvicious');
    svcrack = requireTool('svcrack', 'sipvicious');
    server = await startServer();
    for (const user of EXISTING) await server.store.directory.createSipAccount(user, PASSWORD, REALM);
    await server.loadSipCredentials();
  });

  afterEach(killAll);

  afterAll(async () => {
    await server.stop();
    finishSuite();
  });

  /** Common sipvicious flags: our loopback address in Via/Contact, a port of our own. */
  const common = async (): Promise<string[]> => [
    '-p',
    String(server.sipPort),
    '-x',
    LOOPBACK,
    '-b',
    LOOPBACK,
    '-P',
    String(await freePortBlock(1)),
    '-v',
  ];

  for (const method of ['REGISTER', 'INVITE', 'OPTIONS'] as const) {
    for (const force of [false, true]) {
      it(`svwar -m ${method}${force ? ' --force' : ''} cannot tell existing accounts from missing ones`, async () => {
        const args = [
          '-m',
          method,
          '-e',
          RANGE,
          ...(force ? ['--force'] : []),
          '-t',
          '0.05',
          '--maximumtime',
          '5',
          ...(await common()),
          LOOPBACK,
        ];
        const p = spawnTool(svwar, args, { timeoutMs: 60_000, name: `svwar-${method}` });
        const exit = await p.exited;
        const out = p.stdout + p.stderr;
        expect(exit.timedOut, p.tail()).toBe(false);
        // svwar prints a table row per extension it believes exists.
        const reported = [...out.matchAll(/^\|\s*(\d+)\s*\|/gm)].map((m) => m[1]);
        expect(reported, p.tail()).toEqual([]);
        expect(out).not.toMatch(/extension '\d+' (exists|probably exists)/);
        if (force) {
          // It did talk to us and scanned the whole range.
          expect(out, p.tail()).toMatch(/Ok SIP device found/);
          expect(out).toMatch(/found nothing/);
        } else if (method === 'REGISTER') {
          // Every username, even a random one, is challenged: svwar gives up at once.
          expect(out, p.tail()).toMatch(/authentication request for an unknown extension/);
        }
      }, 70_000);
    }
  }

  it('svcrack, restarted for 60 s, gets at most 5 guesses evaluated and never the password; a missing account alike', async () => {
    const dir = tempDir('svcrack');
    const words = path.join(dir, 'words.txt');
    const list = Array.from({ length: 49 }, (_, i) => `guess${i}`);
    writeFileSync(words, [...list, PASSWORD].join('\n') + '\n');

    /** svcrack against `user` until `ms` have passed; the registrar's stats delta. */
    const attack = async (user: string, ms: number) => {
      const before = { ...server.registrar.stats };
      const until = Date.now() + ms;
      let output = '';
      let runs = 0;
      while (Date.now() < until) {
        const p = spawnTool(svcrack, ['-u', user, '-d', words, ...(await common()), LOOPBACK], {
          timeoutMs: Math.max(1000, until - Date.now()),
          name: `svcrack-${user}`,
        });
        await p.exited;
        output += p.stdout + p.stderr;
        runs++;
      }
      const s = server.registrar.stats;
      return {
        runs,
        output,
        evaluated: s.evaluated - before.evaluated,
        failed: s.failed - before.failed,
        throttled: s.throttled - before.throttled,
        registered: s.registered - before.registered,
      };
    };

    const real = await attack('2001', 60_000);
    console.log(
      `svcrack 2001: ${real.runs} runs, ${real.evaluated} guesses evaluated, ${real.throttled} refused`,
    );
    expect(real.evaluated, real.output.slice(-2000)).toBeGreaterThan(0);
    expect(real.evaluated).toBeLessThanOrEqual(5);
    expect(real.registered).toBe(0);
    expect(real.throttled).toBeGreaterThan(0);
    expect(real.output).not.toMatch(/The password for .* is/);
    expect(real.output).not.toContain(PASSWORD);
    expect(server.registrar.lookup('2001')).toEqual([]);

    // A missing account: the same number of guesses, then the same refusal.
    const missing = await attack('2999', 15_000);
    expect(missing.evaluated).toBe(real.evaluated);
    expect(missing.throttled).toBeGreaterThan(0);
    expect(missing.output).not.toMatch(/User not found|The password for/);

    // The neighbour behind the same address (127.0.0.1) registers another account normally.
    const neighbour = await phone({ number: '2003' });
    try {
      expect(await neighbour.register('2003', PASSWORD, { port: server.sipPort })).toBe(200);
    } finally {
      await neighbour.close();
    }
    expect(server.registrar.lookup('2003')).toHaveLength(1);
  }, 120_000);
});
