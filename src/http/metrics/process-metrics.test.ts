import perfHooks from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ProcessMetrics } from './process-metrics.ts';

describe('ProcessMetrics', () => {
  it("holds prom-client's event-loop monitor and GC observer, and stops them at close", async () => {
    const { monitorEventLoopDelay, PerformanceObserver } = perfHooks;
    const register = new Registry();
    const p = new ProcessMetrics(register);
    expect(p.running).toBe(2);
    // perf_hooks is left as it was for everyone else.
    expect(perfHooks.monitorEventLoopDelay).toBe(monitorEventLoopDelay);
    expect(perfHooks.PerformanceObserver).toBe(PerformanceObserver);
    const text = await register.metrics();
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
    expect(text).not.toMatch(/^nodejs_active_\w+_total/m);
    p.close();
    expect(p.running).toBe(0);
    p.close();
  });

  it('gives each registry its own set, so two servers of one process do not clash', async () => {
    const a = new ProcessMetrics(new Registry());
    const b = new ProcessMetrics(new Registry());
    expect(a.running + b.running).toBe(4);
    a.close();
    b.close();
  });
});
