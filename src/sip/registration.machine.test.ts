import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from '../util/fake-clock.ts';
import { allMoves } from '../util/state-machine.ts';
import type { SipResponse } from './message/types.ts';
import { REGISTRATION_TRANSITIONS, RegistrationClient, type RegistrationOptions } from './registration.ts';
import type { UserAgent } from './ua/user-agent.ts';

/**
 * The trunk registration's machine (RFC 3261 §10.2), driven only through its
 * own methods and the registrar's answers on a fake clock: every move of
 * REGISTRATION_TRANSITIONS, and one the table refuses.
 */

const seen = new Set<string>();

function client() {
  const clock = new FakeClock();
  /** REGISTERs sent (their Expires) and the answers the test gives them. */
  const sent: { expires: string | undefined; answer: (res: SipResponse | undefined) => void }[] = [];
  const ua = {
    viaFor: () => 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKtest',
    contactFor: () => '<sip:agentline@127.0.0.1:5060>',
    request: (req: { headers: { name: string; value: string }[] }) =>
      new Promise<SipResponse | undefined>((answer) =>
        sent.push({ expires: req.headers.find((h) => h.name === 'Expires')?.value, answer }),
      ),
  } as unknown as UserAgent;
  const opts: RegistrationOptions = {
    ua,
    clock,
    logger: pino({ level: 'silent' }),
    label: 'test',
    registrar: { scheme: 'sip', host: '127.0.0.1', port: 5070, params: new Map(), headers: new Map() },
    destination: { transport: 'udp', address: '127.0.0.1', port: 5070 },
    user: 'trunk',
    timings: { expiresS: 60, retryMs: 1000, maxRetryMs: 4000 },
  } as unknown as RegistrationOptions;
  const c = new RegistrationClient(opts);
  c.onStateChange(({ from, to }) => seen.add(`${from}>${to}`));
  /** Answers the oldest REGISTER still out. */
  const answer = async (status: number | undefined) => {
    const res =
      status === undefined
        ? undefined
        : ({ status, reason: 'test', headers: [{ name: 'Expires', value: '60' }] } as unknown as SipResponse);
    sent.shift()?.answer(res);
    await settle();
  };
  return { clock, c, answer, sent };
}

describe('RegistrationClient machine', () => {
  it('registers, refreshes, fails, backs off and recovers', async () => {
    const { clock, c, answer } = client();
    c.start();
    expect(c.state).toBe('registering');
    await answer(200);
    expect(c.state).toBe('registered');
    // 60 s granted: refreshed half-way.
    clock.advance(30_000);
    expect(c.state).toBe('registering');
    await answer(503);
    expect(c.state).toBe('failed');
    clock.advance(1000);
    expect(c.state).toBe('registering');
    await answer(undefined);
    expect(c.state).toBe('failed');
    // The back-off doubled.
    clock.advance(2000);
    await answer(200);
    expect(c.state).toBe('registered');
    expect(clock.pending()).toBe(1);
  });

  it('stops from every state but off, and the pending REGISTER goes with it', async () => {
    const registering = client();
    registering.c.start();
    const stopped = registering.c.stop();
    await registering.answer(200); // the REGISTER that was out: ignored
    await registering.answer(200); // the Expires: 0 one
    await stopped;
    expect(registering.c.state).toBe('off');

    for (const status of [200, 503]) {
      const { clock, c, answer, sent } = client();
      c.start();
      await answer(status);
      expect(c.state).toBe(status === 200 ? 'registered' : 'failed');
      const done = c.stop();
      expect(clock.pending()).toBe(0);
      if (sent.length > 0) await answer(200);
      await done;
      expect(c.state).toBe('off');
    }
  });

  it('refuses a move the table does not allow (off → off)', async () => {
    const { c, sent } = client();
    const refused: string[] = [];
    c.onRefused(({ from, to }) => refused.push(`${from}>${to}`));
    await c.stop();
    expect(refused).toEqual(['off>off']);
    expect(c.state).toBe('off');
    expect(sent).toHaveLength(0);
  });

  it('drove every move the table allows', () => {
    expect([...seen].sort()).toEqual(allMoves(REGISTRATION_TRANSITIONS).sort());
  });
});
