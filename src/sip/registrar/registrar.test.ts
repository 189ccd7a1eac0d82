import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getHeader, getHeaderValues, parseNameAddr, tagOf } from '../message/headers.ts';
import { parseMessage } from '../message/parse.ts';
import type { SipRequest, SipResponse } from '../message/types.ts';
import { buildAuthorization, computeHa1, pickChallenge } from './digest.ts';
import { Registrar } from './registrar.ts';
import type { BindingRecord, RegistrarOptions, RegistrationSource, StoredCredentials } from './registrar.ts';
import { TimerlessClock } from '../../util/testing.ts';

/** Monotonic 5_000 ms at 1_700_000_000_000 + 5_000 wall time; starting a timer fails the test. */
const newClock = (): TimerlessClock => new TimerlessClock(5_000, 1_700_000_000_000 + 5_000);

const REALM = 'agentline.test';
const SRC: RegistrationSource = { address: '192.0.2.50', port: 40123, transport: 'udp' };

let callSeq = 0;
interface RegOpts {
  user?: string;
  contacts?: string[];
  expires?: string;
  authorization?: string;
  callId?: string;
  cseq?: number;
}
function register(o: RegOpts = {}): SipRequest {
  const user = o.user ?? '100';
  const lines = [
    `REGISTER sip:${REALM} SIP/2.0`,
    'Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK' + callSeq++,
    'Max-Forwards: 70',
    `From: <sip:${user}@${REALM}>;tag=f1`,
    `To: <sip:${user}@${REALM}>`,
    `Call-ID: ${o.callId ?? 'reg-call-1'}`,
    `CSeq: ${o.cseq ?? callSeq} REGISTER`,
    ...(o.contacts ?? ['<sip:100@10.0.0.5:5060>']).map((c) => `Contact: ${c}`),
    ...(o.expires !== undefined ? [`Expires: ${o.expires}`] : []),
    ...(o.authorization !== undefined ? [`Authorization: ${o.authorization}`] : []),
    'Content-Length: 0',
    '',
    '',
  ];
  const r = parseMessage(Buffer.from(lines.join('\r\n')));
  if (!r.ok || r.message.kind !== 'request') throw new Error('bad REGISTER');
  return r.message;
}

function setup(
  creds: Record<string, StoredCredentials> = {
    '100': { password: 'secret' },
  },
  opts: Partial<RegistrarOptions> = {},
) {
  const clock = newClock();
  const registrar = new Registrar({
    realm: REALM,
    credentials: (u) => creds[u],
    clock,
    secret: Buffer.from('test-secret'),
    ...opts,
  });
  return { clock, registrar };
}

/** Both algorithms offered, SHA-256 first (RFC 8760 §2.4), as an operator may configure. */
const BOTH: Partial<RegistrarOptions> = { algorithms: ['SHA-256', 'MD5'] };

/** A response with what varies per request (nonce, tags, branch) blanked, to compare shapes. */
function shape(res: SipResponse): string {
  return [
    `${res.status} ${res.reason}`,
    ...res.headers
      .filter((h) => !/^(via|from|to|call-id|cseq)$/i.test(h.name))
      .map((h) => `${h.name}: ${h.value.replace(/nonce="[^"]*"/, 'nonce="…"')}`),
  ].join('\n');
}

/** Challenge, then answer it the way a phone would. */
function authed(
  registrar: Registrar,
  o: RegOpts & { password?: string; prefer?: 'MD5' } = {},
  source = SRC,
  /** Return the first answer when it is not a challenge (a blocked source). */
  orRefusal = false,
): SipResponse {
  const first = registrar.handle(register(o), source);
  if (orRefusal && first.status !== 401) return first;
  expect(first.status).toBe(401);
  const challenges = getHeaderValues(first, 'WWW-Authenticate');
  const chosen = o.prefer === 'MD5' ? challenges.find((c) => c.includes('algorithm=MD5')) : undefined;
  const challenge = chosen ?? pickChallenge(challenges);
  if (!challenge) throw new Error('no challenge');
  const authorization = buildAuthorization(challenge, {
    username: o.user ?? '100',
    password: o.password ?? 'secret',
    method: 'REGISTER',
    uri: `sip:${REALM}`,
  });
  return registrar.handle(register({ ...o, authorization, cseq: (o.cseq ?? 10) + 1 }), source);
}

describe('Registrar', () => {
  describe('authentication', () => {
    it('challenges with MD5 only by default (sipvicious and many phones fail on SHA-256)', () => {
      const { registrar } = setup();
      const res = registrar.handle(register(), SRC);
      expect(res.status).toBe(401);
      const ch = getHeaderValues(res, 'WWW-Authenticate');
      expect(ch).toHaveLength(1);
      expect(ch[0]).toMatch(/^Digest realm="agentline\.test", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
      expect(authed(registrar).status).toBe(200);
    });

    it('when configured, challenges with SHA-256 first, then MD5, and tags To', () => {
      const { registrar } = setup(undefined, BOTH);
      const res = registrar.handle(register(), SRC);
      expect(res.status).toBe(401);
      const ch = getHeaderValues(res, 'WWW-Authenticate');
      expect(ch).toHaveLength(2);
      expect(ch[0]).toContain('algorithm=SHA-256');
      expect(ch[1]).toContain('algorithm=MD5');
      expect(ch[0]).toContain(`realm="${REALM}"`);
      expect(tagOf(getHeader(res, 'To') ?? '')).toBeDefined();
    });

    it('accepts correct SHA-256 credentials and binds the contact', () => {
      const { registrar } = setup(undefined, BOTH);
      const res = authed(registrar, { expires: '600' });
      expect(res.status).toBe(200);
      const contacts = getHeaderValues(res, 'Contact').map(parseNameAddr);
      expect(contacts).toHaveLength(1);
      expect(contacts[0]?.uri.host).toBe('10.0.0.5');
      expect(contacts[0]?.params.get('expires')).toBe('600');
      const found = registrar.lookup('100');
      expect(found).toHaveLength(1);
      expect(found[0]?.contact).toMatchObject({ user: '100', host: '10.0.0.5', port: 5060 });
      expect(found[0]?.source).toEqual(SRC);
    });

    it("offers an account's own algorithms, and the server's to unknown users (issue 10)", () => {
      const { registrar } = setup({
        '100': { password: 'secret' },
        '101': { password: 'secret', algorithms: ['SHA-256', 'MD5'] },
      });
      const offered = (user: string): string[] =>
        getHeaderValues(registrar.handle(register({ user }), SRC), 'WWW-Authenticate').map(
          (c) => /algorithm=([^,]+)/.exec(c)?.[1] ?? '',
        );
      expect(offered('100')).toEqual(['MD5']);
      expect(offered('101')).toEqual(['SHA-256', 'MD5']);
      // A missing account is challenged exactly like one that follows the server default.
      expect(offered('999')).toEqual(['MD5']);
      expect(shape(registrar.handle(register({ user: '999' }), SRC))).toBe(
        shape(registrar.handle(register({ user: '100' }), SRC)),
      );
      expect(authed(registrar, { user: '101', contacts: ['<sip:101@10.0.0.6>'] }).status).toBe(200);
      // 100 was not offered SHA-256: an answer with it fails.
      const challenge = `Digest realm="${REALM}", nonce="${
        /nonce="([^"]+)"/.exec(
          getHeader(registrar.handle(register({ user: '101' }), SRC), 'WWW-Authenticate') ?? '',
        )?.[1] ?? ''
      }", algorithm=SHA-256, qop="auth"`;
      const authorization = buildAuthorization(challenge, {
        username: '100',
        password: 'secret',
        method: 'REGISTER',
        uri: `sip:${REALM}`,
      });
      expect(registrar.handle(register({ authorization }), SRC).status).toBe(403);
    });

    it('accepts MD5 too, and stored HA1s instead of passwords', () => {
      const { registrar } = setup(
        {
          '100': { ha1Md5: computeHa1('MD5', '100', REALM, 'pw1') },
          '101': { ha1Sha256: computeHa1('SHA-256', '101', REALM, 'pw2') },
        },
        BOTH,
      );
      expect(authed(registrar, { prefer: 'MD5', password: 'pw1' }).status).toBe(200);
      expect(
        authed(registrar, { user: '101', password: 'pw2', contacts: ['<sip:101@10.0.0.6>'] }).status,
      ).toBe(200);
      // only an MD5 HA1 is stored for 100: a SHA-256 answer cannot be checked
      expect(authed(registrar, { password: 'pw1' }).status).toBe(403);
    });

    it('answers 403 to a wrong password, an unknown user, or a foreign AOR', () => {
      const { registrar } = setup({ '100': { password: 'secret' }, '200': { password: 'other' } });
      expect(authed(registrar, { password: 'wrong' }).status).toBe(403);
      expect(authed(registrar, { user: '999' }).status).toBe(403);
      const challenge = pickChallenge(getHeaderValues(registrar.handle(register(), SRC), 'WWW-Authenticate'));
      const authorization = buildAuthorization(challenge ?? '', {
        username: '200',
        password: 'other',
        method: 'REGISTER',
        uri: `sip:${REALM}`,
      });
      expect(registrar.handle(register({ user: '100', authorization }), SRC).status).toBe(403);
      expect(registrar.lookup('100')).toEqual([]);
    });

    it('challenges again for an unknown scheme, another realm, or a nonce it did not issue (RFC 4475 §3.3.7)', () => {
      const { registrar } = setup();
      expect(
        registrar.handle(register({ authorization: 'NoOneKnowsThisScheme opaque-data=here' }), SRC).status,
      ).toBe(401);
      expect(
        registrar.handle(
          register({ authorization: 'Digest realm="elsewhere", nonce="x", username="100"' }),
          SRC,
        ).status,
      ).toBe(401);
      const forged = buildAuthorization(`Digest realm="${REALM}", nonce="forged", qop="auth"`, {
        username: '100',
        password: 'secret',
        method: 'REGISTER',
        uri: `sip:${REALM}`,
      });
      expect(registrar.handle(register({ authorization: forged }), SRC).status).toBe(401);
    });

    it('refuses an answer with an algorithm it did not offer', () => {
      const { registrar } = setup();
      const nonce = /nonce="([^"]+)"/.exec(
        getHeader(registrar.handle(register(), SRC), 'WWW-Authenticate') ?? '',
      )?.[1];
      const authorization = buildAuthorization(
        `Digest realm="${REALM}", nonce="${nonce}", algorithm=SHA-256, qop="auth"`,
        { username: '100', password: 'secret', method: 'REGISTER', uri: `sip:${REALM}` },
      );
      expect(registrar.handle(register({ authorization }), SRC).status).toBe(403);
    });

    it('says stale=true when a correct answer uses an expired nonce', () => {
      const { registrar, clock } = setup();
      const challenge = pickChallenge(getHeaderValues(registrar.handle(register(), SRC), 'WWW-Authenticate'));
      clock.advance(6 * 60_000);
      const authorization = buildAuthorization(challenge ?? '', {
        username: '100',
        password: 'secret',
        method: 'REGISTER',
        uri: `sip:${REALM}`,
      });
      const res = registrar.handle(register({ authorization }), SRC);
      expect(res.status).toBe(401);
      expect(getHeaderValues(res, 'WWW-Authenticate').every((c) => c.includes('stale=true'))).toBe(true);
    });
  });

  describe('enumeration resistance', () => {
    it('challenges an unknown user exactly like a known one', () => {
      const { registrar } = setup();
      const known = registrar.handle(register({ user: '100' }), SRC);
      const missing = registrar.handle(register({ user: '555' }), SRC);
      expect(known.status).toBe(401);
      expect(shape(missing)).toBe(shape(known));
    });

    it('answers a wrong password and an unknown user with the same 403, both evaluated', () => {
      const { registrar } = setup();
      const wrong = authed(registrar, { password: 'wrong' });
      const missing = authed(registrar, { user: '555', password: 'wrong' });
      expect(wrong.status).toBe(403);
      expect(shape(missing)).toBe(shape(wrong));
      expect(registrar.stats).toMatchObject({ evaluated: 2, failed: 2, challenged: 2 });
    });

    it('blocks a missing user after as many failures as an existing one, with the same answer', () => {
      const { registrar } = setup();
      const run = (user: string): SipResponse[] =>
        Array.from({ length: 6 }, () => authed(registrar, { user, password: 'bad' }, SRC, true));
      const known = run('100').map(shape);
      const missing = run('555').map(shape);
      expect(missing).toEqual(known);
      expect(known.slice(0, 5).every((r) => r.startsWith('403'))).toBe(true);
      expect(known[5]).toMatch(/^503 Service Unavailable\nRetry-After: 60/);
    });
  });

  describe('throttling', () => {
    it('blocks a (source, user) pair after 5 failures in 60 s, for 60 s, without touching credentials', () => {
      let lookups = 0;
      const clock = newClock();
      const registrar = new Registrar({
        realm: REALM,
        clock,
        credentials: (u) => {
          lookups++;
          return u === '100' || u === '101' ? { password: 'secret' } : undefined;
        },
      });
      for (let i = 0; i < 5; i++) expect(authed(registrar, { password: 'bad' }).status).toBe(403);
      expect(registrar.stats.blocks).toBe(1);
      const before = lookups;
      // even the right password is refused now, at once, with no challenge: 503 + Retry-After
      const refused = registrar.handle(register(), SRC);
      expect(refused.status).toBe(503);
      expect(getHeader(refused, 'Retry-After')).toBe('60');
      expect(lookups).toBe(before);
      // a NAT neighbour (same address, another user) is challenged and registers normally
      expect(authed(registrar, { user: '101', contacts: ['<sip:101@10.0.0.9>'] }).status).toBe(200);
      // another address is not affected either
      expect(authed(registrar, {}, { ...SRC, address: '192.0.2.51' }).status).toBe(200);
      clock.advance(30_000);
      expect(getHeader(registrar.handle(register(), SRC), 'Retry-After')).toBe('30');
      clock.advance(30_001);
      expect(authed(registrar, { cseq: 20 }).status).toBe(200);
    });

    it('blocks a whole address after 50 failures over many users (a guesser), not its neighbours first', () => {
      const { registrar, clock } = setup({ '100': { password: 'secret' } });
      const guesser: RegistrationSource = { ...SRC, address: '198.51.100.7' };
      // 4 failures each for users 200…211 (48) stay under the per-user limit
      for (let u = 200; u < 212; u++)
        for (let i = 0; i < 4; i++) expect(authed(registrar, { user: String(u) }, guesser).status).toBe(403);
      expect(registrar.handle(register(), guesser).status).toBe(401);
      expect(authed(registrar, { user: '300' }, guesser).status).toBe(403);
      expect(authed(registrar, { user: '301' }, guesser).status).toBe(403); // the 50th
      const res = registrar.handle(register({ user: '100' }), guesser);
      expect(res.status).toBe(503);
      expect(getHeader(res, 'Retry-After')).toBe('60');
      expect(registrar.stats.evaluated).toBe(50);
      // other addresses are served
      expect(authed(registrar).status).toBe(200);
      clock.advance(60_001);
      expect(registrar.handle(register(), guesser).status).toBe(401);
    });

    it('takes its limits from options, and reports each block', () => {
      const blocks: unknown[] = [];
      const { registrar, clock } = setup(undefined, {
        throttle: { maxFailuresPerUser: 2, windowMs: 1000, blockMs: 5000 },
        onBlock: (b) => blocks.push(b),
      });
      expect(authed(registrar, { password: 'bad' }).status).toBe(403);
      clock.advance(1001);
      expect(authed(registrar, { password: 'bad' }).status).toBe(403);
      expect(authed(registrar, { password: 'bad' }).status).toBe(403);
      expect(getHeader(registrar.handle(register(), SRC), 'Retry-After')).toBe('5');
      expect(blocks).toEqual([{ address: SRC.address, user: '100', seconds: 5 }]);
    });

    it('forgets failures older than 60 s', () => {
      const { registrar, clock } = setup();
      for (let i = 0; i < 4; i++) expect(authed(registrar, { password: 'bad' }).status).toBe(403);
      clock.advance(61_000);
      expect(authed(registrar, { password: 'bad' }).status).toBe(403);
      expect(authed(registrar).status).toBe(200);
    });
  });

  describe('bindings', () => {
    it('expire (lazily and by sweep)', () => {
      const { registrar, clock } = setup();
      expect(authed(registrar, { expires: '120' }).status).toBe(200);
      clock.advance(119_000);
      expect(registrar.lookup('100')).toHaveLength(1);
      clock.advance(2_000);
      expect(registrar.lookup('100')).toHaveLength(0);
      registrar.sweep();
    });

    it('use the contact expires param over the Expires header, default 3600', () => {
      const { registrar } = setup();
      const res = authed(registrar, {
        expires: '300',
        contacts: ['<sip:100@10.0.0.5>;expires=120;+sip.instance="<urn:uuid:1>"', '<sip:100@10.0.0.7>;q=0.5'],
      });
      expect(getHeaderValues(res, 'Contact')).toEqual([
        '<sip:100@10.0.0.5>;+sip.instance="<urn:uuid:1>";expires=120',
        '<sip:100@10.0.0.7>;q=0.5;expires=300',
      ]);
      const { registrar: r2 } = setup();
      expect(getHeader(authed(r2), 'Contact')).toBe('<sip:100@10.0.0.5:5060>;expires=3600');
    });

    it('answers 423 with Min-Expires below 60 s', () => {
      const { registrar } = setup();
      const res = authed(registrar, { expires: '30' });
      expect(res.status).toBe(423);
      expect(getHeader(res, 'Min-Expires')).toBe('60');
      expect(registrar.lookup('100')).toEqual([]);
    });

    it('treat overlarge expiry values as the default (RFC 4475 §3.1.2.4)', () => {
      const { registrar } = setup();
      const res = authed(registrar, {
        expires: '1'.repeat(40),
        contacts: ['<sip:100@h>;expires=280297596632815'],
      });
      expect(getHeader(res, 'Contact')).toBe('<sip:100@h>;expires=3600');
    });

    it('unregister one contact with expires 0, all with Contact: * and Expires: 0', () => {
      const { registrar } = setup();
      authed(registrar, { contacts: ['<sip:100@a>', '<sip:100@b>'], callId: 'c1', cseq: 10 });
      expect(registrar.lookup('100')).toHaveLength(2);
      const one = authed(registrar, { contacts: ['<sip:100@a>;expires=0'], callId: 'c1', cseq: 20 });
      expect(getHeaderValues(one, 'Contact')).toEqual(['<sip:100@b>;expires=3600']);
      authed(registrar, { contacts: ['<sip:100@c>'], callId: 'c2', cseq: 30 });
      const all = authed(registrar, { contacts: ['*'], expires: '0', callId: 'c1', cseq: 40 });
      expect(all.status).toBe(200);
      expect(getHeaderValues(all, 'Contact')).toEqual([]);
      expect(registrar.lookup('100')).toEqual([]);
      expect(authed(registrar, { contacts: ['*'], expires: '60' }).status).toBe(400);
    });

    it('refuse an out-of-order REGISTER from the same Call-ID', () => {
      const { registrar } = setup();
      expect(authed(registrar, { callId: 'c1', cseq: 50 }).status).toBe(200);
      expect(authed(registrar, { callId: 'c1', cseq: 20, expires: '0' }).status).toBe(500);
      expect(registrar.lookup('100')).toHaveLength(1);
    });

    it('keep the source address for NAT traversal, per contact', () => {
      const { registrar } = setup();
      const nat: RegistrationSource = { address: '203.0.113.9', port: 61000, transport: 'tcp' };
      authed(registrar, { contacts: ['<sip:100@10.0.0.5;transport=tcp>'] }, nat);
      expect(registrar.lookup('100')[0]?.source).toEqual(nat);
    });

    it('a fetch (no Contact) lists the bindings without changing them', () => {
      const { registrar } = setup();
      authed(registrar);
      const res = authed(registrar, { contacts: [] });
      expect(res.status).toBe(200);
      expect(getHeaderValues(res, 'Contact')).toHaveLength(1);
    });
  });

  describe('RFC 4475 registrations', () => {
    const load = (f: string): SipRequest => {
      const r = parseMessage(
        readFileSync(new URL(`../../../test/fixtures/rfc4475/${f}.dat`, import.meta.url)),
      );
      if (!r.ok || r.message.kind !== 'request') throw new Error(f);
      return r.message;
    };
    it('unksm2 (§3.3.4): To is not a SIP URI → 400', () => {
      expect(setup().registrar.handle(load('unksm2'), SRC).status).toBe(400);
    });
    it('regaut01 (§3.3.7): unknown Authorization scheme → 401', () => {
      expect(setup().registrar.handle(load('regaut01'), SRC).status).toBe(401);
    });
  });
  describe('persistence', () => {
    it('reports every change of bindings, and restores them with their remaining lifetime', () => {
      const changes: BindingRecord[][] = [];
      const { registrar, clock } = setup(undefined, { onBindingsChanged: (_aor, b) => changes.push(b) });
      expect(authed(registrar, { expires: '600' }).status).toBe(200);
      expect(changes).toHaveLength(1);
      const [record] = changes[0] ?? [];
      expect(record).toMatchObject({ aor: '100', remainingMs: 600_000, source: SRC });
      expect(record?.contact).toBe('<sip:100@10.0.0.5:5060>');

      const other = setup();
      clock.advance(1000);
      const kept = { ...(record as BindingRecord), remainingMs: 599_000 };
      expect(other.registrar.restore([kept, { ...kept, aor: '101', remainingMs: 0 }])).toBe(1);
      expect(other.registrar.lookup('100')[0]?.contact).toMatchObject({ host: '10.0.0.5', port: 5060 });
      expect(other.registrar.lookup('100')[0]?.source).toEqual(SRC);
      expect(other.registrar.lookup('101')).toEqual([]);
      other.clock.advance(599_000);
      expect(other.registrar.lookup('100')).toEqual([]);

      expect(authed(registrar, { expires: '0', cseq: 40 }).status).toBe(200);
      expect(changes.at(-1)).toEqual([]);
    });
  });
});
