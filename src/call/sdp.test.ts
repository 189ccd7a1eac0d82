import { describe, expect, it } from 'vitest';
import { answerOffer, type LocalMedia } from './sdp.ts';

const LOCAL: LocalMedia = {
  host: '127.0.0.1',
  port: 20000,
  codecs: ['PCMU', 'PCMA'],
  sessionId: 1,
  sessionVersion: 1,
};
const offer = (c: string, m: string): string =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 ${c}\r\nt=0 0\r\nm=audio ${m}\r\n`;

describe('answerOffer on hostile offers', () => {
  it('answers a normal offer', () => {
    const r = answerOffer(offer('192.0.2.1', '4000 RTP/AVP 8 0'), LOCAL);
    expect(r.ok && r.media).toMatchObject({ codec: 'PCMA', remoteHost: '192.0.2.1', remotePort: 4000 });
  });

  it.each([
    ['a port above 65535', offer('192.0.2.1', '65536 RTP/AVP 0')],
    ['a negative port', offer('192.0.2.1', '-1 RTP/AVP 0')],
    ['a host name instead of an address (no DNS per offer)', offer('attacker.example', '4000 RTP/AVP 0')],
    ['no payload types in range', offer('192.0.2.1', '4000 RTP/AVP 256 -8')],
  ])('refuses %s with 488', (_what, sdp) => {
    const r = answerOffer(sdp, LOCAL);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.status).toBe(488);
  });
});
