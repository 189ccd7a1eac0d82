import { describe, expect, it } from 'vitest';
import { RawSip, api, eventually } from './harness.ts';
import { useCallRig, waitCdrOutcome, waitState } from './acd-helpers.ts';
import { promtoolCheck, scrape, value } from './promtool.ts';

const sales = 'company="1",department="101"';

describe('/metrics around a customer call (prom-client)', () => {
  const rig = useCallRig({ expectNoLiveCalls: true });

  it('passes promtool during a connected call; after it, calls, queue wait, handle time, SIP by direction and RTP have moved', async () => {
    const { server } = await rig.startWithTrunk();
    // A SIP phone registered (agent 1003's desk phone): one binding, one account.
    await server.store.directory.createSipAccount('agent1003', 'secret-1003', 'agentline', null);
    await server.loadSipCredentials();
    const desk = await rig.phone('desk');
    expect(await desk.register('agent1003', 'secret-1003', { port: server.sipPort })).toBe(200);
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
    expect(value(during, 'agentline_registrations')).toBe(1);
    expect(value(during, 'agentline_registered_users')).toBe(1);

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

  it('trunks up and down: one that answers OPTIONS is 1, one that does not is 0, one not probed -1', async () => {
    const { server, trunk } = await rig.startWithTrunk({ sipT1: 25 });
    const gone = await RawSip.open(); // a port with nobody behind it once closed
    const deadPort = gone.port;
    gone.close();
    for (const [name, port] of [
      ['answers', trunk.sipPort],
      ['silent', deadPort],
    ] as const) {
      const res = await api(server, '/api/v1/trunks', {
        method: 'POST',
        body: JSON.stringify({ name, uri: `sip:127.0.0.1:${port}`, priority: 90, qualifySeconds: 1 }),
      });
      expect(res.status).toBe(201);
    }
    let m = '';
    await eventually(
      async () => {
        m = await scrape(server);
        return (
          value(m, 'agentline_trunk_up{trunk="answers"}') === 1 &&
          // present and 0 (`value` reads an absent series as 0 too)
          m.includes('\nagentline_trunk_up{trunk="silent"} 0\n')
        );
      },
      8000,
      'one trunk up, one down',
    );
    // The shortcut's trunk (--trunk) asks nothing, so its reachability is not known.
    expect(value(m, 'agentline_trunk_up{trunk="default"}')).toBe(-1);
    expect(promtoolCheck(m)).toBe('');
  });
});
