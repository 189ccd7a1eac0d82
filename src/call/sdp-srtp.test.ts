import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as sdp from './sdp.ts';
import type { LocalMedia } from './sdp.ts';

const KEY = randomBytes(30).toString('base64');

const base: LocalMedia = {
  host: '127.0.0.1',
  port: 10000,
  codecs: ['PCMU', 'PCMA'],
  sessionId: 1,
  sessionVersion: 1,
};

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

