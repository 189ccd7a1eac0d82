/**
 * Session timers (RFC 4028) over loopback with the default policy (1800 s, Min-SE 90 s):
 * a caller asking for less than our Min-SE gets 422 and, being our own UA, retries at
 * the Min-SE the 422 names; its refreshes (UPDATE, offerless re-INVITE) are answered
 * with the timer granted again. The expiry itself is the sipp tests' (test/interop).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { getHeader } from '../../src/sip/message/headers.ts';
import type { SipResponse } from '../../src/sip/message/types.ts';
import { DIAG_ECHO } from '../../src/diag/diagnostics.ts';
import type { TestPhone } from '../phone/phone.ts';
import { eventually, phone, startServer } from './harness.ts';

describe('session timers (RFC 4028) with the default policy', () => {
  let server: Server;
  let caller: TestPhone;

  beforeAll(async () => {
    server = await startServer();
    caller = await phone({ number: '+79161234567' });
  });

  afterAll(async () => {
    await caller.close();
    await server.stop();
  });

  const leg = () => [...server.engine.legs].find((l) => l.direction === 'inbound');

  it('422 below Min-SE 90, the retry at 90 is granted with the caller as refresher; refreshes are answered', async () => {
    const call = await caller.call(
      DIAG_ECHO,
      { port: server.sipPort },
      {
        headers: [
          { name: 'Supported', value: 'timer' },
          { name: 'Session-Expires', value: '60;refresher=uac' },
          { name: 'Min-SE', value: '60' },
        ],
      },
    );
    // The first INVITE got 422 (our UA retried once with CSeq 2): the dialog runs at 90 s.
    expect(call.session.dialog.localSeq).toBe(2);
    await eventually(() => leg()?.sessionTimer.state === 'watching', 2000, 'timer running');
    const firstAnswer = leg()?.session?.localSdp ?? '';
    expect(firstAnswer).toMatch(/^v=0/);

    expect(leg()?.sessionTimer.timer).toEqual({ intervalS: 90, refresher: 'remote', minSeS: 90 });

    const update = (await call.session.update([
      { name: 'Supported', value: 'timer' },
      { name: 'Session-Expires', value: '90;refresher=uac' },
      { name: 'Min-SE', value: '90' },
    ])) as SipResponse;
    expect(update.status).toBe(200);
    expect(getHeader(update, 'session-expires')).toBe('90;refresher=uac');
    expect(getHeader(update, 'require')).toBe('timer');

    // An UPDATE below our Min-SE: 422 with Min-SE, the session keeps its timer.
    const low = (await call.session.update([{ name: 'Session-Expires', value: '30' }])) as SipResponse;
    expect(low.status).toBe(422);
    expect(getHeader(low, 'min-se')).toBe('90');
    expect(leg()?.sessionTimer.state).toBe('watching');

    // An offerless re-INVITE refresh: we offer our last SDP unchanged (same o= version).
    const reinvite = caller.ua.inDialogRequest(call.session, 'INVITE', [
      { name: 'Supported', value: 'timer' },
      { name: 'Session-Expires', value: '90;refresher=uac' },
      { name: 'Min-SE', value: '90' },
    ]);
    const seq = call.session.dialog.localSeq;
    const re = await new Promise<SipResponse | undefined>((resolve) =>
      caller.stack.sendRequest(reinvite, call.session.dialog.flow, {
        onResponse: (r) => {
          if (r.status < 200) return;
          if (r.status < 300) caller.ua.ackReinvite(call.session, seq);
          resolve(r);
        },
        onTimeout: () => resolve(undefined),
      }),
    );
    expect(re?.status).toBe(200);
    expect(getHeader(re!, 'session-expires')).toBe('90;refresher=uac');
    const origin = (sdp: string): string | undefined => /^o=.*$/m.exec(sdp)?.[0];
    expect(origin(re!.body.toString())).toBe(origin(firstAnswer));
    expect(leg()?.sessionTimer.state).toBe('watching');

    // The caller hangs up: the leg's timers (the expiry watch among them) are all gone.
    const ours = leg()!;
    await call.hangup();
    await eventually(() => ours.ended, 3000, 'leg ended');
    expect(ours.sessionTimer.state).toBe('ended');
    expect(ours.timerCount).toBe(0);
    await eventually(() => server.engine.activeLegs === 0, 3000, 'legs released');
  });

  it('a caller that does not ask for a timer gets none (no refreshes, no expiry)', async () => {
    const call = await caller.call(DIAG_ECHO, { port: server.sipPort });
    await eventually(() => leg()?.isUp === true, 2000, 'answered');
    expect(leg()?.sessionTimer.state).toBe('off');
    await call.hangup();
    await eventually(() => server.engine.activeLegs === 0, 3000, 'legs released');
  });
});
