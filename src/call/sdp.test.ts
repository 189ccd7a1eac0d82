import { describe, expect, it } from 'vitest';
import { answerOffer, buildOffer, readAnswer, type LocalMedia } from './sdp.ts';
import { LOCAL_MEDIA } from './testing.ts';

const local: LocalMedia = { ...LOCAL_MEDIA };

const offer = (m: string, c = 'IN IP4 192.0.2.10'): string =>
  `v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=${c}\r\nt=0 0\r\nm=audio ${m} RTP/AVP 0 101\r\n` +
  'a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n';

describe('SDP offer/answer', () => {
  it('answers a plain PCMU offer with the offerer address and telephone-event PT', () => {
    const r = answerOffer(offer('4000'), local);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.media).toMatchObject({
      codec: 'PCMU',
      payloadType: 0,
      dtmfPayloadType: 101,
      remoteHost: '192.0.2.10',
      remotePort: 4000,
    });
    expect(r.sdp).toContain('m=audio 10000 RTP/AVP 0 101');
  });

  it.each(['65536', '99999999999999999999', '-1', 'abc', '4000/2', ''])('m=audio %j → 488', (port) => {
    expect(answerOffer(offer(port), local)).toMatchObject({ ok: false, status: 488 });
    expect(readAnswer(offer(port), local)).toBeUndefined();
  });

  it('port 65535 is fine, and port 0 (stream disabled) is no usable stream', () => {
    expect(answerOffer(offer('65535'), local).ok).toBe(true);
    expect(answerOffer(offer('0'), local)).toMatchObject({
      ok: false,
      status: 488,
      reason: 'No usable audio stream',
    });
  });

  it.each([
    'IN IP4 999.1.1.1',
    'IN IP4 example.com',
    'IN IP4 1.2.3',
    'IN IP6 192.0.2.10',
    'IN IP4 ::1',
    'IN IP4 224.2.1.1/127',
    'IN IP4 255.255.255.255',
    'IN IP6 ff02::1',
  ])('c=%s → 488', (c) => {
    expect(answerOffer(offer('4000', c), local)).toMatchObject({
      ok: false,
      status: 488,
      reason: 'Bad connection address',
    });
  });

  it('a missing c= line → 488; hold addresses 0.0.0.0 and :: are accepted', () => {
    const noC = offer('4000').replace('c=IN IP4 192.0.2.10\r\n', '');
    expect(answerOffer(noC, local)).toMatchObject({ ok: false, status: 488 });
    const hold = answerOffer(offer('4000', 'IN IP4 0.0.0.0'), local);
    expect(hold).toMatchObject({ ok: true, media: { remoteHost: '0.0.0.0', direction: 'inactive' } });
    expect(answerOffer(offer('4000', 'IN IP6 ::'), local).ok).toBe(true);
    expect(answerOffer(offer('4000', 'IN IP6 2001:db8::5'), local)).toMatchObject({
      ok: true,
      media: { remoteHost: '2001:db8::5' },
    });
  });
});

describe('comfort noise (RFC 3389) in SDP', () => {
  const cnOffer = (pts: string, maps: string): string =>
    `v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP ${pts}\r\n${maps}`;

  it('an offer with CN 13 (with or without rtpmap) is answered with CN; the PT is kept', () => {
    for (const maps of ['a=rtpmap:0 PCMU/8000\r\na=rtpmap:13 CN/8000\r\n', 'a=rtpmap:0 PCMU/8000\r\n']) {
      const r = answerOffer(cnOffer('0 13', maps), local);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.media.cnPayloadType).toBe(13);
      expect(r.sdp).toContain('m=audio 10000 RTP/AVP 0 13');
      expect(r.sdp).toContain('a=rtpmap:13 CN/8000');
    }
  });

  it('a dynamic CN type is used as offered; no CN offered → none answered', () => {
    const r = answerOffer(cnOffer('8 118', 'a=rtpmap:8 PCMA/8000\r\na=rtpmap:118 CN/8000\r\n'), local);
    expect(r.ok && r.media.cnPayloadType).toBe(118);
    const plain = answerOffer(offer('4000'), local);
    expect(plain.ok && plain.media.cnPayloadType).toBeUndefined();
    expect(plain.ok && plain.sdp).not.toContain('CN/8000');
  });

  it('CN is offered only when asked (comfortNoise), never by default', () => {
    expect(buildOffer(local)).not.toContain('CN/8000');
    expect(buildOffer({ ...local, comfortNoise: true })).toContain('a=rtpmap:13 CN/8000');
  });
});
