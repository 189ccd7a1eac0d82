/**
 * CPU and memory of a process from /proc (Linux): user+system time of every thread
 * (/proc/PID/task/TID/stat) and the resident set (/proc/PID/status).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of the stat files' utime/stime (USER_HZ, 100 on Linux). */
const TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU used so far per thread id: its name (comm) and user+system ms. */
export type ThreadCpu = Map<number, { name: string; ms: number }>;

/** Every thread's user+system time; an empty map once the process is gone. */
export function threadCpu(pid: number): ThreadCpu {
  const out: ThreadCpu = new Map();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // comm is in parentheses and may hold spaces: the fields after the last ')' are fixed.
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    out.set(Number(tid), { name, ms: (ticks * 1000) / TICKS });
  }
  // Node's worker threads (the media workers) keep the main thread's name: tell them apart.
  const main = out.get(pid)?.name;
  for (const [tid, t] of out)
    if (t.name === main) t.name = tid === pid ? `${main}(main)` : `${main}(${tid})`;
  return out;
}

/** CPU per thread name between two samples (threads born in between count from zero), ms. */
export function cpuDelta(
  before: ThreadCpu,
  after: ThreadCpu,
): { total: number; byName: Map<string, number> } {
  const byName = new Map<string, number>();
  let total = 0;
  for (const [tid, t] of after) {
    const ms = t.ms - (before.get(tid)?.ms ?? 0);
    total += ms;
    byName.set(t.name, (byName.get(t.name) ?? 0) + ms);
  }
  return { total, byName };
}

/** The process's resident set in KiB (VmRSS), 0 once it is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
