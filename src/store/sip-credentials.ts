import { createHash } from 'node:crypto';

/** HA1 digests for SIP digest auth: MD5 (RFC 2617) and SHA-256 (RFC 7616) of `username:realm:password`. */
export function computeHa1(
  username: string,
  realm: string,
  password: string,
): { ha1Md5: string; ha1Sha256: string } {
  const a1 = `${username}:${realm}:${password}`;
  return {
    ha1Md5: createHash('md5').update(a1, 'utf8').digest('hex'),
    ha1Sha256: createHash('sha256').update(a1, 'utf8').digest('hex'),
  };
}
