import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DirectoryStore, RecordingStore } from '../store/store.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';

const DAY_MS = 86_400_000;
/** Rows per store query: a company with a long backlog is cleared a page at a time. */
const PAGE = 200;
/** How often the job runs after the first pass at start. */
export const RETENTION_PERIOD_MS = 3_600_000;

export interface RecordingRetentionDeps {
  recordings: RecordingStore;
  directory: Pick<DirectoryStore, 'listCompanies'>;
  dir: string;
  clock: Clock;
  /**
   * Where its hourly timer lives (default `clock`): the server gives it a clock of its own, so
   * that the call clock's pending timers stay the calls' (leak checks count them).
   */
  timers?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  logger: Logger;
  periodMs?: number;
}

/**
 * Deletes recordings (the file, then the row) older than their company's
 * `recordingRetentionDays`: once at start, then every hour. A file that cannot be deleted is
 * logged (warn) and its row kept, so the next pass tries again; a file already gone is no error.
 */
export class RecordingRetention {
  private timer: TimerHandle | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(private readonly deps: RecordingRetentionDeps) {}

  /** Runs a pass now and schedules the next ones. */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    (this.deps.timers ?? this.deps.clock).clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    await this.runOnce();
    if (!this.stopped)
      this.timer = (this.deps.timers ?? this.deps.clock).setTimeout(
        () => void this.tick(),
        this.deps.periodMs ?? RETENTION_PERIOD_MS,
      );
  }

  /** One pass (also what tests call); resolves with how many recordings it deleted. */
  runOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<number> {
    const { recordings, directory, dir, clock, logger } = this.deps;
    let deleted = 0;
    try {
      const now = clock.wallNow();
      for (const company of await directory.listCompanies()) {
        const before = now - company.settings.recordingRetentionDays * DAY_MS;
        for (;;) {
          const rows = await recordings.listRecordingsBefore(company.id, before, PAGE);
          let progressed = false;
          for (const r of rows) {
            if (this.stopped) return deleted;
            try {
              await rm(join(dir, r.file), { force: true });
            } catch (err) {
              logger.warn({ err, recording: r.id, file: r.file }, 'expired call recording not deleted');
              continue;
            }
            await recordings.deleteRecording(r.id);
            deleted++;
            progressed = true;
          }
          if (rows.length < PAGE || !progressed) break;
        }
      }
      if (deleted > 0) logger.info({ deleted }, 'expired call recordings deleted');
    } catch (err) {
      logger.warn({ err }, 'call recording retention pass failed');
    }
    return deleted;
  }
}
