/**
 * deploy/agentline.service through `systemd-analyze verify` (systemd 252 on the CI machine).
 * verify exits 0 on an unknown key or an unparsable value and only warns, and it fails when
 * ExecStart's binary does not exist; so we verify a copy whose ExecStart names this machine's
 * node (the unit's /usr/bin/node may live elsewhere here), and count any warning as a failure.
 * Then the settings the server relies on, read from the unit itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const UNIT = readFileSync(path.join(ROOT, 'deploy', 'agentline.service'), 'utf8');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'agentline-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function analyze(verb: string[], text: string): { status: number | null; output: string } {
  const file = path.join(tmp, 'agentline.service');
  writeFileSync(file, text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
  const r = spawnSync('systemd-analyze', [...verb, file], { encoding: 'utf8' });
  if (r.error) throw r.error; // systemd-analyze missing: .ci/run installs the systemd package
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}
const verify = (text: string): { status: number | null; output: string } => analyze(['verify'], text);

/** `Key=value` lines of the unit (the last one wins, as systemd reads most keys). */
const settings = new Map<string, string[]>();
for (const line of UNIT.split('\n')) {
  const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
  if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
}
const last = (key: string): string | undefined => settings.get(key)?.at(-1);

describe('deploy/agentline.service', () => {
  it('passes systemd-analyze verify with no warning', () => {
    expect(verify(UNIT)).toEqual({ status: 0, output: '' });
  });

  it('verify as we run it catches mistakes (so a clean run means something)', () => {
    expect(verify(UNIT.replace('KillSignal=SIGTERM', 'KillSignal=SIGTREM')).output).toMatch(/signal name/);
    expect(verify(UNIT.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes')).output).toMatch(/Unknown key/);
    const missing = verify(UNIT.replace(/^ExecStart=\/usr\/bin\/node /m, 'ExecStart=/nonexistent/node '));
    expect(missing.status).not.toBe(0);
    expect(missing.output).toMatch(/not executable/);
  });

  it('runs the built CLI as its own user, without the demo company', () => {
    expect(last('ExecStart')).toBe('/usr/bin/node /opt/agentline/dist/cli/main.js start');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    expect(pkg.scripts.start).toMatch(/\bnode dist\/cli\/main\.js start\b/); // the same entrypoint
    expect(last('User')).toBe('agentline');
    expect(last('User')).not.toMatch(/^(root|0)$/);
    expect(UNIT).not.toMatch(/--demo|AGENTLINE_DEMO/);
    expect(last('EnvironmentFile')).toBe('-/etc/agentline/agentline.env');
    expect(settings.get('Environment')).toContain('AGENTLINE_DB=/var/lib/agentline/agentline.db');
  });

  it('stops as the server drains: SIGTERM, 10 s before a kill, restart on failure but not on a bad flag', () => {
    expect(last('KillSignal')).toBe('SIGTERM');
    expect(Number(last('TimeoutStopSec'))).toBeGreaterThan(5); // the server exits within 5 s
    expect(last('Restart')).toBe('on-failure');
    expect(last('RestartPreventExitStatus')).toBe('2'); // src/cli/main.ts: EXIT_USAGE
    expect(last('LimitNOFILE')).toBe('65536');
  });

  it('is hardened, with the data directory the only writable path', () => {
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['PrivateDevices', 'yes'],
      ['StateDirectory', 'agentline'],
      ['ReadWritePaths', '/var/lib/agentline'],
      ['CapabilityBoundingSet', ''],
    ])
      expect(last(key!), key).toBe(value);
    // V8's JIT needs writable+executable pages: this would kill node at start.
    expect(last('MemoryDenyWriteExecute') ?? 'no').toBe('no');
    // node raises its own RLIMIT_NOFILE soft limit at start (setrlimit is in @resources).
    expect(settings.get('SystemCallFilter')?.join(' ')).not.toMatch(/~.*@resources/);
    const exposure = analyze(['security', '--offline=yes'], UNIT);
    const level = /Overall exposure level for agentline\.service: ([\d.]+)/.exec(exposure.output)?.[1];
    expect(Number(level)).toBeLessThan(2.5); // 1.6 with systemd 252 ("OK"); 10 is unprotected
  });
});
