import type { RtpSession } from '../media/rtp/session.ts';

/** Just what a leg touches of an RTP session, for leg unit tests: the receive counter is moved by the test. */
export function fakeRtp(): RtpSession & { stats: { packetsReceived: number } } {
  return {
    stats: { packetsReceived: 0 },
    localPort: 40000,
    localHost: '127.0.0.1',
    onDtmf: null,
    onSourceEnd: null,
    setCodec() {},
    setRemote() {},
    setSrtp() {},
    setSource() {},
    inbandDtmf: false,
    setInbandDtmf() {},
    setFill() {},
    setRelaying() {},
    sendDtmf() {},
    close() {},
  } as unknown as RtpSession & { stats: { packetsReceived: number } };
}
