import { describe, expect, it } from 'vitest';
import { FakeClock } from '../util/fake-clock.ts';
import { quiet, until } from '../util/testing.ts';
import type { Binding } from './contact-resolver.ts';
import { SharedBindings, type SharedBindingRow } from './shared-bindings.ts';

const KAM = { transport: 'udp', address: '127.0.0.1', port: 5060 } as const;

function rig(rows: () => SharedBindingRow[] | Error, own: Record<string, Binding[]> = {}) {
  const clock = new FakeClock();
  let loads = 0;
  const shared = new SharedBindings(
    { lookup: (user) => own[user] ?? [] },
    {
      clock,
      intervalMs: 1000,
      logger: quiet,
      load: () => {
        loads++;
        const r = rows();
        return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
      },
    },
  );
  return { clock, shared, loads: () => loads };
}

const row = (aor: string, port: number, expiresAt: number): SharedBindingRow => ({
  aor,
  contact: `<sip:${aor}@127.0.0.1:${port}>`,
  expiresAt,
  source: KAM,
});

describe('SharedBindings', () => {
  it('finds a phone another node registered, until it expires', async () => {
    const { clock, shared } = rig(() => [row('1001', 6001, clock.wallNow() + 5000)]);
    await shared.start();
    const found = shared.lookup('1001');
    expect(found.map((b) => [b.contact.port, b.source])).toEqual([[6001, KAM]]);
    clock.advance(6000);
    expect(shared.lookup('1001')).toEqual([]);
    shared.stop();
  });

  it('answers from its own registrar first', async () => {
    const mine: Binding = {
      contact: {
        scheme: 'sip',
        user: '1001',
        host: '127.0.0.1',
        port: 7001,
        params: new Map(),
        headers: new Map(),
      },
      source: KAM,
    };
    const { clock, shared } = rig(() => [row('1001', 6001, clock.wallNow() + 5000)], { '1001': [mine] });
    await shared.start();
    expect(shared.lookup('1001')).toEqual([mine]);
    shared.stop();
  });

  it('reads the store again every interval: an unregistered phone is gone, and keeps the last view when the store fails', async () => {
    let rows: SharedBindingRow[] | Error = [];
    const { clock, shared, loads } = rig(() => rows);
    rows = [row('1002', 6002, clock.wallNow() + 60_000)];
    await shared.start();
    expect(shared.lookup('1002')).toHaveLength(1);
    rows = new Error('connection lost');
    clock.advance(1000);
    await until(() => loads() === 2);
    expect(shared.lookup('1002')).toHaveLength(1);
    rows = [];
    clock.advance(1000);
    await until(() => loads() === 3);
    await until(() => shared.lookup('1002').length === 0);
    shared.stop();
    clock.advance(5000);
    expect(loads()).toBe(3);
  });
});
