import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { tempDir } from '../../src/store/test-helpers.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { eventually, sleep, startServer } from './harness.ts';
import {
  SALES,
  agentId,
  makeReady,
  nextAgentTakesOver,
  setState,
  stateOf,
  waitState,
  useCallRig,
} from './acd-helpers.ts';

/**
 * Dead calls (issue 10): a phone that vanishes without BYE stops sending RTP; after
 * --rtp-timeout-seconds (2 s here) its leg is hung up as `media_timeout` and the call goes on
 * as if that party had hung up — except that a dead agent never drops the customer.
 */
const TIMEOUT_S = 2;

describe('dead calls (RTP inactivity timeout)', () => {
  let server: Server | undefined;
  let trunk: TestPhone | undefined;
  const rig = useCallRig({ expectNoLiveCalls: true });
  const customer = (number = '+79161234567'): Promise<TestPhone> => rig.phone(number);

  it('a customer phone that goes silent while queued leaves the queue and is never offered to an agent', async () => {
    ({ server, trunk } = await rig.startWithTrunk({ rtpTimeoutSeconds: TIMEOUT_S }));
    const s = server;
    await makeReady(s, '1001');
    await setState(s, '1001', 'not_ready'); // logged in, not taking calls: the call waits
    const c = await customer();
    const custCall = await c.call(SALES, { port: s.sipPort });
    custCall.send(new SineSource(1000, 4000));
    await eventually(() => s.acd.liveCalls.some((cc) => cc.state === 'queued'), 5000, 'queued');
    custCall.goSilent();
    // The server hangs up on the silent phone (its SIP still answers the BYE).
    expect(await custCall.ended).toBe('remote');
    await eventually(
      async () => (await s.store.calls.listCdr())[0]?.outcome === 'media_timeout',
      5000,
      'media_timeout CDR',
    );
    expect(s.acd.liveCalls).toHaveLength(0);
    // An agent who becomes ready now finds nothing waiting.
    await setState(s, '1001', 'ready');
    await s.acd.idle();
    const cdr = (await s.store.calls.listCdr())[0]!;
    expect(cdr.endedAt).not.toBeNull();
    const kinds = (await s.store.calls.listQueueEvents(cdr.id)).map((e) => e.kind);
    expect(kinds).toEqual(['enter', 'abandon']);
    expect(await stateOf(s, '1001')).toBe('ready');
  });

  it('a silent customer in talk ends the call and frees the agent', async () => {
    ({ server, trunk } = await rig.startWithTrunk({ rtpTimeoutSeconds: TIMEOUT_S }));
    const s = server;
    const { customer: custCall, agent: agentCall } = await rig.connectCustomer({
      customerHz: 1000,
      agentHz: 600,
    });
    await agentCall.waitForTone(1000, 5000, 200);
    custCall.goSilent();
    expect(await agentCall.ended).toBe('remote');
    expect(await custCall.ended).toBe('remote');
    await eventually(
      async () => (await s.store.calls.listCdr())[0]?.outcome === 'media_timeout',
      5000,
      'media_timeout CDR',
    );
    // Released after the customer's record is closed and the agent leg is hung up.
    await eventually(async () => (await stateOf(s, '1001')) !== 'busy', 5000, '1001 not busy');
  });

  it('a silent agent in talk: the customer goes back to the head of the queue and to the next agent', async () => {
    ({ server, trunk } = await rig.startWithTrunk({ rtpTimeoutSeconds: TIMEOUT_S }));
    const s = server;
    const { customer: custCall, agent: first } = await rig.connectCustomer({
      customerHz: 1000,
      agentHz: 600,
    });
    await custCall.waitForTone(600, 5000, 200);
    // Only now may 1002 take calls: the call went to 1001 first.
    await makeReady(s, '1002');
    first.goSilent();
    expect(await first.ended).toBe('remote');
    // Who hears whom: the customer and the second agent hear each other.
    const second = await nextAgentTakesOver(s, trunk, custCall, '1002', 1400, 1000);
    const st1001 = await stateOf(s, '1001');
    expect(['wrap_up', 'ready']).toContain(st1001);
    const cdr = (await s.store.calls.listCdr())[0]!;
    const events = await s.store.calls.listQueueEvents(cdr.id);
    const id1001 = await agentId(s, '1001');
    const id1002 = await agentId(s, '1002');
    expect(events.map((e) => [e.kind, e.agentId, e.detail])).toEqual([
      ['enter', null, null],
      ['offer', id1001, null],
      ['connect', id1001, expect.any(String)],
      ['complete_agent', id1001, JSON.stringify({ reason: 'media_timeout' })],
      ['enter', null, 'head'],
      ['offer', id1002, null],
      ['connect', id1002, expect.any(String)],
    ]);
    await custCall.hangup();
    expect(await second.ended).toBe('remote');
    await waitState(s, '1002', 'ready');
    await eventually(
      async () => (await s.store.calls.getCdr(cdr.id))?.outcome === 'answered',
      5000,
      'answered CDR',
    );
    expect((await s.store.calls.getCdr(cdr.id))?.agentIds).toEqual([id1001, id1002]);
  });

  it('closes the CDRs a killed run left open as interrupted at the next start', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, 'agentline.db');
      const first = await startServer({ db });
      await first.store.calls.insertCdr({ id: 'live-at-crash', startedAt: Date.now() - 60_000 });
      // A clean stop ends no call record: the row stays open exactly as a kill -9 leaves it.
      await first.stop();
      server = await startServer({ db });
      expect(await server.store.calls.getCdr('live-at-crash')).toMatchObject({ outcome: 'interrupted' });
      expect((await server.store.calls.getCdr('live-at-crash'))?.endedAt).not.toBeNull();
    } finally {
      await server?.stop();
      server = undefined;
      cleanup();
    }
  });

  it('keeps a phone that sends RTP (sleep past the timeout with a tone)', async () => {
    ({ server, trunk } = await rig.startWithTrunk({ rtpTimeoutSeconds: TIMEOUT_S }));
    const s = server;
    await makeReady(s, '1001');
    await setState(s, '1001', 'not_ready');
    const c = await customer();
    const custCall = await c.call(SALES, { port: s.sipPort });
    custCall.send(new SineSource(1000, 4000));
    await sleep(TIMEOUT_S * 1000 + 1000);
    expect(custCall.state).toBe('up');
    await custCall.hangup();
  });
});
