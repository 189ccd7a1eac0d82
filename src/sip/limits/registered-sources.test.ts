import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../util/fake-clock.ts';
import type { SipResponse } from '../message/types.ts';
import { RegisteredSources, StaticSources, registrationLifetimeS } from './registered-sources.ts';

const trusted = { rate: 100, burst: 200 };

const ok = (...contacts: string[]): SipResponse => ({
  kind: 'response',
  version: 'SIP/2.0',
  status: 200,
  reason: 'OK',
  headers: contacts.map((value) => ({ name: 'Contact', value })),
  body: Buffer.alloc(0),
});

describe('registered phones’ source addresses', () => {
  it('the lifetime is the longest binding of the 200', () => {
    expect(registrationLifetimeS(ok('<sip:a@192.0.2.1>;expires=300', '<sip:b@192.0.2.1>;expires=3600'))).toBe(
      3600,
    );
    expect(registrationLifetimeS(ok())).toBe(0);
    expect(registrationLifetimeS({ ...ok('<sip:a@192.0.2.1>;expires=300'), status: 401 })).toBe(0);
  });

  it('an address is trusted while its registration lives, then no more', () => {
    const clock = new FakeClock();
    const r = new RegisteredSources(clock, trusted);
    expect(r.allowanceFor('192.0.2.1')).toBeUndefined();
    r.noteRegistered('192.0.2.1', 60);
    expect(r.allowanceFor('192.0.2.1')).toEqual({ kind: 'registered', allowance: trusted });
    expect(r.allowanceFor('192.0.2.2')).toBeUndefined();
    clock.advance(60_000);
    expect(r.allowanceFor('192.0.2.1')).toBeUndefined();
  });

  it('a shorter refresh does not cut a longer registration short', () => {
    const clock = new FakeClock();
    const r = new RegisteredSources(clock, trusted);
    r.noteRegistered('192.0.2.1', 3600);
    r.noteRegistered('192.0.2.1', 10);
    clock.advance(60_000);
    expect(r.allowanceFor('192.0.2.1')?.kind).toBe('registered');
  });

  it('static sources (the --trunk host) know only their addresses', () => {
    const s = new StaticSources('trunk', ['198.51.100.7'], trusted);
    expect(s.allowanceFor('198.51.100.7')?.kind).toBe('trunk');
    expect(s.allowanceFor('198.51.100.8')).toBeUndefined();
  });
});
