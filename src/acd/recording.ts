import { join } from 'node:path';
import type { Logger } from 'pino';
import type { MediaRecording } from '../media/media-session.ts';
import type { CompanySettings, Department, Recording, RecordingStore } from '../store/store.ts';
import type { RecordingMode } from '../store/vocabulary.ts';
import type { Clock } from '../util/clock.ts';
import type { CustomerCall } from './customer-call.ts';

/** Whether calls of `department` are recorded: its own setting, else its company's. */
export function recordingModeOf(settings: CompanySettings, department: Department): RecordingMode {
  return department.recording ?? settings.recording;
}

/** What `*7` did. */
export type RecordingToggle = 'started' | 'stopped' | 'off' | 'failed';

export interface CallRecordingsDeps {
  store: RecordingStore;
  /** --recordings-dir (created by the composition root). */
  dir: string;
  clock: Clock;
  logger: Logger;
}

interface Running {
  readonly row: Recording;
  readonly handle: MediaRecording;
}

/**
 * Recordings of customer calls (issue 14 item 3): at most one file at a time per call, on the
 * customer's media session, so that it holds the customer (left) and whoever the customer is
 * bridged with (right) across transfers and requeues. Started when an agent connects (mode
 * `all`) or by the agent's `*7` (`on_demand`); stopped by `*7` or when the call ends. Each file
 * is a row (`recordings`) written when it starts and completed when it stops.
 */
export class CallRecordings {
  private readonly running = new Map<CustomerCall, Running>();
  /** Calls whose recording is being opened or closed: a second `*7` meanwhile waits for it. */
  private readonly busy = new Map<CustomerCall, Promise<unknown>>();

  constructor(private readonly deps: CallRecordingsDeps) {}

  isRecording(cc: CustomerCall): boolean {
    return this.running.has(cc);
  }

  /** An agent is connected: records when the call's department (or company) says `all`. */
  async connected(cc: CustomerCall): Promise<void> {
    if (recordingModeOf(cc.settings, cc.department) === 'all') await this.start(cc);
  }

  /** `*7`: starts or stops, when recording is allowed here at all. */
  async toggle(cc: CustomerCall, settings: CompanySettings): Promise<RecordingToggle> {
    if (recordingModeOf(settings, cc.department) === 'off') return 'off';
    if (this.running.has(cc) || this.busy.has(cc)) {
      await this.busy.get(cc);
      if (this.running.has(cc)) return (await this.stop(cc)) ? 'stopped' : 'failed';
    }
    return (await this.start(cc)) ? 'started' : 'failed';
  }

  /** Starts recording `cc` unless it is already; false when it could not. */
  start(cc: CustomerCall): Promise<boolean> {
    if (this.running.has(cc) || this.busy.has(cc) || cc.leg.ended) return Promise.resolve(false);
    return this.exclusive(cc, this.open(cc));
  }

  /** Stops the call's recording, if any; false when there was none or it failed. */
  stop(cc: CustomerCall): Promise<boolean> {
    const r = this.running.get(cc);
    if (!r) return Promise.resolve(false);
    this.running.delete(cc);
    return this.exclusive(cc, this.close(r));
  }

  /** The call ended: its recording (if any) is finished, after whatever was opening it. */
  async ended(cc: CustomerCall): Promise<void> {
    await this.busy.get(cc);
    await this.stop(cc);
  }

  private exclusive(cc: CustomerCall, p: Promise<boolean>): Promise<boolean> {
    const done = p.finally(() => {
      if (this.busy.get(cc) === done) this.busy.delete(cc);
    });
    this.busy.set(cc, done);
    return done;
  }

  private async open(cc: CustomerCall): Promise<boolean> {
    const { store, dir, clock, logger } = this.deps;
    const startedAt = clock.wallNow();
    const file = `${cc.id}-${startedAt}.wav`;
    let handle: MediaRecording;
    try {
      handle = await cc.leg.mediaSession.record({ file: join(dir, file) });
    } catch (err) {
      logger.warn({ err, callId: cc.id, dir }, 'call recording could not start');
      return false;
    }
    try {
      const row = await store.insertRecording({ callId: cc.id, companyId: cc.companyId, file, startedAt });
      this.running.set(cc, { row, handle });
      logger.info({ callId: cc.id, recording: row.id, file }, 'call recording started');
      // The call may have ended while the row was written: nobody else will stop it then.
      if (cc.leg.ended) void this.stop(cc);
      return true;
    } catch (err) {
      logger.warn({ err, callId: cc.id, file }, 'call recording not stored: stopped');
      await handle.stop().catch(() => {});
      return false;
    }
  }

  private async close(r: Running): Promise<boolean> {
    const { store, clock, logger } = this.deps;
    try {
      const result = await r.handle.stop();
      await store.finishRecording(r.row.id, {
        endedAt: clock.wallNow(),
        durationMs: result.durationMs,
        bytes: result.bytes,
      });
      logger.info(
        { callId: r.row.callId, recording: r.row.id, durationMs: result.durationMs, bytes: result.bytes },
        'call recording stopped',
      );
      return true;
    } catch (err) {
      logger.warn({ err, callId: r.row.callId, recording: r.row.id }, 'call recording did not finish');
      return false;
    }
  }
}
