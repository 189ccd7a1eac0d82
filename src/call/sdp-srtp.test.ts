import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as sdp from './sdp.ts';
import type { LocalMedia } from './sdp.ts';
import { LOCAL_MEDIA } from './testing.ts';

const KEY = randomBytes(30).toString('base64');

const base: LocalMedia = { ...LOCAL_MEDIA };

const savp = (crypto: string[], proto = 'RTP/SAVP'): string =>
  `v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 ${proto} 0 101\r\n` +
  'a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n' +
  crypto.map((c) => `a=crypto:${c}\r\n`).join('');

const avp = savp([], 'RTP/AVP');

// The first test runs against the tree before SRTP too (no SdesKey there): an RTP/SAVP offer
// must never be answered with plain RTP/AVP.
describe('an RTP/SAVP offer is answered with SRTP or 488, never plain RTP', () => {
  it('without SRTP keys on our side: 488, not an RTP/AVP answer', () => {
    const r = sdp.answerOffer(savp([`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]), base);
    if (r.ok) expect(r.sdp).not.toContain('RTP/AVP');
    expect(r).toMatchObject({ ok: false, status: 488 });
  });
});

describe('SDES (RFC 4568)', () => {
  const key = () => sdp.SdesKey.random();
  const local = (srtp: sdp.SrtpPolicy): LocalMedia => ({ ...base, srtp, sdesKey: key() });

  it('optional: answers RTP/SAVP with our key on the offerer tag, skipping unknown suites', () => {
    const l = local('optional');
    const r = sdp.answerOffer(
      savp([
        `1 AES_CM_256_HMAC_SHA1_80 inline:${randomBytes(46).toString('base64')}`,
        `7 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20`,
      ]),
      l,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.sdp).toContain('m=audio 10000 RTP/SAVP 0 101');
    expect(r.sdp).toContain(`a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:${l.sdesKey!.inline()}`);
    expect(r.sdp).not.toContain(KEY);
    expect(r.media.srtp?.tag).toBe(7);
    expect(r.media.srtp?.remoteKey.bytes.toString('base64')).toBe(KEY);
    // Plain offers stay plain.
    const p = sdp.answerOffer(avp, l);
    expect(p.ok && p.sdp.includes('RTP/AVP') && !p.sdp.includes('crypto')).toBe(true);
  });

  it.each([
    ['only unknown suites', [`1 F8_128_HMAC_SHA1_80 inline:${KEY}`], 'No supported crypto suite'],
    ['no crypto line', [], 'No supported crypto suite'],
    [
      'a key of the wrong length',
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${randomBytes(16).toString('base64')}`],
      'No supported crypto suite',
    ],
    ['MKI', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4`], 'SRTP MKI not supported'],
    ['session parameters', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} KDR=1`], 'No supported crypto suite'],
  ])('RTP/SAVP with %s → 488', (_what, lines, reason) => {
    expect(sdp.answerOffer(savp(lines), local('optional'))).toMatchObject({
      ok: false,
      status: 488,
      reason,
      srtp: true,
    });
  });

  it('off: RTP/SAVP → 488; mandatory: RTP/AVP → 488; DTLS-SRTP profile → 488', () => {
    const line = [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`];
    expect(sdp.answerOffer(savp(line), local('off'))).toMatchObject({
      ok: false,
      status: 488,
      reason: 'SRTP not enabled',
    });
    expect(sdp.answerOffer(avp, local('mandatory'))).toMatchObject({
      ok: false,
      status: 488,
      reason: 'SRTP required',
    });
    expect(sdp.answerOffer(savp(line), local('mandatory')).ok).toBe(true);
    expect(sdp.answerOffer(savp(line, 'UDP/TLS/RTP/SAVP'), local('optional'))).toMatchObject({
      ok: false,
      status: 488,
    });
  });

  it('mandatory: our offer is RTP/SAVP; only an RTP/SAVP answer on our tag is taken', () => {
    const l = local('mandatory');
    const offer = sdp.buildOffer(l);
    expect(offer).toContain('RTP/SAVP');
    expect(offer).toContain(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${l.sdesKey!.inline()}`);
    expect(
      sdp
        .readAnswer(savp([`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]), l)
        ?.srtp?.remoteKey.bytes.toString('base64'),
    ).toBe(KEY);
    expect(sdp.checkAnswer(avp, l)).toMatchObject({
      srtp: true,
      reason: 'Media protocol differs from the offer',
    });
    expect(sdp.readAnswer(savp([`2 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]), l)).toBeUndefined();
    // optional: our offers stay RTP/AVP, and an RTP/SAVP answer to them is wrong.
    const o = local('optional');
    expect(sdp.buildOffer(o)).not.toContain('SAVP');
    expect(sdp.readAnswer(savp([`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]), o)).toBeUndefined();
  });

  it('keys never show in a log form: maskSdpKeys and the SdesKey JSON', () => {
    const l = local('mandatory');
    const offer = sdp.buildOffer(l) + `a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20\r\n`;
    const masked = sdp.maskSdpKeys(offer);
    expect(masked).not.toContain(l.sdesKey!.inline());
    expect(masked).not.toContain(KEY);
    expect(masked).toContain('inline:[masked]|2^20');
    expect(JSON.stringify({ k: l.sdesKey })).not.toContain(l.sdesKey!.inline());
    expect(`${String(l.sdesKey)}`).toBe('[srtp key]');
  });
});
