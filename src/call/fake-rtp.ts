import type { RtpSession } from '../media/rtp/session.ts';
import type { DialogUser, InviteSession } from '../sip/ua/invite-session.ts';

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

/** Just what a leg touches of its SIP session: a confirmed dialog that counts its BYEs. */
export function fakeSession(): InviteSession & { byes: number; user: DialogUser | null } {
  const s = {
    state: 'confirmed',
    get live() {
      return s.state === 'confirmed';
    },
    user: null as DialogUser | null,
    byes: 0,
    bye() {
      s.byes++;
      s.state = 'terminated';
      return Promise.resolve();
    },
  };
  return s as unknown as InviteSession & { byes: number; user: DialogUser | null };
}
