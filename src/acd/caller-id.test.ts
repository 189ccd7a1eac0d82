import { describe, expect, it } from 'vitest';
import { callerIdentityFor } from './caller-id.ts';

const customer = {
  callerId: '+79161234567',
  callerName: 'Ivan',
  callerPrivate: false,
  hotline: '+74950000001',
};
const headersOf = (p: ReturnType<typeof callerIdentityFor>): Record<string, string> =>
  Object.fromEntries(
    (typeof p.headers === 'function' ? p.headers('10.0.0.5', (n) => n) : (p.headers ?? [])).map((h) => [
      h.name,
      h.value,
    ]),
  );

describe('caller id policy on calls to agents and transfer targets', () => {
  it('default: From is the customer; PAI and Diversion name the hotline; no Privacy', () => {
    const p = callerIdentityFor(customer, 'customer');
    expect(p.callerId).toEqual({ user: '+79161234567', displayName: 'Ivan' });
    expect(headersOf(p)).toEqual({
      'P-Asserted-Identity': '<sip:+74950000001@10.0.0.5>',
      Diversion: '<sip:+74950000001@10.0.0.5>;reason=unconditional;counter=1',
    });
  });

  it('presentedCallerId hotline: From is the hotline', () => {
    const p = callerIdentityFor(customer, 'hotline');
    expect(p.callerId).toEqual({ user: '+74950000001' });
    expect(headersOf(p)['Diversion']).toContain('+74950000001');
  });

  it('a private or numberless customer: anonymous From (RFC 3323) and Privacy: id', () => {
    for (const c of [
      { ...customer, callerPrivate: true },
      { ...customer, callerId: '', callerName: undefined },
    ]) {
      const p = callerIdentityFor(c, 'customer');
      expect(p.callerId).toEqual({ user: 'anonymous', displayName: 'Anonymous', host: 'anonymous.invalid' });
      const h = headersOf(p);
      expect(h['Privacy']).toBe('id');
      expect(h['P-Asserted-Identity']).toBe('<sip:+74950000001@10.0.0.5>');
      expect(JSON.stringify(h)).not.toContain('+79161234567');
    }
  });

  it('a trunk writing numbers nationally gets the hotline that way in PAI and Diversion', () => {
    const p = callerIdentityFor(customer, 'customer');
    const h = typeof p.headers === 'function' ? p.headers('10.0.0.5', (n) => n.replace('+7', '8')) : [];
    expect(h.map((x) => x.value)).toEqual([
      '<sip:84950000001@10.0.0.5>',
      '<sip:84950000001@10.0.0.5>;reason=unconditional;counter=1',
    ]);
  });
});
