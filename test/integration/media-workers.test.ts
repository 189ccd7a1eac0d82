import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { WorkerMedia } from '../../src/media/workers/worker-media.ts';
import { eventually } from './harness.ts';
import { agentId, makeReady, nextAgentTakesOver, useCallRig, waitState } from './acd-helpers.ts';
import { promtoolCheck, scrape, value } from './promtool.ts';

/**
 * Media in worker threads (issue 13, `--media-workers 2`): a bridged customer ⇄ agent call
 * relays inside one worker, and a worker killed mid-call comes back while its agent leg
 * hangs up and the customer goes back to the head of the queue, to the next agent.
 */
const workersOf = (s: Server): WorkerMedia => {
  if (!s.mediaWorkers) throw new Error('started without --media-workers');
  return s.mediaWorkers;
};

describe('media workers', () => {
  const rig = useCallRig({ expectNoLiveCalls: true });

  it('bridges a customer and an agent inside one worker, both hearing each other', async () => {
    const { server: s } = await rig.startWithTrunk({ mediaWorkers: 2 });
    const { customer, agent } = await rig.connectCustomer({ customerHz: 1000, agentHz: 600 });
    await customer.waitForTone(600, 5000, 200);
    await agent.waitForTone(1000, 5000, 200);
    // Both legs of the bridge in the same worker; the other has nothing.
    expect([...workersOf(s).sessionsPerWorker].sort()).toEqual([0, 2]);
    expect(s.mediaClock.size).toBe(0); // the main thread sends no RTP
    // Per worker figures (for /metrics): the busy one relays both ways.
    await eventually(
      () =>
        workersOf(s)
          .workerStats()
          .some((w) => w.sessions === 2 && w.packetsIn > 50 && w.packetsOut > 50),
      3000,
      'worker counters',
    );
    // The same, labelled per worker in /metrics, which promtool accepts.
    const text = await scrape(s);
    expect(promtoolCheck(text)).toBe('');
    const busy = workersOf(s)
      .workerStats()
      .find((w) => w.sessions === 2)!.worker;
    expect(value(text, `agentline_media_worker_sessions{worker="${busy}"}`)).toBe(2);
    expect(value(text, `agentline_media_worker_sessions{worker="${1 - busy}"}`)).toBe(0);
    expect(value(text, `agentline_media_worker_packets_received_total{worker="${busy}"}`)).toBeGreaterThan(
      50,
    );
    expect(value(text, `agentline_media_worker_packets_sent_total{worker="${busy}"}`)).toBeGreaterThan(50);
    // Each worker's own heap (an isolate of its own): a few MB, reported by every worker.
    for (const w of [busy, 1 - busy])
      expect(value(text, `agentline_media_worker_heap_bytes{worker="${w}"}`)).toBeGreaterThan(1 << 20);
    for (const series of ['packets_lost_total', 'late_ticks_total', 'restarts_total', 'jitter_seconds'])
      expect(text).toContain(`agentline_media_worker_${series}{worker="${busy}"}`);
    await customer.hangup();
    expect(await agent.ended).toBe('remote');
    await eventually(() => s.pool.free === s.pool.capacity, 5000, 'RTP ports back');
  });

  it('a worker killed mid-call: the agent leg hangs up, the customer is re-queued and the worker is back', async () => {
    const { server: s, trunk } = await rig.startWithTrunk({ mediaWorkers: 2 });
    const { customer, agent: first } = await rig.connectCustomer({ customerHz: 1000, agentHz: 600 });
    await customer.waitForTone(600, 5000, 200);
    await makeReady(s, '1002');
    const media = workersOf(s);
    const busy = media.workers.find((w) => w.sessions.size === 2)!;
    await busy.worker.terminate();
    expect(await first.ended).toBe('remote');
    const second = await nextAgentTakesOver(s, trunk, customer, '1002', 1400, 1000);
    expect(busy.restarts).toBe(1);
    expect(value(await scrape(s), `agentline_media_worker_restarts_total{worker="${busy.index}"}`)).toBe(1);
    expect(
      media
        .workerStats()
        .map((w) => w.restarts)
        .sort(),
    ).toEqual([0, 1]);
    // The customer's session was rebuilt in the restarted worker and 1002's leg opened next to it.
    expect(busy.sessions.size).toBe(2);
    const cdr = (await s.store.calls.listCdr())[0]!;
    const events = await s.store.calls.listQueueEvents(cdr.id);
    const id1001 = await agentId(s, '1001');
    expect(events.map((e) => [e.kind, e.agentId, e.detail])).toContainEqual([
      'complete_agent',
      id1001,
      JSON.stringify({ reason: 'media_lost' }),
    ]);
    expect(events.map((e) => [e.kind, e.detail])).toContainEqual(['enter', 'head']);
    await customer.hangup();
    expect(await second.ended).toBe('remote');
    await waitState(s, '1002', 'ready');
    await eventually(() => s.pool.free === s.pool.capacity, 5000, 'RTP ports back');
  });
});
