import type { MediaSession, MediaStats } from '../media/media-session.ts';
import type { DialogUser, InviteSession } from '../sip/ua/invite-session.ts';

/** A media session that does nothing, for leg unit tests: the test moves the receive counter itself. */
export function fakeMedia(): MediaSession & { counters: MediaStats } {
  const counters = {
    packetsReceived: 0,
    srtp: false,
    remote: null,
    inbandDtmf: false,
  } as unknown as MediaStats;
  return {
    counters,
    localPort: 40000,
    localHost: '127.0.0.1',
    onEvent: null,
    setCodec() {},
    setRemote() {},
    setSrtp() {},
    setInbandDtmf() {},
    setFill() {},
    play() {},
    stop() {},
    sendDtmf() {},
    bridge() {
      return { active: true, unbridge() {} };
    },
    echo() {},
    record: ({ file }) =>
      Promise.resolve({ file, stop: () => Promise.resolve({ file, durationMs: 0, bytes: 0 }) }),
    monitor(_target, mode) {
      return { active: true, mode, setMode() {}, stop() {}, onEnded: null };
    },
    stats: () => counters,
    close() {},
  };
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
