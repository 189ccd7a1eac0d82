import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { SipRequest } from '../sip/message/types.ts';
import { FakeClock } from '../util/fake-clock.ts';
import { fakeMedia, fakeSession } from './fake-media.ts';
import { allMoves } from '../util/state-machine.ts';
import { LEG_TRANSITIONS, Leg } from './leg.ts';
import { SdesKey, type Direction, type MediaParams } from './sdp.ts';

function sdp(direction: Direction, host = '127.0.0.1'): string {
  return [
    'v=0',
    `o=- 1 2 IN IP4 ${host}`,
    's=-',
    `c=IN IP4 ${host}`,
    't=0 0',
    'm=audio 30000 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    `a=${direction}`,
    '',
  ].join('\r\n');
}

/** A re-INVITE with no session-timer headers (these legs have no session policy anyway). */
const NO_TIMER_REQ = { headers: [] } as unknown as SipRequest;

const media = (direction: Direction): MediaParams => ({
  codec: 'PCMU',
  payloadType: 0,
  dtmfPayloadType: undefined,
  remoteHost: '127.0.0.1',
  remotePort: 30000,
  direction,
});

function ringingLeg(timeoutMs = 0) {
  const clock = new FakeClock();
  const rtp = fakeMedia();
  const leg = new Leg(
    'inbound',
    rtp,
    { host: '127.0.0.1', port: 40000, codecs: ['PCMU'], sessionId: 1 },
    '+79161234567',
    '+74950000001',
    clock,
    pino({ level: 'silent' }),
    timeoutMs,
  );
  return { clock, rtp, leg };
}

function answeredLeg(timeoutMs: number, direction: Direction = 'sendrecv') {
  const ringing = ringingLeg(timeoutMs);
  ringing.leg.applyMedia(media(direction));
  const session = fakeSession();
  ringing.leg.attach(session);
  return { ...ringing, session };
}

describe('Leg states (LEG_TRANSITIONS)', () => {
  const seen = new Set<string>();
  const watched = <T extends { leg: Leg }>(l: T): T => {
    l.leg.onStateChange((c) => seen.add(`${c.from}>${c.to}`));
    return l;
  };

  it('ringing → answered on attach: what ringing armed is cleared, answered arms its own', () => {
    const { leg, clock } = watched(ringingLeg(2000));
    let rang = 0;
    leg.setTimer(() => rang++, 1000);
    expect(leg.timerCount).toBe(1);
    leg.applyMedia(media('sendrecv'));
    leg.attach(fakeSession());
    expect(leg.state).toBe('answered');
    expect(leg.isUp).toBe(true);
    clock.advance(1000);
    expect(rang).toBe(0);
    // The media watchdog belongs to the answered state.
    expect(leg.timerCount).toBe(1);
  });

  it('answered → ended on hangup: one BYE, every timer cleared, none armed afterwards', async () => {
    const { leg, session, clock } = watched(answeredLeg(2000));
    leg.setTimer(() => {}, 5000);
    await leg.hangup();
    await leg.hangup();
    expect(leg.state).toBe('ended');
    expect(leg.endReason).toBe('local_hangup');
    expect(session.byes).toBe(1);
    expect(leg.timerCount).toBe(0);
    leg.setTimer(() => {}, 10);
    expect(leg.timerCount).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('ringing → ended when cancelled: the ended listeners hear why', () => {
    const { leg } = watched(ringingLeg());
    const reasons: string[] = [];
    leg.on('ended', (r) => reasons.push(r));
    leg.end('cancelled');
    leg.end('failed');
    expect(reasons).toEqual(['cancelled']);
    expect(leg.ended).toBe(true);
  });

  it('ended → answered is refused: an attach after the end binds nothing', () => {
    const { leg } = ringingLeg();
    leg.end('cancelled');
    const session = fakeSession();
    leg.attach(session);
    expect(leg.state).toBe('ended');
    expect(leg.session).toBeUndefined();
    expect(session.user).toBeNull();
  });

  it('drove every move the table allows', () => {
    expect([...seen].sort()).toEqual(allMoves(LEG_TRANSITIONS).sort());
  });
});

describe('Leg media watchdog', () => {
  it('hangs up (BYE) with media_timeout once nothing came for the timeout', () => {
    const { clock, rtp, leg, session } = answeredLeg(2000);
    // Packets flowing keep it up well past the timeout.
    for (let i = 0; i < 10; i++) {
      rtp.counters.packetsReceived += 50;
      clock.advance(500);
    }
    expect(leg.state).toBe('answered');
    clock.advance(2600);
    expect(leg.state).toBe('ended');
    expect(leg.endReason).toBe('media_timeout');
    expect(session.byes).toBe(1);
    expect(leg.timerCount).toBe(0);
  });

  it('counts nothing while the phone holds the call (sendonly, inactive), and starts afresh on resume', () => {
    const { clock, rtp, leg, session } = answeredLeg(2000);
    clock.advance(1000);
    const answer = session.user!.onReinvite(sdp('sendonly'), NO_TIMER_REQ);
    expect('sdp' in answer).toBe(true);
    clock.advance(60_000);
    session.user!.onReinvite(sdp('inactive'), NO_TIMER_REQ);
    clock.advance(60_000);
    expect(leg.state).toBe('answered');
    expect(leg.timerCount).toBe(0);
    // Back to sendrecv: the full timeout runs from the resume.
    session.user!.onReinvite(sdp('sendrecv'), NO_TIMER_REQ);
    clock.advance(1500);
    rtp.counters.packetsReceived++;
    clock.advance(1500);
    expect(leg.state).toBe('answered');
    clock.advance(3000);
    expect(leg.endReason).toBe('media_timeout');
  });

  it('an answer that starts held (inactive, as c=0.0.0.0 reads) is not watched; 0 turns the watchdog off', () => {
    const held = answeredLeg(2000, 'inactive');
    held.clock.advance(60_000);
    expect(held.leg.state).toBe('answered');
    const off = answeredLeg(0);
    off.clock.advance(60_000);
    expect(off.leg.state).toBe('answered');
    expect(off.leg.timerCount).toBe(0);
  });
});

describe('Leg re-INVITE and SRTP', () => {
  /** An answered SRTP leg (policy optional) and the keys its RTP session was given. */
  function srtpLeg() {
    const rtp = fakeMedia();
    const keys: unknown[] = [];
    (rtp as unknown as { setSrtp: (k: unknown) => void }).setSrtp = (k) => keys.push(k);
    const leg = new Leg(
      'inbound',
      rtp,
      {
        host: '127.0.0.1',
        port: 40000,
        codecs: ['PCMU'],
        sessionId: 1,
        srtp: 'optional',
        sdesKey: SdesKey.random(),
      },
      '+79161234567',
      '+74950000001',
      new FakeClock(),
      pino({ level: 'silent' }),
      0,
    );
    leg.applyMedia({ ...media('sendrecv'), srtp: { tag: 1, remoteKey: SdesKey.random() } });
    const session = fakeSession();
    leg.attach(session);
    return { leg, user: session.user!, keys };
  }

  it('an SRTP call refuses a re-INVITE to plain RTP (488) and keeps its keys', () => {
    const { leg, user, keys } = srtpLeg();
    expect(user.onReinvite(sdp('sendrecv'), NO_TIMER_REQ)).toEqual({ status: 488, reason: 'SRTP required' });
    expect(keys).toHaveLength(1);
    expect(leg.media?.srtp).toBeDefined();
  });

  it('an SRTP call refuses an UPDATE offering plain RTP (488) the same way: no downgrade by UPDATE', () => {
    const { leg, user, keys } = srtpLeg();
    expect(user.onUpdate!(sdp('sendrecv'), NO_TIMER_REQ)).toEqual({ status: 488, reason: 'SRTP required' });
    expect(keys).toHaveLength(1);
    expect(leg.media?.srtp).toBeDefined();
  });
});
