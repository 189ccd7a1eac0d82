import { describe, expect, it } from 'vitest';
import { checkFdLimit, fdsNeeded, parseProcLimits, readFdLimits } from './fd-limit.ts';

const PROC = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

function logger(): { warn: string[]; info: string[]; log: Parameters<typeof checkFdLimit>[0] } {
  const warn: string[] = [];
  const info: string[] = [];
  return {
    warn,
    info,
    log: {
      warn: ((_o: unknown, msg: string) => warn.push(msg)) as never,
      info: ((_o: unknown, msg: string) => info.push(msg)) as never,
    },
  };
}

describe('file descriptor limit', () => {
  it('parses /proc/self/limits', () => {
    expect(parseProcLimits(PROC)).toEqual({ soft: 1024, hard: 524288 });
    expect(parseProcLimits(PROC.replace('1024   ', 'unlimited'))?.soft).toBe(Infinity);
    expect(parseProcLimits('nothing')).toBeUndefined();
  });

  it('reads this process’s own limits on Linux, soft never above hard', () => {
    const l = readFdLimits();
    if (!l) return; // not Linux
    expect(l.soft).toBeGreaterThan(0);
    expect(l.soft).toBeLessThanOrEqual(l.hard);
  });

  it('warns when the soft limit is low, naming the value and how to raise it', () => {
    const { warn, info, log } = logger();
    checkFdLimit(log, { tcpConnections: 1000, rtpPorts: 5000 }, () => ({ soft: 1024, hard: 4096 }));
    expect(info).toEqual([]);
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatch(/soft 1024, hard 4096/);
    expect(warn[0]).toMatch(/ulimit -n \d+/);
    expect(warn[0]).toMatch(/LimitNOFILE=/);
  });

  it('warns when the configured caps need more than the limit, even above 4096', () => {
    const { warn, log } = logger();
    expect(fdsNeeded({ tcpConnections: 1000, rtpPorts: 5000 })).toBe(11256);
    checkFdLimit(log, { tcpConnections: 1000, rtpPorts: 5000 }, () => ({ soft: 8192, hard: 8192 }));
    expect(warn).toHaveLength(1);
  });

  it('an info line only when the limit is enough', () => {
    const { warn, info, log } = logger();
    checkFdLimit(log, { tcpConnections: 1000, rtpPorts: 5000 }, () => ({ soft: 65536, hard: 65536 }));
    expect(warn).toEqual([]);
    expect(info).toEqual(['file descriptor limit']);
  });
});
