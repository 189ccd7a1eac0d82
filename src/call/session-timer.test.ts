import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { HeaderField, SipRequest, SipResponse } from '../sip/message/types.ts';
import type { NegotiatedTimer } from '../sip/session-timer.ts';
import type { InviteSession } from '../sip/ua/invite-session.ts';
import { FakeClock } from '../util/fake-clock.ts';
import { fakeMedia, fakeSession } from './fake-media.ts';
import { Leg } from './leg.ts';
import { SessionTimer } from './session-timer.ts';

/**
 * The leg's session timer (RFC 4028 §10) on a fake clock and a fake dialog:
 * the test answers (or does not answer) each refresh the leg sends.
 */

interface Sent {
  method: 'UPDATE' | 'INVITE';
  sdp: string | undefined;
  headers: HeaderField[];
  answer: (res: SipResponse | undefined) => void;
}

const LAST_SDP =
  'v=0\r\no=- 7 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';

/** The shared fake dialog, plus the refreshes it is asked to send (answered by the test). */
function refreshingSession(allowsUpdate: boolean) {
  const sent: Sent[] = [];
  const ask = (method: Sent['method'], sdp: string | undefined, headers: HeaderField[]) =>
    new Promise<SipResponse | undefined>((answer) => sent.push({ method, sdp, headers, answer }));
  const fake = Object.assign(fakeSession(), {
    localSdp: LAST_SDP,
    peerAllowsUpdate: allowsUpdate,
    update: (headers: HeaderField[]) => ask('UPDATE', undefined, headers),
    reinvite: (sdp: string, headers: HeaderField[]) => ask('INVITE', sdp, headers),
  });
  return { session: fake as InviteSession, fake, sent };
}

const res = (status: number, headers: [string, string][] = []): SipResponse =>
  ({ status, headers: headers.map(([name, value]) => ({ name, value })) }) as unknown as SipResponse;

const req = (headers: [string, string][]): SipRequest =>
  ({ headers: headers.map(([name, value]) => ({ name, value })) }) as unknown as SipRequest;

function answeredLeg(timer: NegotiatedTimer, allowsUpdate = true) {
  const clock = new FakeClock();
  const leg = new Leg(
    'outbound',
    fakeMedia(),
    { host: '127.0.0.1', port: 40000, codecs: ['PCMU'], sessionId: 7 },
    '+79000000001',
    '+74950000001',
    clock,
    pino({ level: 'silent' }),
    0,
    { intervalS: 1800, minSeS: 90 },
  );
  const { session, fake, sent } = refreshingSession(allowsUpdate);
  leg.attach(session, timer);
  return { clock, leg, fake, sent };
}

const header = (s: Sent | undefined, name: string): string | undefined =>
  s?.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;

describe('Leg session timer', () => {
  describe('refresher: we refresh', () => {
    const weRefresh: NegotiatedTimer = { intervalS: 120, refresher: 'local', minSeS: 90 };

    it('sends UPDATE without SDP at half the interval when the peer allows UPDATE, and again after the 2xx', async () => {
      const { clock, leg, sent } = answeredLeg(weRefresh);
      await clock.advanceAsync(59_999);
      expect(sent).toHaveLength(0);
      await clock.advanceAsync(1);
      expect(sent).toHaveLength(1);
      expect(sent[0]?.method).toBe('UPDATE');
      expect(header(sent[0], 'session-expires')).toBe('120;refresher=uac');
      expect(header(sent[0], 'min-se')).toBe('90');
      expect(header(sent[0], 'supported')).toBe('timer');
      sent[0]?.answer(res(200, [['Session-Expires', '120;refresher=uac']]));
      await clock.advanceAsync(59_999);
      expect(sent).toHaveLength(1);
      await clock.advanceAsync(1);
      expect(sent).toHaveLength(2);
      expect(leg.state).toBe('answered');
    });

    it('without UPDATE in Allow: a re-INVITE with the last SDP, unchanged', async () => {
      const { clock, sent } = answeredLeg(weRefresh, false);
      await clock.advanceAsync(60_000);
      expect(sent[0]?.method).toBe('INVITE');
      expect(sent[0]?.sdp).toBe(LAST_SDP);
    });

    it('a refresh with no answer (transaction timeout) ends the leg as session_expired with BYE', async () => {
      const { clock, leg, fake, sent } = answeredLeg(weRefresh);
      await clock.advanceAsync(60_000);
      sent[0]?.answer(undefined);
      await clock.advanceAsync(0);
      expect(leg.endReason).toBe('session_expired');
      expect(fake.byes).toBe(1);
      expect(leg.timerCount).toBe(0);
    });

    for (const status of [408, 481]) {
      it(`a ${status} to the refresh ends the leg`, async () => {
        const { clock, leg, sent } = answeredLeg(weRefresh);
        await clock.advanceAsync(60_000);
        sent[0]?.answer(res(status));
        await clock.advanceAsync(0);
        expect(leg.endReason).toBe('session_expired');
        expect(leg.timerCount).toBe(0);
      });
    }

    it('a refresh still unanswered when the session runs out ends the leg at the expiry', async () => {
      const { clock, leg } = answeredLeg(weRefresh);
      await clock.advanceAsync(119_999);
      expect(leg.state).toBe('answered');
      await clock.advanceAsync(1);
      expect(leg.endReason).toBe('session_expired');
      expect(leg.timerCount).toBe(0);
    });

    it('a refused refresh (491) is tried again in the time left; the session lives on', async () => {
      const { clock, leg, sent } = answeredLeg(weRefresh);
      await clock.advanceAsync(60_000);
      sent[0]?.answer(res(491));
      await clock.advanceAsync(30_000);
      expect(sent).toHaveLength(2);
      sent[1]?.answer(res(200, [['Session-Expires', '120;refresher=uac']]));
      await clock.advanceAsync(100_000);
      expect(leg.state).toBe('answered');
    });

    it('a peer that never agreed to timers (probe only): a refused refresh still proves it alive', async () => {
      const { clock, leg, sent } = answeredLeg({ ...weRefresh, probeOnly: true });
      await clock.advanceAsync(60_000);
      sent[0]?.answer(res(501));
      await clock.advanceAsync(60_000);
      expect(sent).toHaveLength(2);
      sent[1]?.answer(res(405));
      await clock.advanceAsync(60_000);
      expect(leg.state).toBe('answered');
      sent[2]?.answer(res(481));
      await clock.advanceAsync(0);
      expect(leg.endReason).toBe('session_expired');
    });

    it('a 2xx handing the refresh to the peer (refresher=uas) makes us watch instead', async () => {
      const { clock, leg, sent } = answeredLeg(weRefresh);
      await clock.advanceAsync(60_000);
      sent[0]?.answer(res(200, [['Session-Expires', '120;refresher=uas']]));
      await clock.advanceAsync(0);
      expect(leg.sessionTimer.state).toBe('watching');
      // Nothing more from us; the peer's refresh is due; without it the leg ends at 120 − 32 s.
      await clock.advanceAsync(87_999);
      expect(sent).toHaveLength(1);
      expect(leg.state).toBe('answered');
      await clock.advanceAsync(1);
      expect(leg.endReason).toBe('session_expired');
    });
  });

  describe('watching: the peer refreshes', () => {
    const peerRefreshes: NegotiatedTimer = { intervalS: 90, refresher: 'remote', minSeS: 90 };

    it('no refresh by expiry − min(32 s, interval/3): BYE, session_expired, no timer left', async () => {
      const { clock, leg, fake, sent } = answeredLeg(peerRefreshes);
      await clock.advanceAsync(59_999);
      expect(leg.state).toBe('answered');
      await clock.advanceAsync(1);
      expect(leg.endReason).toBe('session_expired');
      expect(fake.byes).toBe(1);
      expect(sent).toHaveLength(0);
      expect(leg.timerCount).toBe(0);
    });

    it('each UPDATE or re-INVITE from the peer restarts the interval and is answered with Session-Expires', async () => {
      const { clock, leg, fake } = answeredLeg(peerRefreshes);
      for (let i = 0; i < 5; i++) {
        await clock.advanceAsync(45_000);
        const r = fake.user!.onUpdate!(
          undefined,
          req([
            ['Session-Expires', '90;refresher=uac'],
            ['Supported', 'timer'],
          ]),
        );
        expect('status' in r).toBe(false);
        expect((r as { headers: HeaderField[] }).headers).toContainEqual({
          name: 'Session-Expires',
          value: '90;refresher=uac',
        });
      }
      expect(leg.state).toBe('answered');
      await clock.advanceAsync(60_000);
      expect(leg.endReason).toBe('session_expired');
    });

    it('a refresh below our Min-SE gets 422 with Min-SE and does not extend the session', () => {
      const { fake } = answeredLeg(peerRefreshes);
      const r = fake.user!.onUpdate!(undefined, req([['Session-Expires', '30']]));
      expect(r).toEqual({ status: 422, headers: [{ name: 'Min-SE', value: '90' }] });
    });

    it('a refresh without Session-Expires keeps the running timer (and says so in the 2xx)', async () => {
      const { clock, leg, fake } = answeredLeg(peerRefreshes);
      await clock.advanceAsync(50_000);
      const r = fake.user!.onUpdate!(undefined, req([]));
      expect((r as { headers: HeaderField[] }).headers).toEqual([
        { name: 'Session-Expires', value: '90;refresher=uac' },
      ]);
      await clock.advanceAsync(59_999);
      expect(leg.state).toBe('answered');
      await clock.advanceAsync(1);
      expect(leg.endReason).toBe('session_expired');
    });
  });

  describe('any end of the leg clears the timer', () => {
    for (const [name, timer] of [
      ['refresher', { intervalS: 120, refresher: 'local', minSeS: 90 }],
      ['watching', { intervalS: 120, refresher: 'remote', minSeS: 90 }],
    ] as const) {
      it(`${name}: hang-up, BYE from the peer, or a refresh in flight leave no timer`, async () => {
        const a = answeredLeg(timer);
        expect(a.leg.timerCount).toBeGreaterThan(0);
        await a.leg.hangup();
        expect(a.leg.timerCount).toBe(0);
        expect(a.clock.pending()).toBe(0);

        const b = answeredLeg(timer);
        b.fake.user!.onBye();
        expect(b.leg.endReason).toBe('remote_hangup');
        expect(b.clock.pending()).toBe(0);

        const c = answeredLeg(timer);
        await c.clock.advanceAsync(60_000);
        await c.leg.hangup();
        c.sent[0]?.answer(res(200, [['Session-Expires', '120;refresher=uac']]));
        await c.clock.advanceAsync(0);
        expect(c.leg.sessionTimer.state).toBe('ended');
        expect(c.clock.pending()).toBe(0);
      });
    }
  });
});

describe('SessionTimer delays', () => {
  // Node runs a setTimeout longer than 2^31 − 1 ms after 1 ms: a peer's Min-SE of ten digits
  // (which §9 forbids us to go below) must give a long timer, not an instant expiry or refresh.
  for (const refresher of ['local', 'remote'] as const) {
    it(`a ${refresher} refresher with an interval of 9999999999 s arms no timer beyond Node's limit`, () => {
      const delays: number[] = [];
      const t = new SessionTimer({
        now: () => 0,
        setTimer: (_fn, ms) => {
          delays.push(ms);
          return { id: delays.length };
        },
        clearTimer: () => {},
        refresh: () => new Promise(() => {}),
        expired: () => {},
      });
      t.start({ intervalS: 9_999_999_999, refresher, minSeS: 9_999_999_999 });
      expect(delays).toHaveLength(1);
      expect(delays[0]).toBeGreaterThan(24 * 3600_000);
      expect(delays[0]).toBeLessThanOrEqual(2 ** 31 - 1);
    });
  }
});
