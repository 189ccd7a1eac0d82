/**
 * A registrar (RFC 3261 §10.3) with digest authentication (§22, RFC 8760).
 *
 * - Unauthenticated REGISTERs (no Authorization for our realm, an unknown
 *   scheme — RFC 4475 §3.3.7 — or a nonce we did not issue) get 401 with one
 *   challenge per configured algorithm (default MD5 only: sipvicious and many
 *   phones fail on SHA-256; RFC 8760 lets the operator add it). An account
 *   may name its own algorithms (issue 10); an unknown user is challenged with
 *   the server's, like every account that names none.
 * - Enumeration resistance: the challenge does not depend on the username,
 *   and an unknown user is checked against a dummy HA1, so that a wrong
 *   answer for a missing account costs the same time and gets the same 403
 *   as a wrong password for an existing one (svwar, svcrack).
 * - Throttling keys on (source address, AOR user), so that one phone's wrong
 *   password does not lock out its NAT neighbours: 5 failures within 60 s
 *   block that pair; 50 failures from one address (any users: a guesser
 *   walking usernames) block the address. A blocked request is answered
 *   503 with Retry-After at once, without looking at credentials — the same
 *   for existing and missing users. All figures are options.
 * - A right response on an expired nonce gets 401 with stale=true.
 * - Bindings are per AOR (the To URI's user), keyed by Contact URI, and
 *   remember the source address/port/transport the REGISTER came from, so
 *   that requests can be sent back through a NAT.
 *
 * Expiry is lazy (checked on every access) plus `sweep()`; no timers.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../util/clock.ts';
import { buildResponse, randomTag } from '../message/build.ts';
import { formatNameAddr, getHeader, getHeaderValues, parseCSeq, parseNameAddr } from '../message/headers.ts';
import type { HeaderField, NameAddr, SipRequest, SipResponse, SipUri } from '../message/types.ts';
import { formatUri } from '../message/uri.ts';
import {
  algorithmOf,
  buildChallenge,
  computeHa1,
  NonceService,
  parseAuthHeader,
  verifyDigest,
} from './digest.ts';
import type { AuthHeader, DigestAlgorithm } from './digest.ts';

export interface StoredCredentials {
  ha1Md5?: string;
  ha1Sha256?: string;
  password?: string;
  /** This account's challenge algorithms, in order; absent: the registrar's. */
  algorithms?: readonly DigestAlgorithm[];
}

/** A binding as persisted: enough to rebuild it after a restart. */
export interface BindingRecord {
  aor: string;
  key: string;
  /** The Contact name-addr, without `expires`. */
  contact: string;
  /** Milliseconds left at the time of the snapshot. */
  remainingMs: number;
  callId: string;
  cseq: number;
  source: RegistrationSource;
}

export interface RegistrationSource {
  address: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
}

/** Failed-authentication limits (defaults in DEFAULT_THROTTLE). */
export interface ThrottlePolicy {
  /** Failures per (source address, user) within `windowMs` that block that pair. */
  maxFailuresPerUser: number;
  /** Failures per source address, whatever the users, that block the address. */
  maxFailuresPerSource: number;
  windowMs: number;
  blockMs: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  maxFailuresPerUser: 5,
  maxFailuresPerSource: 50,
  windowMs: 60_000,
  blockMs: 60_000,
};

/** What the registrar did, for /metrics and for tests that count guesses. */
export interface RegistrarStats {
  /** 401s sent. */
  challenged: number;
  /** Digest responses checked (against real or dummy credentials): the guesses an attacker got. */
  evaluated: number;
  /** 403s for wrong credentials, unknown users or a foreign AOR. */
  failed: number;
  /** Requests refused (503) because their pair or address was blocked. */
  throttled: number;
  /** (source, user) pairs and source addresses that got blocked. */
  blocks: number;
  registered: number;
}

export interface RegistrarOptions {
  realm: string;
  credentials: (username: string) => StoredCredentials | undefined;
  clock: Clock;
  /** Digest algorithms offered, in order (default: MD5 only). */
  algorithms?: readonly DigestAlgorithm[];
  throttle?: Partial<ThrottlePolicy>;
  /** A pair or an address just got blocked (the server logs a warn line). */
  onBlock?: (block: { address: string; user: string | undefined; seconds: number }) => void;
  /** HMAC key for nonces; random per process when absent. */
  secret?: Buffer;
  /** Seconds (defaults: 3600, 60, 86400). */
  defaultExpires?: number;
  minExpires?: number;
  maxExpires?: number;
  /** An AOR's bindings changed (registered, refreshed, removed): the server persists them. */
  onBindingsChanged?: (aor: string, bindings: BindingRecord[]) => void;
}

export interface Binding {
  contact: SipUri;
  source: RegistrationSource;
}

interface StoredBinding {
  key: string;
  contact: NameAddr; // contact-params without expires
  expiresAt: number; // clock.now() ms
  callId: string;
  cseq: number;
  source: RegistrationSource;
}

interface Throttle {
  failures: number[];
  blockedUntil: number;
}

/** Throttle entries kept before the oldest are dropped (memory bound against spoofed sources). */
const MAX_THROTTLES = 100_000;

function bindingKey(uri: SipUri): string {
  return formatUri({ ...uri, host: uri.host.toLowerCase(), headers: new Map() });
}

export class Registrar {
  private readonly realm: string;
  private readonly credentials: RegistrarOptions['credentials'];
  private readonly clock: Clock;
  private readonly nonces: NonceService;
  private readonly defaultExpires: number;
  private readonly minExpires: number;
  private readonly maxExpires: number;
  private readonly bindings = new Map<string, StoredBinding[]>();
  /** Keyed by source address (`addr`) and by source + user (`addr` NUL `user`). */
  private readonly throttles = new Map<string, Throttle>();
  private readonly algorithms: readonly DigestAlgorithm[];
  private readonly policy: ThrottlePolicy;
  private readonly onBlock: RegistrarOptions['onBlock'];
  private readonly onBindingsChanged: RegistrarOptions['onBindingsChanged'];
  private lastSweep = 0;
  /** Checked instead of an unknown user's credentials: same work, same answer. */
  private readonly dummyHa1: Record<DigestAlgorithm, string>;
  readonly stats: RegistrarStats = {
    challenged: 0,
    evaluated: 0,
    failed: 0,
    throttled: 0,
    blocks: 0,
    registered: 0,
  };

  constructor(opts: RegistrarOptions) {
    this.realm = opts.realm;
    this.credentials = opts.credentials;
    this.clock = opts.clock;
    this.nonces = new NonceService(opts.clock, opts.secret);
    this.defaultExpires = opts.defaultExpires ?? 3600;
    this.minExpires = opts.minExpires ?? 60;
    this.maxExpires = opts.maxExpires ?? 86400;
    this.algorithms = opts.algorithms?.length ? [...opts.algorithms] : ['MD5'];
    this.policy = { ...DEFAULT_THROTTLE, ...opts.throttle };
    this.onBlock = opts.onBlock;
    this.onBindingsChanged = opts.onBindingsChanged;
    const pw = randomBytes(16).toString('hex');
    this.dummyHa1 = {
      MD5: computeHa1('MD5', 'nobody', this.realm, pw),
      'SHA-256': computeHa1('SHA-256', 'nobody', this.realm, pw),
    };
  }

  handle(req: SipRequest, source: RegistrationSource): SipResponse {
    const toTag = randomTag();
    const reply = (status: number, reason?: string, headers?: HeaderField[]): SipResponse =>
      buildResponse(req, status, {
        toTag,
        ...(reason !== undefined ? { reason } : {}),
        ...(headers ? { headers } : {}),
      });

    if (req.method !== 'REGISTER') return reply(405, undefined, [{ name: 'Allow', value: 'REGISTER' }]);
    const now = this.clock.now();
    const sourceBlocked = this.blockedFor(source.address, now);
    if (sourceBlocked) return this.refuse(reply, sourceBlocked);

    // §10.3 step 3; RFC 4475 §3.3.4: the AOR must be a SIP or SIPS URI.
    const to = parseNameAddr(getHeader(req, 'To') ?? '');
    if (!to || (to.uri.scheme !== 'sip' && to.uri.scheme !== 'sips') || !to.uri.user) {
      return reply(400, 'Invalid Address-of-Record');
    }
    const aor = to.uri.user;
    const pairKey = `${source.address}\u0000${aor}`;
    // Blocked pairs are refused the same way whether or not the account exists.
    const pairBlocked = this.blockedFor(pairKey, now);
    if (pairBlocked) return this.refuse(reply, pairBlocked);

    // §22.4 / RFC 7616: the Authorization for our realm, if any.
    let auth: AuthHeader | undefined;
    for (const v of getHeaderValues(req, 'Authorization')) {
      const h = parseAuthHeader(v);
      if (h && h.scheme.toLowerCase() === 'digest' && h.params.get('realm') === this.realm) {
        auth = h;
        break;
      }
    }
    // Unknown users get the server's algorithms: the challenge tells nothing about who exists.
    const cred = this.credentials(aor);
    const offered = cred?.algorithms?.length ? cred.algorithms : this.algorithms;
    if (!auth) return this.challenge(reply, false, offered);
    const nonceState = this.nonces.check(auth.params.get('nonce') ?? '');
    if (nonceState === 'invalid') return this.challenge(reply, false, offered);

    const username = auth.params.get('username');
    const raw = algorithmOf(auth);
    // Only what we offered: an answer with another algorithm is a failure like any other.
    const algorithm = raw && offered.includes(raw) ? raw : undefined;
    let ok = false;
    if (username === aor && algorithm) {
      let ha1 = cred && (algorithm === 'SHA-256' ? cred.ha1Sha256 : cred.ha1Md5);
      if (ha1 === undefined && cred?.password !== undefined)
        ha1 = computeHa1(algorithm, username, this.realm, cred.password);
      this.stats.evaluated++;
      // An unknown user is checked too (against a dummy HA1, which never matches) so
      // that the answer and its timing do not tell missing accounts from existing ones.
      const matched = verifyDigest(auth, req.method, ha1 ?? this.dummyHa1[algorithm]);
      ok = matched && ha1 !== undefined;
    }
    if (!ok) {
      this.recordFailure(source.address, aor, pairKey, now);
      this.stats.failed++;
      return reply(403, 'Forbidden');
    }
    if (nonceState === 'stale') return this.challenge(reply, true, offered);
    // A success clears the pair's failures, not the address's: a guesser who owns one
    // account must not reset its budget against the others.
    this.throttles.delete(pairKey);
    this.stats.registered++;
    return this.bind(req, aor, source, now, reply);
  }

  /** Current (unexpired) bindings of a user, highest q first. */
  lookup(user: string): Binding[] {
    const list = this.live(user, this.clock.now());
    const q = (b: StoredBinding): number => Number(b.contact.params.get('q') ?? '1') || 0;
    return [...list]
      .sort((a, b) => q(b) - q(a))
      .map((b) => ({ contact: b.contact.uri, source: { ...b.source } }));
  }

  /** Unexpired bindings (contacts registered) and the users (AORs) they belong to, for /metrics. */
  registrations(): { users: number; bindings: number } {
    const now = this.clock.now();
    let users = 0;
    let bindings = 0;
    for (const aor of [...this.bindings.keys()]) {
      const n = this.live(aor, now).length;
      if (n > 0) users++;
      bindings += n;
    }
    return { users, bindings };
  }

  /** Whether a live binding was registered from this address (the inbound filter's "registered phone"). */
  hasBindingFrom(address: string): boolean {
    const now = this.clock.now();
    for (const aor of [...this.bindings.keys()])
      if (this.live(aor, now).some((b) => b.source.address === address)) return true;
    return false;
  }

  /**
   * Puts back bindings kept across a restart (their remaining lifetime counts
   * from now); ones with none left or an unparsable Contact are skipped.
   */
  restore(records: readonly BindingRecord[]): number {
    const now = this.clock.now();
    let restored = 0;
    for (const r of records) {
      const contact = parseNameAddr(r.contact);
      if (!contact || r.remainingMs <= 0) continue;
      const list = this.live(r.aor, now).filter((b) => b.key !== r.key);
      list.push({
        key: r.key,
        contact,
        expiresAt: now + r.remainingMs,
        callId: r.callId,
        cseq: r.cseq,
        source: { ...r.source },
      });
      this.bindings.set(r.aor, list);
      restored++;
    }
    return restored;
  }

  private changed(aor: string, list: readonly StoredBinding[], now: number): void {
    this.onBindingsChanged?.(
      aor,
      list.map((b) => ({
        aor,
        key: b.key,
        contact: formatNameAddr(b.contact),
        remainingMs: b.expiresAt - now,
        callId: b.callId,
        cseq: b.cseq,
        source: { ...b.source },
      })),
    );
  }

  /** Drops expired bindings and finished throttles. Call now and then (optional). */
  sweep(): void {
    const now = this.clock.now();
    for (const aor of [...this.bindings.keys()]) this.live(aor, now);
    for (const [key, t] of this.throttles) {
      if (t.blockedUntil <= now && t.failures.every((f) => now - f >= this.policy.windowMs))
        this.throttles.delete(key);
    }
  }

  private challenge(
    reply: (s: number, r?: string, h?: HeaderField[]) => SipResponse,
    stale: boolean,
    algorithms: readonly DigestAlgorithm[],
  ): SipResponse {
    const nonce = this.nonces.issue();
    this.stats.challenged++;
    return reply(
      401,
      'Unauthorized',
      algorithms.map((algorithm) => ({
        name: 'WWW-Authenticate',
        value: buildChallenge({ realm: this.realm, nonce, algorithm, stale }),
      })),
    );
  }

  /** Milliseconds a key stays blocked, or 0. */
  private blockedFor(key: string, now: number): number {
    const t = this.throttles.get(key);
    return t && t.blockedUntil > now ? t.blockedUntil - now : 0;
  }

  /** RFC 3261 §21.5.4: 503 with Retry-After, so that a phone retries later instead of giving up. */
  private refuse(reply: (s: number, r?: string, h?: HeaderField[]) => SipResponse, ms: number): SipResponse {
    this.stats.throttled++;
    return reply(503, 'Service Unavailable', [{ name: 'Retry-After', value: String(Math.ceil(ms / 1000)) }]);
  }

  private recordFailure(address: string, aor: string, pairKey: string, now: number): void {
    const seconds = Math.ceil(this.policy.blockMs / 1000);
    if (this.countFailure(pairKey, this.policy.maxFailuresPerUser, now))
      this.onBlock?.({ address, user: aor, seconds });
    if (this.countFailure(address, this.policy.maxFailuresPerSource, now))
      this.onBlock?.({ address, user: undefined, seconds });
    // Sweeping is O(entries): at most once a second, and only when there are many.
    if (this.throttles.size > MAX_THROTTLES / 10 && now - this.lastSweep >= 1000) {
      this.lastSweep = now;
      this.sweep();
    }
    // Still too many (a flood from spoofed addresses): forget the oldest entries.
    for (const key of this.throttles.keys()) {
      if (this.throttles.size <= MAX_THROTTLES) break;
      this.throttles.delete(key);
    }
  }

  /** True when this failure blocks the key. */
  private countFailure(key: string, max: number, now: number): boolean {
    const t = this.throttles.get(key) ?? { failures: [], blockedUntil: 0 };
    t.failures = t.failures.filter((f) => now - f < this.policy.windowMs);
    t.failures.push(now);
    this.throttles.set(key, t);
    if (t.failures.length < max) return false;
    t.blockedUntil = now + this.policy.blockMs;
    t.failures = [];
    this.stats.blocks++;
    return true;
  }

  /** Unexpired bindings of an AOR (expired ones are removed). */
  private live(aor: string, now: number): StoredBinding[] {
    const list = this.bindings.get(aor);
    if (!list) return [];
    const alive = list.filter((b) => b.expiresAt > now);
    if (alive.length === 0) this.bindings.delete(aor);
    else if (alive.length !== list.length) this.bindings.set(aor, alive);
    return alive;
  }

  /** Seconds from an Expires header or expires param; malformed or overlarge → default (RFC 4475 §3.1.2.4). */
  private expiresFrom(raw: string | null | undefined): number {
    if (raw === undefined || raw === null || !/^[0-9]{1,10}$/.test(raw.trim())) return this.defaultExpires;
    const n = Number(raw.trim());
    if (n > 0xffffffff) return this.defaultExpires;
    return Math.min(n, this.maxExpires);
  }

  /** §10.3 steps 6–8. */
  private bind(
    req: SipRequest,
    aor: string,
    source: RegistrationSource,
    now: number,
    reply: (s: number, r?: string, h?: HeaderField[]) => SipResponse,
  ): SipResponse {
    const contacts = getHeaderValues(req, 'Contact');
    const expiresHeader = getHeader(req, 'Expires');
    const callId = getHeader(req, 'Call-ID') ?? '';
    const cseq = parseCSeq(getHeader(req, 'CSeq') ?? '')?.seq ?? 0;
    const list = this.live(aor, now);
    const inOrder = (b: StoredBinding): boolean => b.callId !== callId || cseq > b.cseq;

    if (contacts.includes('*')) {
      if (contacts.length !== 1 || expiresHeader === undefined || expiresHeader.trim() !== '0') {
        return reply(400, 'Invalid Wildcard Contact');
      }
      if (!list.every(inOrder)) return reply(500, 'Out of Order REGISTER');
      this.bindings.delete(aor);
      this.changed(aor, [], now);
      return reply(200, 'OK');
    }

    const updates: { na: NameAddr; expires: number; key: string }[] = [];
    for (const c of contacts) {
      const na = parseNameAddr(c);
      if (!na) return reply(400, 'Malformed Contact');
      const expires = this.expiresFrom(na.params.get('expires') ?? expiresHeader);
      if (expires > 0 && expires < this.minExpires) {
        return reply(423, 'Interval Too Brief', [{ name: 'Min-Expires', value: String(this.minExpires) }]);
      }
      const params = new Map(na.params);
      params.delete('expires');
      updates.push({ na: { ...na, params }, expires, key: bindingKey(na.uri) });
    }
    for (const u of updates) {
      const existing = list.find((b) => b.key === u.key);
      if (existing && !inOrder(existing)) return reply(500, 'Out of Order REGISTER');
    }

    let next = list;
    for (const u of updates) {
      next = next.filter((b) => b.key !== u.key);
      if (u.expires > 0) {
        next.push({
          key: u.key,
          contact: u.na,
          expiresAt: now + u.expires * 1000,
          callId,
          cseq,
          source: { ...source },
        });
      }
    }
    if (next.length > 0) this.bindings.set(aor, next);
    else this.bindings.delete(aor);
    this.changed(aor, next, now);

    const headers: HeaderField[] = next.map((b) => {
      const params = new Map(b.contact.params);
      params.set('expires', String(Math.max(0, Math.ceil((b.expiresAt - now) / 1000))));
      return { name: 'Contact', value: formatNameAddr({ ...b.contact, params }) };
    });
    return reply(200, 'OK', headers);
  }
}
