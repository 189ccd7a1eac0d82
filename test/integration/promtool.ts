import { spawnSync } from 'node:child_process';
import type { Server } from '../../src/server.ts';

export const scrape = async (server: Server): Promise<string> =>
  (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();

/** A series' value in a scrape, 0 when it is absent (a counter not yet incremented). */
export const value = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
};

/**
 * `promtool check metrics` (Debian `prometheus`) on a scrape: the exposition parses and every
 * name follows Prometheus' conventions. Its findings, or '' when there are none (exit 0).
 */
export function promtoolCheck(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.status === 0 ? '' : `exit ${r.status}: ${r.stdout}${r.stderr}`;
}
