import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../util/fake-clock.ts';
import { InviteAdmission, type AllowanceSource } from './invite-admission.ts';

const anonymous = { rate: 10, burst: 20 };
const trunkAt = (address: string, rate = 100): AllowanceSource => ({
  allowanceFor: (a) => (a === address ? { kind: 'trunk', allowance: { rate, burst: 2 * rate } } : undefined),
});

function flood(adm: InviteAdmission, address: string, n: number): { ok: number; refused: number } {
  let ok = 0;
  for (let i = 0; i < n; i++) if (!adm.check(address)) ok++;
  return { ok, refused: n - ok };
}

describe('InviteAdmission', () => {
  describe('calls per source address', () => {
    it('an anonymous source gets its burst, then 503 with Retry-After', () => {
      const adm = new InviteAdmission({ clock: new FakeClock(), anonymous });
      expect(flood(adm, '192.0.2.1', 20)).toEqual({ ok: 20, refused: 0 });
      const r = adm.check('192.0.2.1');
      expect(r).toMatchObject({ status: 503, cause: 'rate', retryAfter: 1 });
      expect(adm.counters.rate).toBe(1);
    });

    it('another source is not affected by one source’s flood', () => {
      const adm = new InviteAdmission({ clock: new FakeClock(), anonymous });
      flood(adm, '192.0.2.1', 500);
      expect(adm.check('192.0.2.2')).toBeUndefined();
    });

    it('a trunk has its own, higher allowance (hook for a trunk table)', () => {
      const adm = new InviteAdmission({
        clock: new FakeClock(),
        anonymous,
        sources: [trunkAt('198.51.100.7', 50)],
      });
      expect(adm.classify('198.51.100.7').kind).toBe('trunk');
      expect(flood(adm, '198.51.100.7', 120)).toEqual({ ok: 100, refused: 20 });
    });

    it('the first source that knows an address decides', () => {
      const registered: AllowanceSource = {
        allowanceFor: () => ({ kind: 'registered', allowance: { rate: 30, burst: 60 } }),
      };
      const adm = new InviteAdmission({
        clock: new FakeClock(),
        anonymous,
        sources: [trunkAt('198.51.100.7'), registered],
      });
      expect(adm.classify('198.51.100.7').kind).toBe('trunk');
      expect(adm.classify('203.0.113.5').kind).toBe('registered');
    });

    it('a refused source is let in again once tokens are back', () => {
      const clock = new FakeClock();
      const adm = new InviteAdmission({ clock, anonymous });
      flood(adm, '192.0.2.1', 30);
      clock.advance(1000);
      expect(flood(adm, '192.0.2.1', 10)).toEqual({ ok: 10, refused: 0 });
    });
  });

  describe('global cap on calls', () => {
    it('refuses at the cap, whoever asks', () => {
      let active = 3;
      const adm = new InviteAdmission({
        clock: new FakeClock(),
        anonymous,
        sources: [trunkAt('198.51.100.7')],
        maxCalls: 3,
        activeCalls: () => active,
      });
      expect(adm.check('198.51.100.7')).toMatchObject({ cause: 'max_calls', retryAfter: 10 });
      active = 2;
      expect(adm.check('198.51.100.7')).toBeUndefined();
    });
  });

  describe('port pool reserve', () => {
    it('below the reserve anonymous sources are refused, trunks still get in; empty: nobody', () => {
      const pool = { free: 100, capacity: 1000 };
      const adm = new InviteAdmission({
        clock: new FakeClock(),
        anonymous,
        sources: [trunkAt('198.51.100.7')],
        ports: () => pool,
      });
      expect(InviteAdmission.reserveFor(1000)).toBe(50);
      expect(adm.check('192.0.2.1')).toBeUndefined();
      pool.free = 50;
      expect(adm.check('192.0.2.1')).toMatchObject({ status: 503, cause: 'ports_low', retryAfter: 10 });
      expect(adm.check('198.51.100.7')).toBeUndefined();
      pool.free = 0;
      expect(adm.check('198.51.100.7')).toMatchObject({ cause: 'ports_low' });
      expect(adm.counters).toMatchObject({ ports_low: 2, admitted: 2 });
    });

    it('a tiny pool keeps at least 2 pairs back', () => {
      expect(InviteAdmission.reserveFor(4)).toBe(2);
    });
  });
});
