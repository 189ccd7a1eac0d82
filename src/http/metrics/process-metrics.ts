import perfHooks from 'node:perf_hooks';
import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's default process metrics (CPU, memory, heap, file descriptors, event-loop lag,
 * GC) in `register`, and a way to stop them. prom-client starts an event-loop delay monitor
 * (a 10 ms timer) and a GC observer and never stops them (prometheus/client_js#494, #500): every
 * server of a process — the tests start hundreds — would leave both running after it closed.
 * They are caught as prom-client makes them (it reaches them through the `perf_hooks` module
 * object while `collectDefaultMetrics` runs, synchronously) and stopped by `close()`.
 */
const GAUGES_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export class ProcessMetrics {
  private readonly monitors: perfHooks.IntervalHistogram[] = [];
  private readonly observers: perfHooks.PerformanceObserver[] = [];

  constructor(register: Registry) {
    const { monitorEventLoopDelay, PerformanceObserver } = perfHooks;
    const monitors = this.monitors;
    const observers = this.observers;
    perfHooks.monitorEventLoopDelay = (options) => {
      const monitor = monitorEventLoopDelay(options);
      monitors.push(monitor);
      return monitor;
    };
    perfHooks.PerformanceObserver = class extends PerformanceObserver {
      constructor(callback: perfHooks.PerformanceObserverCallback) {
        super(callback);
        observers.push(this);
      }
    };
    try {
      collectDefaultMetrics({ register });
    } finally {
      perfHooks.monitorEventLoopDelay = monitorEventLoopDelay;
      perfHooks.PerformanceObserver = PerformanceObserver;
    }
    // Gauges named like counters, which `promtool check metrics` refuses; the same counts are
    // in nodejs_active_handles{type}, nodejs_active_requests{type}, nodejs_active_resources{type}.
    for (const name of GAUGES_NAMED_TOTAL) register.removeSingleMetric(name);
  }

  /** Monitors and observers still running (tests). */
  get running(): number {
    return this.monitors.length + this.observers.length;
  }

  close(): void {
    for (const m of this.monitors.splice(0)) m.disable();
    for (const o of this.observers.splice(0)) o.disconnect();
  }
}
