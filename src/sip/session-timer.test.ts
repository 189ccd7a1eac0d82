import { describe, expect, it } from 'vitest';
import { getHeader } from './message/headers.ts';
import { parseMessage } from './message/parse.ts';
import type { SipRequest } from './message/types.ts';
import {
  allowsUpdate,
  expiryAfterMs,
  formatSessionExpires,
  hasOptionTag,
  parseMinSe,
  parseSessionExpires,
  refreshAfterMs,
  retryInterval,
  uacNegotiate,
  uacRequestHeaders,
  uasNegotiate,
} from './session-timer.ts';
import { withHeaders } from './message/testing.ts';

const bag = withHeaders;
const policy = { intervalS: 1800, minSeS: 90 };

describe('Session-Expires and Min-SE (RFC 4028 §4, §5)', () => {
  it('parses delta-seconds with and without a refresher, any case, unknown params ignored', () => {
    expect(parseSessionExpires('1800')).toEqual({ seconds: 1800, refresher: undefined });
    expect(parseSessionExpires(' 90;refresher=uac')).toEqual({ seconds: 90, refresher: 'uac' });
    expect(parseSessionExpires('4000 ; REFRESHER = UAS ; foo=bar')).toEqual({
      seconds: 4000,
      refresher: 'uas',
    });
    expect(parseSessionExpires('600;refresher=proxy')).toEqual({ seconds: 600, refresher: undefined });
  });

  it('refuses what is not delta-seconds', () => {
    for (const bad of ['', 'abc', '-5', '1.5', '90;;', '90 x'])
      expect(parseSessionExpires(bad)).toBeUndefined();
    expect(parseMinSe('90')).toBe(90);
    expect(parseMinSe('120;x=y')).toBe(120);
    expect(parseMinSe('soon')).toBeUndefined();
  });

  it('serialises back to what it parsed', () => {
    for (const v of ['1800', '90;refresher=uac', '4000;refresher=uas'])
      expect(formatSessionExpires(parseSessionExpires(v)!)).toBe(v);
  });

  it('reads the compact form x and the option tag among others in Supported (k)', () => {
    const raw = [
      'INVITE sip:100@127.0.0.1 SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1',
      'From: <sip:a@127.0.0.1>;tag=1',
      'To: <sip:100@127.0.0.1>',
      'Call-ID: st-1',
      'CSeq: 1 INVITE',
      'x: 90;refresher=uac',
      'k: 100rel, Timer',
      'Allow: INVITE, ACK, BYE, update',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const parsed = parseMessage(Buffer.from(raw));
    if (!parsed.ok) throw new Error(parsed.error);
    const msg = parsed.message as SipRequest;
    expect(parseSessionExpires(getHeader(msg, 'session-expires')!)).toEqual({
      seconds: 90,
      refresher: 'uac',
    });
    expect(hasOptionTag(msg, 'supported')).toBe(true);
    expect(hasOptionTag(msg, 'require')).toBe(false);
    expect(allowsUpdate(msg)).toBe(true);
  });

  it('our INVITE offers Supported: timer, the interval and our Min-SE', () => {
    expect(uacRequestHeaders(1800, 90)).toEqual([
      { name: 'Supported', value: 'timer' },
      { name: 'Session-Expires', value: '1800' },
      { name: 'Min-SE', value: '90' },
    ]);
    expect(uacRequestHeaders(120, 90, 'uac')[1]).toEqual({
      name: 'Session-Expires',
      value: '120;refresher=uac',
    });
  });
});

describe('UAS: the refresher and the interval (§9)', () => {
  it('no Session-Expires in the request: no timer', () => {
    expect(uasNegotiate(bag(['Supported', 'timer']), policy)).toEqual({ kind: 'none' });
  });

  it('below our Min-SE: 422 with our Min-SE', () => {
    expect(uasNegotiate(bag(['Session-Expires', '60'], ['Supported', 'timer']), policy)).toEqual({
      kind: 'too_small',
      headers: [{ name: 'Min-SE', value: '90' }],
    });
  });

  it('the UAC chose (uac / uas): its choice, with Require: timer', () => {
    const uac = uasNegotiate(bag(['Session-Expires', '90;refresher=uac'], ['Supported', 'timer']), policy);
    expect(uac).toEqual({
      kind: 'timer',
      timer: { intervalS: 90, refresher: 'remote', minSeS: 90 },
      headers: [
        { name: 'Session-Expires', value: '90;refresher=uac' },
        { name: 'Require', value: 'timer' },
      ],
    });
    const uas = uasNegotiate(bag(['Session-Expires', '600;refresher=uas'], ['Supported', 'timer']), policy);
    expect(uas.kind === 'timer' && uas.timer.refresher).toBe('local');
  });

  it('the UAC supports timers but left the choice: the UAC refreshes', () => {
    const d = uasNegotiate(bag(['Session-Expires', '600'], ['Supported', 'timer']), policy);
    expect(d.kind === 'timer' && d.headers[0]?.value).toBe('600;refresher=uac');
    expect(d.kind === 'timer' && d.timer.refresher).toBe('remote');
  });

  it('the UAC does not support timers (a proxy asked): we refresh, and no Require', () => {
    const d = uasNegotiate(bag(['Session-Expires', '600;refresher=uac']), policy);
    expect(d).toEqual({
      kind: 'timer',
      timer: { intervalS: 600, refresher: 'local', minSeS: 90 },
      headers: [{ name: 'Session-Expires', value: '600;refresher=uas' }],
    });
  });

  it('lowers a long interval to ours, never below the request Min-SE', () => {
    const long = uasNegotiate(bag(['Session-Expires', '7200'], ['Supported', 'timer']), policy);
    expect(long.kind === 'timer' && long.timer.intervalS).toBe(1800);
    const floor = uasNegotiate(
      bag(['Session-Expires', '7200'], ['Min-SE', '3600'], ['Supported', 'timer']),
      policy,
    );
    expect(floor.kind === 'timer' && floor.timer).toEqual({
      intervalS: 3600,
      refresher: 'remote',
      minSeS: 3600,
    });
  });

  it('a test policy below the RFC floor takes its own Min-SE only when the request names one', () => {
    const fast = { intervalS: 6, minSeS: 4 };
    const d = uasNegotiate(
      bag(['Session-Expires', '4;refresher=uac'], ['Min-SE', '4'], ['Supported', 'timer']),
      fast,
    );
    expect(d.kind === 'timer' && d.timer).toEqual({ intervalS: 4, refresher: 'remote', minSeS: 4 });
  });
});

describe('UAC: the 2xx and the 422 (§7)', () => {
  const offered = { intervalS: 1800, minSeS: 90 };
  it('the UAS chose: uac is us, uas is the peer', () => {
    expect(uacNegotiate(bag(['Session-Expires', '900;refresher=uac']), offered)).toEqual({
      intervalS: 900,
      refresher: 'local',
      minSeS: 90,
    });
    expect(uacNegotiate(bag(['Session-Expires', '900;refresher=uas']), offered).refresher).toBe('remote');
  });

  it('a 2xx cannot stretch the interval beyond what we asked nor cut it below our Min-SE (§9)', () => {
    // A peer that did (a huge value overflowed Node's timers: the leg expired or refreshed at once).
    expect(uacNegotiate(bag(['Session-Expires', '9999999999;refresher=uac']), offered).intervalS).toBe(1800);
    // 0 or 1 s would have us refresh every half second for the whole call.
    expect(uacNegotiate(bag(['Session-Expires', '0;refresher=uac']), offered).intervalS).toBe(90);
    expect(uacNegotiate(bag(['Session-Expires', '1;refresher=uas']), offered)).toEqual({
      intervalS: 90,
      refresher: 'remote',
      minSeS: 90,
    });
  });

  it('no Session-Expires in the 2xx: we refresh on our own at the interval we asked', () => {
    expect(uacNegotiate(bag(), offered)).toEqual({
      intervalS: 1800,
      refresher: 'local',
      minSeS: 90,
      probeOnly: true,
    });
  });

  it('422: retry at the larger Min-SE, not when it names nothing larger', () => {
    expect(retryInterval(bag(['Min-SE', '3600']), 1800)).toBe(3600);
    expect(retryInterval(bag(['Min-SE', '900']), 1800)).toBeUndefined();
    expect(retryInterval(bag(), 1800)).toBeUndefined();
  });
});

describe('when to refresh and when to give up (§10)', () => {
  it('refresh at half; give up before expiry by min(32 s, interval/3)', () => {
    expect(refreshAfterMs(1800)).toBe(900_000);
    expect(expiryAfterMs(1800)).toBe(1_768_000);
    expect(expiryAfterMs(90)).toBe(60_000);
    expect(expiryAfterMs(6)).toBe(4000);
  });
});
