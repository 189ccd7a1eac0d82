import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../store/sqlite/open.ts';
import { eachMemoryStore, tempDir } from '../store/test-helpers.ts';
import { FakeClock } from '../util/fake-clock.ts';
import { RecordingRetention, RETENTION_PERIOD_MS } from './recording-retention.ts';

const DAY = 86_400_000;

describe('recording retention', () => {
  let store: SqliteStore;
  eachMemoryStore((s) => (store = s));
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir('retention-');
  });
  afterEach(() => tmp.cleanup());

  const warnings: unknown[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });

  const retentionOn = (clock: FakeClock): RecordingRetention =>
    new RecordingRetention({
      recordings: store.recordings,
      directory: store.directory,
      dir: tmp.dir,
      clock,
      logger,
    });

  async function recording(companyId: number, file: string, ageDays: number, clock: FakeClock) {
    writeFileSync(join(tmp.dir, file), 'RIFF');
    return store.recordings.insertRecording({
      callId: `call-${file}`,
      companyId,
      file,
      startedAt: clock.wallNow() - ageDays * DAY,
    });
  }

  it("deletes file and row past each company's retention, on start and then every period; keeps the rest", async () => {
    const clock = new FakeClock();
    const short = await store.directory.createCompany({
      name: 'Short',
      settings: { recordingRetentionDays: 7 },
    });
    const long = await store.directory.createCompany({
      name: 'Long',
      settings: { recordingRetentionDays: 30 },
    });
    const old = await recording(short.id, 'old.wav', 8, clock);
    const young = await recording(short.id, 'young.wav', 6, clock);
    const kept = await recording(long.id, 'kept.wav', 8, clock);
    const retention = retentionOn(clock);
    expect(await retention.runOnce()).toBe(1);
    expect(existsSync(join(tmp.dir, 'old.wav'))).toBe(false);
    expect(await store.recordings.getRecording(old.id)).toBeNull();
    for (const r of [young, kept]) {
      expect(await store.recordings.getRecording(r.id)).not.toBeNull();
      expect(existsSync(join(tmp.dir, r.file))).toBe(true);
    }

    // Periodic: two days on, the 6-day-old one is past 7 days and the next pass takes it.
    retention.start();
    await clock.advanceAsync(0);
    expect(clock.pending()).toBe(1);
    clock.advance(2 * DAY - RETENTION_PERIOD_MS);
    await clock.advanceAsync(RETENTION_PERIOD_MS);
    await retention.runOnce();
    expect(await store.recordings.getRecording(young.id)).toBeNull();
    retention.stop();
    expect(clock.pending()).toBe(0);
  });

  it('a file that cannot be deleted is a warning and its row stays for the next pass; a missing file is no error', async () => {
    const clock = new FakeClock();
    const co = await store.directory.createCompany({ name: 'Co', settings: { recordingRetentionDays: 1 } });
    // A directory in the file's place: rm without `recursive` refuses it.
    mkdirSync(join(tmp.dir, 'stuck.wav'));
    const stuck = await store.recordings.insertRecording({
      callId: 'c',
      companyId: co.id,
      file: 'stuck.wav',
      startedAt: clock.wallNow() - 2 * DAY,
    });
    const gone = await store.recordings.insertRecording({
      callId: 'd',
      companyId: co.id,
      file: 'never-written.wav',
      startedAt: clock.wallNow() - 2 * DAY,
    });
    warnings.length = 0;
    const retention = retentionOn(clock);
    expect(await retention.runOnce()).toBe(1);
    expect(await store.recordings.getRecording(gone.id)).toBeNull();
    expect(await store.recordings.getRecording(stuck.id)).not.toBeNull();
    expect(warnings).toEqual([
      expect.objectContaining({ msg: 'expired call recording not deleted', recording: stuck.id }),
    ]);
  });
});
