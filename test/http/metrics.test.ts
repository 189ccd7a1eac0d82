import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { RawSip, rawRequest } from '../integration/harness.ts';
import { promtoolCheck } from '../integration/promtool.ts';
import { call, useServer } from './helpers.ts';

const scrape = async (server: Server): Promise<{ status: number; type: string | null; text: string }> => {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/metrics`);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('/metrics', () => {
  let server: Server;
  useServer((s) => (server = s));

  it('is Prometheus text, open without a token, every series with HELP and TYPE', async () => {
    const m = await scrape(server);
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'agentline_calls',
      'agentline_agents',
      'agentline_queue_length',
      'agentline_queue_longest_wait_seconds',
      'agentline_sip_requests_total',
      'agentline_sip_responses_total',
      'agentline_sip_dropped_total',
      'agentline_rtp_packets_total',
      'agentline_legs',
      'agentline_rtp_ports_free',
      'agentline_calls_total',
      'agentline_queue_wait_seconds',
      'agentline_handle_seconds',
      'agentline_registrations',
      'agentline_rtp_packets_lost_total',
      'agentline_rtp_jitter_seconds',
      'agentline_trunk_up',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(m.text).toContain(`# TYPE ${name} `);
      expect(m.text).toContain(`# HELP ${name} `);
    }
    expect(promtoolCheck(m.text)).toBe('');
    // Blank lines are allowed between metric families, and prom-client writes NaN as `Nan`
    // (Prometheus reads floats case-insensitively).
    for (const line of m.text
      .trim()
      .split('\n')
      .filter((l) => l !== ''))
      expect(line).toMatch(
        /^(# (HELP|TYPE) \w+ .+|\w+(\{(\w+="[^"]*",?)+\})? (-?\d+(\.\d+)?(e[-+]\d+)?|Nan))$/,
      );
  });

  it('counts agents by state and queues by department', async () => {
    expect(value((await scrape(server)).text, 'agentline_agents{state="logged_out"}')).toBe(4);
    await call(server, 'POST', '/api/v1/agents/1001/state', { state: 'ready' });
    const m = (await scrape(server)).text;
    expect(value(m, 'agentline_agents{state="ready"}')).toBe(1);
    expect(value(m, 'agentline_agents{state="logged_out"}')).toBe(3);
    expect(value(m, 'agentline_queue_length{company="1",department="101"}')).toBe(0);
    expect(value(m, 'agentline_calls{state="queued"}')).toBe(0);
    expect(value(m, 'agentline_rtp_ports_free')).toBe(server.pool.free);
  });

  it('counts SIP requests by direction and method, responses by direction, method and code, and dropped garbage', async () => {
    const raw = await RawSip.open();
    try {
      raw.send(rawRequest('OPTIONS', `sip:probe@127.0.0.1:${server.sipPort}`, raw.port), server.sipPort);
      await raw.waitFor(/^SIP\/2\.0 200/);
      raw.send('this is not SIP\r\n\r\n', server.sipPort);
      const m = (await scrape(server)).text;
      expect(value(m, 'agentline_sip_requests_total{direction="received",method="OPTIONS"}')).toBe(1);
      expect(value(m, 'agentline_sip_responses_total{direction="sent",method="OPTIONS",code="200"}')).toBe(1);
      expect(value(m, 'agentline_sip_messages_received_total')).toBeGreaterThanOrEqual(1);
    } finally {
      raw.close();
    }
    const after = (await scrape(server)).text;
    expect(
      (value(after, 'agentline_sip_dropped_total') ?? 0) +
        (value(after, 'agentline_sip_bad_requests_total') ?? 0),
    ).toBeGreaterThanOrEqual(1);
  });
});
