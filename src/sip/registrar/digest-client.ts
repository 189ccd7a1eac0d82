/**
 * The client side of SIP digest authentication (RFC 3261 §22.2, §8.1.3.5;
 * RFC 7616; RFC 8760): answering a trunk's 401 (WWW-Authenticate →
 * Authorization) or 407 (Proxy-Authenticate → Proxy-Authorization) with our
 * credentials. Hashing and header syntax are the registrar's (digest.ts).
 *
 * One DigestClient per set of credentials (a trunk). It counts `nc` per nonce
 * (RFC 7616 §3.4: the count of requests sent with that nonce, so a server that
 * tracks it can refuse replays) and never answers a challenge for a realm
 * other than the configured one, so a password is never offered to whoever
 * happens to send a 401.
 */
import { randomBytes } from 'node:crypto';
import { getHeaderValues } from '../message/headers.ts';
import type { HeaderField, SipResponse } from '../message/types.ts';
import { buildAuthorization, pickChallenge } from './digest.ts';

export interface DigestCredentials {
  username: string;
  password: string;
  /** When set, only challenges for this realm are answered. */
  realm?: string;
}

/** Why a challenge could not be answered (for the warn line; never the secret). */
export type DigestRefusal = 'no_digest_challenge' | 'realm_mismatch';

export class DigestClient {
  /** Nonce → requests sent with it. Only the last few nonces matter; old ones are dropped. */
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly creds: DigestCredentials,
    /** For tests: a fixed cnonce. */
    private readonly cnonce: () => string = () => randomBytes(12).toString('hex'),
  ) {}

  get username(): string {
    return this.creds.username;
  }

  /**
   * The header that answers a 401/407 to a request with this method and
   * Request-URI, or why there is none.
   */
  answer(res: SipResponse, method: string, uri: string): HeaderField | DigestRefusal {
    const proxy = res.status === 407;
    const challenge = pickChallenge(getHeaderValues(res, proxy ? 'proxy-authenticate' : 'www-authenticate'));
    if (!challenge) return 'no_digest_challenge';
    const realm = challenge.params.get('realm');
    if (this.creds.realm !== undefined && realm !== this.creds.realm) return 'realm_mismatch';
    const nonce = challenge.params.get('nonce') ?? '';
    const nc = (this.counts.get(nonce) ?? 0) + 1;
    this.counts.set(nonce, nc);
    if (this.counts.size > 8) this.counts.delete(this.counts.keys().next().value as string);
    const value = buildAuthorization(challenge, {
      username: this.creds.username,
      password: this.creds.password,
      method,
      uri,
      cnonce: this.cnonce(),
      nc,
    });
    if (value === undefined) return 'no_digest_challenge';
    return { name: proxy ? 'Proxy-Authorization' : 'Authorization', value };
  }
}

/** 401 and 407 are challenges; anything else is not. */
export function isChallenge(status: number): boolean {
  return status === 401 || status === 407;
}
