/**
 * HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 7616) with
 * MD5 and SHA-256 (RFC 8760), qop=auth only. Both sides: the registrar's
 * challenges and checks, and the client's Authorization for our test phone.
 *
 * Nonces are stateless: timestamp + random + HMAC over both, so any process
 * holding the secret can check them; they expire after `lifetimeMs` and are
 * then reported "stale" (RFC 7616 §3.3 stale=true). Replays of a response
 * within a nonce's lifetime are not detected (no nc tracking).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../util/clock.ts';

export type DigestAlgorithm = 'MD5' | 'SHA-256';

/** A parsed WWW-Authenticate / Authorization value. Param names lower-cased, values unquoted. */
export interface AuthHeader {
  scheme: string;
  params: Map<string, string>;
}

const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Parses `scheme auth-param *("," auth-param)`. Quoted values may contain
 * commas and quoted-pairs. Undefined when malformed (or a param repeats).
 */
export function parseAuthHeader(value: string): AuthHeader | undefined {
  const s = value;
  let i = 0;
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  const s0 = i;
  while (i < s.length && !isWs(s.charCodeAt(i))) i++;
  const scheme = s.slice(s0, i);
  if (!TOKEN_RE.test(scheme)) return undefined;
  const params = new Map<string, string>();
  for (;;) {
    while (i < s.length && (isWs(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2c)) i++;
    if (i >= s.length) return { scheme, params };
    const n0 = i;
    while (i < s.length && s.charCodeAt(i) !== 0x3d && !isWs(s.charCodeAt(i)) && s.charCodeAt(i) !== 0x2c)
      i++;
    const name = s.slice(n0, i).toLowerCase();
    if (!TOKEN_RE.test(name)) return undefined;
    while (i < s.length && isWs(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) !== 0x3d) return undefined;
    i++;
    while (i < s.length && isWs(s.charCodeAt(i))) i++;
    let v: string;
    if (s.charCodeAt(i) === 0x22) {
      const parts: string[] = [];
      let run = ++i;
      let closed = false;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c === 0x5c) {
          parts.push(s.slice(run, i));
          run = ++i;
        } else if (c === 0x22) {
          parts.push(s.slice(run, i));
          closed = true;
          i++;
          break;
        }
      }
      if (!closed) return undefined;
      v = parts.join('');
    } else {
      const v0 = i;
      while (i < s.length && s.charCodeAt(i) !== 0x2c && !isWs(s.charCodeAt(i))) i++;
      v = s.slice(v0, i);
      if (v.length === 0) return undefined;
    }
    if (params.has(name)) return undefined;
    params.set(name, v);
    while (i < s.length && isWs(s.charCodeAt(i))) i++;
    if (i < s.length && s.charCodeAt(i) !== 0x2c) return undefined;
  }
}

function q(v: string): string {
  return '"' + v.replace(/[\\"]/g, (c) => '\\' + c).replace(/[\r\n]/g, '') + '"';
}

/** "MD5" unless the algorithm param says otherwise; undefined for algorithms we do not do. */
export function algorithmOf(h: AuthHeader): DigestAlgorithm | undefined {
  const a = (h.params.get('algorithm') ?? 'MD5').toUpperCase();
  return a === 'MD5' || a === 'SHA-256' ? a : undefined;
}

export function hashHex(algorithm: DigestAlgorithm, s: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(s, 'utf8')
    .digest('hex');
}

/** H(username ":" realm ":" password) — what a credential store may keep instead of the password. */
export function computeHa1(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): string {
  return hashHex(algorithm, `${username}:${realm}:${password}`);
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  ha1: string;
  nonce: string;
  method: string;
  uri: string;
  /** 'auth', or undefined for RFC 2069-style responses without qop. */
  qop?: string;
  nc?: string;
  cnonce?: string;
}

/** The request-digest (RFC 7616 §3.4.1, qop=auth or none). */
export function computeResponse(d: DigestInput): string {
  const ha2 = hashHex(d.algorithm, `${d.method}:${d.uri}`);
  if (d.qop === undefined) return hashHex(d.algorithm, `${d.ha1.toLowerCase()}:${d.nonce}:${ha2}`);
  return hashHex(
    d.algorithm,
    `${d.ha1.toLowerCase()}:${d.nonce}:${d.nc ?? ''}:${d.cnonce ?? ''}:${d.qop}:${ha2}`,
  );
}

/** Issues and checks stateless, expiring nonces. */
export class NonceService {
  private readonly secret: Buffer;

  constructor(
    private readonly clock: Clock,
    secret?: Buffer,
    private readonly lifetimeMs = 5 * 60_000,
  ) {
    this.secret = secret ?? randomBytes(32);
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, 16);
  }

  issue(): string {
    const body = Buffer.alloc(16);
    body.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.clock.wallNow()))), 0);
    randomBytes(8).copy(body, 8);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  check(nonce: string): 'valid' | 'stale' | 'invalid' {
    if (nonce.length !== 43 || !/^[A-Za-z0-9_-]+$/.test(nonce)) return 'invalid';
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 32) return 'invalid';
    const body = raw.subarray(0, 16);
    if (!timingSafeEqual(raw.subarray(16), this.mac(body))) return 'invalid';
    const age = this.clock.wallNow() - Number(body.readBigUInt64BE(0));
    if (age < -5_000) return 'invalid';
    return age > this.lifetimeMs ? 'stale' : 'valid';
  }
}

/** A WWW-Authenticate value (RFC 7616 §3.3). */
export function buildChallenge(c: {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  stale?: boolean;
  opaque?: string;
}): string {
  let out = `Digest realm=${q(c.realm)}, nonce=${q(c.nonce)}, algorithm=${c.algorithm}, qop="auth"`;
  if (c.opaque !== undefined) out += `, opaque=${q(c.opaque)}`;
  if (c.stale) out += ', stale=true';
  return out;
}

/**
 * Checks an Authorization header's response against HA1. The caller has
 * already checked realm, nonce and username.
 */
export function verifyDigest(auth: AuthHeader, method: string, ha1: string): boolean {
  const p = auth.params;
  const algorithm = algorithmOf(auth);
  const nonce = p.get('nonce');
  const uri = p.get('uri');
  const response = p.get('response');
  if (!algorithm || nonce === undefined || uri === undefined || response === undefined) return false;
  const qop = p.get('qop');
  const input: DigestInput = { algorithm, ha1, nonce, method, uri };
  if (qop !== undefined) {
    const nc = p.get('nc');
    const cnonce = p.get('cnonce');
    if (
      qop.toLowerCase() !== 'auth' ||
      nc === undefined ||
      !/^[0-9a-fA-F]{8}$/.test(nc) ||
      cnonce === undefined
    )
      return false;
    input.qop = 'auth';
    input.nc = nc;
    input.cnonce = cnonce;
  }
  const expected = Buffer.from(computeResponse(input), 'latin1');
  const got = Buffer.from(response.toLowerCase(), 'latin1');
  return expected.length === got.length && timingSafeEqual(expected, got);
}

/**
 * Of several WWW-Authenticate/Proxy-Authenticate values, the Digest challenge
 * with the strongest algorithm we support (SHA-256 over MD5, RFC 8760 §2.4).
 */
export function pickChallenge(values: string[]): AuthHeader | undefined {
  let best: AuthHeader | undefined;
  for (const v of values) {
    const h = parseAuthHeader(v);
    if (!h || h.scheme.toLowerCase() !== 'digest') continue;
    const alg = algorithmOf(h);
    if (!alg) continue;
    if (!best || (alg === 'SHA-256' && algorithmOf(best) === 'MD5')) best = h;
  }
  return best;
}

export interface ClientCredentials {
  username: string;
  password: string;
  method: string;
  uri: string;
  /** For tests; random otherwise. */
  cnonce?: string;
  /** Nonce count, 1 by default. */
  nc?: number;
}

/** The Authorization value answering a challenge (client side). Undefined if unsupported. */
export function buildAuthorization(challenge: string | AuthHeader, c: ClientCredentials): string | undefined {
  const ch = typeof challenge === 'string' ? parseAuthHeader(challenge) : challenge;
  if (!ch || ch.scheme.toLowerCase() !== 'digest') return undefined;
  const algorithm = algorithmOf(ch);
  const realm = ch.params.get('realm');
  const nonce = ch.params.get('nonce');
  if (!algorithm || realm === undefined || nonce === undefined) return undefined;
  const qops = (ch.params.get('qop') ?? '').split(',').map((s) => s.trim().toLowerCase());
  const useQop = qops.includes('auth');
  const ha1 = computeHa1(algorithm, c.username, realm, c.password);
  const input: DigestInput = { algorithm, ha1, nonce, method: c.method, uri: c.uri };
  const nc = (c.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = c.cnonce ?? randomBytes(12).toString('hex');
  if (useQop) {
    input.qop = 'auth';
    input.nc = nc;
    input.cnonce = cnonce;
  }
  let out = `Digest username=${q(c.username)}, realm=${q(realm)}, nonce=${q(nonce)}, uri=${q(c.uri)}, response=${q(computeResponse(input))}, algorithm=${algorithm}`;
  if (useQop) out += `, qop=auth, nc=${nc}, cnonce=${q(cnonce)}`;
  const opaque = ch.params.get('opaque');
  if (opaque !== undefined) out += `, opaque=${q(opaque)}`;
  return out;
}
