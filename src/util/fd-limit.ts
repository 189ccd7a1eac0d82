import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';

/**
 * RLIMIT_NOFILE of this process. Node has no setrlimit; on start it raises the
 * soft limit to the hard limit itself (node.cc, PlatformInit), so what is read
 * here is already as high as this process can make it: only whoever starts us
 * can raise the hard limit (`ulimit -Hn` as root in a shell wrapper,
 * `LimitNOFILE=` in a systemd unit, `--ulimit nofile=` for Docker).
 */
export interface FdLimits {
  soft: number;
  hard: number;
}

/** Below this the server cannot hold its default TCP cap and a busy RTP range. */
export const LOW_FD_SOFT_LIMIT = 4096;

/** "Max open files  1024  4096  files" from /proc/<pid>/limits; "unlimited" is Infinity. */
export function parseProcLimits(text: string): FdLimits | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (!m) return undefined;
  const n = (v: string | undefined): number => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: n(m[1]), hard: n(m[2]) };
}

/** Undefined where /proc is not there (not Linux). */
export function readFdLimits(path = '/proc/self/limits'): FdLimits | undefined {
  try {
    return parseProcLimits(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Descriptors the limits ask for: each TCP connection one, each RTP port pair two (RTP + RTCP). */
export function fdsNeeded(opts: { tcpConnections: number; rtpPorts: number }): number {
  const tcp = opts.tcpConnections > 0 ? opts.tcpConnections : 1000;
  return tcp + 2 * opts.rtpPorts + 256; // HTTP clients, SQLite, prompts, stdio
}

/**
 * Reports the limit at start: a warn line when the soft limit is low (under
 * LOW_FD_SOFT_LIMIT or under what the configured caps need), saying how to
 * raise it; an info line otherwise. Returns what was read.
 */
export function checkFdLimit(
  log: Pick<Logger, 'warn' | 'info'>,
  opts: { tcpConnections: number; rtpPorts: number },
  read: () => FdLimits | undefined = () => readFdLimits(),
): FdLimits | undefined {
  const limits = read();
  if (!limits) return undefined;
  const needed = fdsNeeded(opts);
  const fields = { softLimit: limits.soft, hardLimit: limits.hard, needed };
  if (limits.soft < LOW_FD_SOFT_LIMIT || limits.soft < needed) {
    const target = Math.max(65536, needed);
    log.warn(
      fields,
      `file descriptor limit is low (soft ${limits.soft}, hard ${limits.hard}; the TCP cap and RTP range need about ${needed}): ` +
        `raise it where AgentLine is started — \`ulimit -n ${target}\` in the shell (as root for above the hard limit), ` +
        `LimitNOFILE=${target} in the systemd unit, \`--ulimit nofile=${target}:${target}\` for docker run — ` +
        'or lower --tcp-max-connections / --rtp-ports',
    );
  } else {
    log.info(fields, 'file descriptor limit');
  }
  return limits;
}
