import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { AcdEvent } from '../../acd/acd.ts';
import type { AgentStateChange } from '../../acd/agent-state.ts';
import type { HttpDeps } from '../deps.ts';
import { CallMetrics } from './call-metrics.ts';

/** CallMetrics on stand-ins of the ACD's and the agents' event sources and of the directory. */
function rig(): {
  acd: (e: Partial<AcdEvent> & Pick<AcdEvent, 'kind' | 'at'>) => void;
  agent: (agentId: number, to: AgentStateChange['to'], at: number) => void;
  scrape: () => Promise<string>;
  metrics: CallMetrics;
} {
  let onAcd: (e: AcdEvent) => void = () => {};
  let onAgent: (c: AgentStateChange) => void = () => {};
  const deps = {
    acd: { onEvent: (fn: (e: AcdEvent) => void) => ((onAcd = fn), () => {}) },
    agentStates: { onChange: (fn: (c: AgentStateChange) => void) => ((onAgent = fn), () => {}) },
    store: {
      directory: { getDepartment: (id: number) => Promise.resolve({ id, code: String(100 + id) }) },
    },
  } as unknown as Pick<HttpDeps, 'acd' | 'agentStates' | 'store'>;
  const register = new Registry();
  const metrics = new CallMetrics(register, deps, pino({ level: 'silent' }));
  return {
    acd: (e) => onAcd({ callId: 'c1', companyId: 7, departmentId: 1, agentId: null, detail: null, ...e }),
    agent: (agentId, to, at) =>
      onAgent({ agentId, companyId: 7, from: 'busy', to, reason: 't', source: 'system', at, historyId: 0 }),
    scrape: async () => {
      await new Promise((r) => setImmediate(r)); // the department codes are read asynchronously
      return register.metrics();
    },
    metrics,
  };
}

const series = (text: string, name: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
};

describe('CallMetrics', () => {
  it('a call answered in 101 after 12 s, transferred to 102, answered there after 3 s and hung up', async () => {
    const r = rig();
    r.acd({ kind: 'enter', at: 0 });
    r.acd({ kind: 'offer', at: 1000, agentId: 11 });
    r.acd({ kind: 'connect', at: 12_000, agentId: 11 });
    r.agent(11, 'busy', 12_000); // busy is still handling
    r.acd({ kind: 'transfer', at: 40_000, agentId: 11 });
    r.acd({ kind: 'enter', at: 40_000, departmentId: 2 });
    r.agent(11, 'wrap_up', 40_000);
    r.agent(11, 'ready', 45_000); // 101: 12 s → 45 s, wrap-up included
    r.acd({ kind: 'connect', at: 43_000, departmentId: 2, agentId: 12 });
    r.acd({ kind: 'complete_customer', at: 100_000, departmentId: 2 });
    r.acd({ kind: 'ended', at: 100_000, departmentId: 2, detail: 'transferred' });
    r.agent(12, 'wrap_up', 100_000);
    r.agent(12, 'not_ready', 103_000);
    const m = await r.scrape();
    const d101 = 'company="7",department="101"';
    const d102 = 'company="7",department="102"';
    expect(series(m, `agentline_calls_total{${d102},outcome="transferred"}`)).toBe(1);
    expect(m).not.toContain(`agentline_calls_total{${d101}`);
    expect(series(m, `agentline_queue_wait_seconds_sum{${d101},outcome="answered"}`)).toBe(12);
    expect(series(m, `agentline_queue_wait_seconds_bucket{le="15",${d101},outcome="answered"}`)).toBe(1);
    expect(series(m, `agentline_queue_wait_seconds_bucket{le="10",${d101},outcome="answered"}`)).toBe(0);
    expect(series(m, `agentline_queue_wait_seconds_sum{${d102},outcome="answered"}`)).toBe(3);
    expect(series(m, `agentline_handle_seconds_sum{${d101}}`)).toBe(33);
    expect(series(m, `agentline_handle_seconds_sum{${d102}}`)).toBe(60);
  });

  it('an abandoned wait and an overflow count as such; an overflow before queueing has no wait', async () => {
    const r = rig();
    r.acd({ kind: 'enter', at: 0 });
    r.acd({ kind: 'abandon', at: 7000 });
    r.acd({ kind: 'ended', at: 7000, detail: 'abandoned' });
    r.acd({ kind: 'enter', at: 0, callId: 'c2' });
    r.acd({ kind: 'overflow', at: 30_000, callId: 'c2' });
    r.acd({ kind: 'overflow', at: 30_000, callId: 'c3', departmentId: 2 });
    r.acd({ kind: 'ended', at: 30_000, callId: 'c3', departmentId: 2, detail: 'no_agents' });
    const m = await r.scrape();
    expect(
      series(m, 'agentline_queue_wait_seconds_sum{company="7",department="101",outcome="abandoned"}'),
    ).toBe(7);
    expect(
      series(m, 'agentline_queue_wait_seconds_sum{company="7",department="101",outcome="overflow"}'),
    ).toBe(30);
    expect(m).not.toContain('agentline_queue_wait_seconds_count{company="7",department="102"');
    expect(series(m, 'agentline_calls_total{company="7",department="101",outcome="abandoned"}')).toBe(1);
    expect(series(m, 'agentline_calls_total{company="7",department="102",outcome="no_agents"}')).toBe(1);
    r.metrics.close();
  });
});
