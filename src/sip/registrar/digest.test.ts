import { describe, expect, it } from 'vitest';
import {
  buildAuthorization,
  buildChallenge,
  computeHa1,
  computeResponse,
  NonceService,
  parseAuthHeader,
  pickChallenge,
  verifyDigest,
} from './digest.ts';
import { itRejects } from '../message/testing.ts';
import { TimerlessClock } from '../../util/testing.ts';

/** Monotonic 1_000_000 ms at 1_700_000_000_000 + 1_000_000 wall time; starting a timer fails the test. */
const newClock = (): TimerlessClock => new TimerlessClock(1_000_000, 1_700_000_000_000 + 1_000_000);

describe('digest computations', () => {
  it('matches RFC 2617 §3.5 (MD5, qop=auth)', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    expect(
      computeResponse({
        algorithm: 'MD5',
        ha1,
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        method: 'GET',
        uri: '/dir/index.html',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('matches RFC 7616 §3.9.1 (MD5 and SHA-256)', () => {
    const common = {
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      method: 'GET',
      uri: '/dir/index.html',
      qop: 'auth',
      nc: '00000001',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    };
    expect(
      computeResponse({
        ...common,
        algorithm: 'MD5',
        ha1: computeHa1('MD5', 'Mufasa', 'http-auth@example.org', 'Circle of Life'),
      }),
    ).toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(
      computeResponse({
        ...common,
        algorithm: 'SHA-256',
        ha1: computeHa1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life'),
      }),
    ).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });
});

describe('parseAuthHeader', () => {
  it('reads quoted strings with commas and escapes', () => {
    const h = parseAuthHeader(
      'Digest realm="a, b", nonce="x\\"y" ,algorithm=SHA-256,qop="auth,auth-int", stale=TRUE',
    );
    expect(h?.scheme).toBe('Digest');
    expect(Object.fromEntries(h?.params ?? [])).toEqual({
      realm: 'a, b',
      nonce: 'x"y',
      algorithm: 'SHA-256',
      qop: 'auth,auth-int',
      stale: 'TRUE',
    });
    expect(parseAuthHeader('NoOneKnowsThisScheme opaque-data=here')?.params.get('opaque-data')).toBe('here');
  });

  itRejects(parseAuthHeader, [
    '',
    'Digest realm="x',
    'Digest realm',
    'Digest a=1, a=2',
    'Digest a=1 b=2',
    'Digest =1',
  ]);
});

describe('nonces', () => {
  it('are valid, then stale after their lifetime; forged ones are invalid', () => {
    const clock = newClock();
    const svc = new NonceService(clock, Buffer.from('k'));
    const n = svc.issue();
    expect(svc.check(n)).toBe('valid');
    clock.advance(299_000);
    expect(svc.check(n)).toBe('valid');
    clock.advance(2_000);
    expect(svc.check(n)).toBe('stale');
    expect(new NonceService(clock, Buffer.from('other')).check(n)).toBe('invalid');
    expect(svc.check(n.slice(0, -2) + (n.endsWith('AA') ? 'BB' : 'AA'))).toBe('invalid');
    expect(svc.check('short')).toBe('invalid');
  });
});

describe('client and server agree', () => {
  it('for SHA-256 and MD5, and reject a wrong password', () => {
    for (const algorithm of ['SHA-256', 'MD5'] as const) {
      const challenge = buildChallenge({ realm: 'agentline', nonce: 'abc', algorithm, opaque: 'o' });
      const value = buildAuthorization(challenge, {
        username: '100',
        password: 'pw',
        method: 'REGISTER',
        uri: 'sip:example.com',
      });
      const auth = parseAuthHeader(value ?? '');
      if (!auth) throw new Error('unparseable Authorization');
      expect(auth.params.get('algorithm')).toBe(algorithm);
      expect(auth.params.get('opaque')).toBe('o');
      expect(verifyDigest(auth, 'REGISTER', computeHa1(algorithm, '100', 'agentline', 'pw'))).toBe(true);
      expect(verifyDigest(auth, 'REGISTER', computeHa1(algorithm, '100', 'agentline', 'wrong'))).toBe(false);
      expect(verifyDigest(auth, 'INVITE', computeHa1(algorithm, '100', 'agentline', 'pw'))).toBe(false);
    }
  });

  it('picks SHA-256 over MD5 and skips unknown schemes', () => {
    const md5 = buildChallenge({ realm: 'r', nonce: 'n', algorithm: 'MD5' });
    const sha = buildChallenge({ realm: 'r', nonce: 'n', algorithm: 'SHA-256' });
    expect(pickChallenge(['Basic realm="r"', md5, sha])?.params.get('algorithm')).toBe('SHA-256');
    expect(
      pickChallenge([md5, 'Digest realm="r", nonce="n", algorithm=SHA-512-256'])?.params.get('algorithm'),
    ).toBe('MD5');
    expect(pickChallenge(['Basic realm="r"'])).toBeUndefined();
  });
});
