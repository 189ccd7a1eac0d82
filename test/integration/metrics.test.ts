import { describe, expect, it } from 'vitest';
import { eventually } from './harness.ts';
import { useCallRig, waitCdrOutcome, waitState } from './acd-helpers.ts';
import { promtoolCheck, scrape, value } from './promtool.ts';

const sales = 'company="1",department="101"';

describe('/metrics around a customer call (prom-client)', () => {
  const rig = useCallRig({ expectNoLiveCalls: true });

  it('passes promtool during a connected call; after it, calls, queue wait, handle time, SIP by direction and RTP have moved', async () => {
    const { server } = await rig.startWithTrunk();
    const before = await scrape(server);
    const { customer, agent } = await rig.connectCustomer({ customerHz: 1000, agentHz: 600, toneMs: 10_000 });
    // Audio both ways, so the legs have reception statistics to show.
    await agent.waitForTone(1000, 5000, 200);
    await customer.waitForTone(600, 5000, 200);

    const during = await scrape(server);
    expect(promtoolCheck(during)).toBe('');
    expect(value(during, 'agentline_calls{state="connected"}')).toBe(1);
    expect(value(during, 'agentline_agents{state="busy"}')).toBe(1);
    expect(value(during, 'agentline_legs')).toBe(2);
    expect(during).toMatch(/^agentline_rtp_packets_lost_total \d+$/m);
    expect(during).toMatch(/^agentline_rtp_jitter_live_max_seconds [\d.e-]+$/m);
    expect(during).toMatch(/^process_cpu_seconds_total /m);
    expect(during).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(value(during, `agentline_calls_total{${sales},outcome="answered"}`)).toBe(0);

    await customer.hangup();
    await waitCdrOutcome(server, 'answered');
    await waitState(server, '1001', 'ready');
    await eventually(() => server.engine.activeLegs === 0, 5000, 'legs released');

    let after = '';
    await eventually(
      async () => {
        after = await scrape(server);
        return value(after, `agentline_handle_seconds_count{${sales}}`) === 1;
      },
      5000,
      'the handle time observed',
    );
    expect(promtoolCheck(after)).toBe('');
    expect(value(after, `agentline_calls_total{${sales},outcome="answered"}`)).toBe(1);
    expect(value(after, `agentline_queue_wait_seconds_count{${sales},outcome="answered"}`)).toBe(1);
    expect(value(after, `agentline_queue_wait_seconds_bucket{le="+Inf",${sales},outcome="answered"}`)).toBe(
      1,
    );
    expect(value(after, `agentline_handle_seconds_sum{${sales}}`)).toBeGreaterThan(0);
    expect(value(after, 'agentline_calls{state="connected"}')).toBe(0);

    // SIP, sent and received apart: the customer's INVITE and BYE came in; the INVITE to the
    // agent's phone and the BYE that ended it went out; each side's 200 went the other way.
    const moved = (series: string): number => value(after, series) - value(before, series);
    const req = (direction: string, method: string): string =>
      `agentline_sip_requests_total{direction="${direction}",method="${method}"}`;
    const res = (direction: string, method: string, code: number): string =>
      `agentline_sip_responses_total{direction="${direction}",method="${method}",code="${code}"}`;
    expect(moved(req('received', 'INVITE'))).toBeGreaterThanOrEqual(1);
    expect(moved(req('sent', 'INVITE'))).toBeGreaterThanOrEqual(1);
    expect(moved(req('received', 'BYE'))).toBeGreaterThanOrEqual(1);
    expect(moved(req('sent', 'BYE'))).toBeGreaterThanOrEqual(1);
    expect(moved(res('sent', 'INVITE', 200))).toBeGreaterThanOrEqual(1);
    expect(moved(res('received', 'INVITE', 200))).toBeGreaterThanOrEqual(1);
    expect(moved(res('sent', 'BYE', 200))).toBeGreaterThanOrEqual(1);
    expect(moved(res('received', 'BYE', 200))).toBeGreaterThanOrEqual(1);

    // Both legs carried audio and ended: their jitter is in the histogram.
    expect(value(after, 'agentline_rtp_jitter_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(moved('agentline_rtp_packets_total{direction="received"}')).toBeGreaterThan(0);
  });
});
