/** For tests: our side of an SDP exchange on loopback, both G.711 codecs, session 1. */
import type { LocalMedia } from './sdp.ts';

export const LOCAL_MEDIA: Readonly<LocalMedia> = {
  host: '127.0.0.1',
  port: 10000,
  codecs: ['PCMU', 'PCMA'],
  sessionId: 1,
  sessionVersion: 1,
};
