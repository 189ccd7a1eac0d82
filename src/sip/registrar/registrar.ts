/**
 * A registrar (RFC 3261 §10.3) with digest authentication (§22, RFC 8760).
 *
 * - Unauthenticated REGISTERs (no Authorization for our realm, an unknown
 *   scheme — RFC 4475 §3.3.7 — or a nonce we did not issue) get 401 with two
 *   challenges: SHA-256 first, then MD5.
 * - A wrong response, an unknown user, or a username other than the AOR's
 *   user gets 403. Five failures from one source address within 60 s block
 *   that address: 403 at once, without any hashing, for 60 s.
 * - A right response on an expired nonce gets 401 with stale=true.
 * - Bindings are per AOR (the To URI's user), keyed by Contact URI, and
 *   remember the source address/port/transport the REGISTER came from, so
 *   that requests can be sent back through a NAT.
 *
 * Expiry is lazy (checked on every access) plus `sweep()`; no timers.
 */
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
import type { AuthHeader } from './digest.ts';

export interface StoredCredentials {
  ha1Md5?: string;
  ha1Sha256?: string;
  password?: string;
}

export interface RegistrationSource {
  address: string;
  port: number;
  transport: 'udp' | 'tcp';
}

export interface RegistrarOptions {
  realm: string;
  credentials: (username: string) => StoredCredentials | undefined;
  clock: Clock;
  /** HMAC key for nonces; random per process when absent. */
  secret?: Buffer;
  /** Seconds (defaults: 3600, 60, 86400). */
  defaultExpires?: number;
  minExpires?: number;
  maxExpires?: number;
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

const FAILURE_WINDOW_MS = 60_000;
const MAX_FAILURES = 5;
const BLOCK_MS = 60_000;

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
  private readonly throttles = new Map<string, Throttle>();

  constructor(opts: RegistrarOptions) {
    this.realm = opts.realm;
    this.credentials = opts.credentials;
    this.clock = opts.clock;
    this.nonces = new NonceService(opts.clock, opts.secret);
    this.defaultExpires = opts.defaultExpires ?? 3600;
    this.minExpires = opts.minExpires ?? 60;
    this.maxExpires = opts.maxExpires ?? 86400;
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
    const throttle = this.throttles.get(source.address);
    if (throttle && throttle.blockedUntil > now) return reply(403, 'Forbidden');

    // §10.3 step 3; RFC 4475 §3.3.4: the AOR must be a SIP or SIPS URI.
    const to = parseNameAddr(getHeader(req, 'To') ?? '');
    if (!to || (to.uri.scheme !== 'sip' && to.uri.scheme !== 'sips') || !to.uri.user) {
      return reply(400, 'Invalid Address-of-Record');
    }
    const aor = to.uri.user;

    // §22.4 / RFC 7616: the Authorization for our realm, if any.
    let auth: AuthHeader | undefined;
    for (const v of getHeaderValues(req, 'Authorization')) {
      const h = parseAuthHeader(v);
      if (h && h.scheme.toLowerCase() === 'digest' && h.params.get('realm') === this.realm) {
        auth = h;
        break;
      }
    }
    if (!auth) return this.challenge(reply, false);
    const nonceState = this.nonces.check(auth.params.get('nonce') ?? '');
    if (nonceState === 'invalid') return this.challenge(reply, false);

    const username = auth.params.get('username');
    const algorithm = algorithmOf(auth);
    const cred = username !== undefined ? this.credentials(username) : undefined;
    let ha1: string | undefined;
    if (cred && algorithm && username !== undefined) {
      ha1 = algorithm === 'SHA-256' ? cred.ha1Sha256 : cred.ha1Md5;
      if (ha1 === undefined && cred.password !== undefined)
        ha1 = computeHa1(algorithm, username, this.realm, cred.password);
    }
    if (username !== aor || ha1 === undefined || !verifyDigest(auth, req.method, ha1)) {
      this.recordFailure(source.address, now);
      return reply(403, 'Forbidden');
    }
    if (nonceState === 'stale') return this.challenge(reply, true);
    this.throttles.delete(source.address);
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

  /** Whether a live binding was registered from this address (the inbound filter's "registered phone"). */
  hasBindingFrom(address: string): boolean {
    const now = this.clock.now();
    for (const aor of [...this.bindings.keys()])
      if (this.live(aor, now).some((b) => b.source.address === address)) return true;
    return false;
  }

  /** Drops expired bindings and finished throttles. Call now and then (optional). */
  sweep(): void {
    const now = this.clock.now();
    for (const aor of [...this.bindings.keys()]) this.live(aor, now);
    for (const [addr, t] of this.throttles) {
      if (t.blockedUntil <= now && t.failures.every((f) => now - f >= FAILURE_WINDOW_MS))
        this.throttles.delete(addr);
    }
  }

  private challenge(
    reply: (s: number, r?: string, h?: HeaderField[]) => SipResponse,
    stale: boolean,
  ): SipResponse {
    const nonce = this.nonces.issue();
    return reply(401, 'Unauthorized', [
      {
        name: 'WWW-Authenticate',
        value: buildChallenge({ realm: this.realm, nonce, algorithm: 'SHA-256', stale }),
      },
      {
        name: 'WWW-Authenticate',
        value: buildChallenge({ realm: this.realm, nonce, algorithm: 'MD5', stale }),
      },
    ]);
  }

  private recordFailure(address: string, now: number): void {
    const t = this.throttles.get(address) ?? { failures: [], blockedUntil: 0 };
    t.failures = t.failures.filter((f) => now - f < FAILURE_WINDOW_MS);
    t.failures.push(now);
    if (t.failures.length >= MAX_FAILURES) {
      t.blockedUntil = now + BLOCK_MS;
      t.failures = [];
    }
    this.throttles.set(address, t);
    if (this.throttles.size > 10_000) this.sweep();
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

    const headers: HeaderField[] = next.map((b) => {
      const params = new Map(b.contact.params);
      params.set('expires', String(Math.max(0, Math.ceil((b.expiresAt - now) / 1000))));
      return { name: 'Contact', value: formatNameAddr({ ...b.contact, params }) };
    });
    return reply(200, 'OK', headers);
  }
}
