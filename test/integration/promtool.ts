import { spawnSync } from 'node:child_process';

/**
 * `promtool check metrics` (Debian `prometheus`) on a scrape: the exposition parses and every
 * name follows Prometheus' conventions. Its findings, or '' when there are none (exit 0).
 */
export function promtoolCheck(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.status === 0 ? '' : `exit ${r.status}: ${r.stdout}${r.stderr}`;
}
