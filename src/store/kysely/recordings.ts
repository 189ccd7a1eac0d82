import type { Kysely, Selectable } from 'kysely';
import type { NewRecording, Recording, RecordingStore } from '../store.ts';
import type { Database, RecordingsTable } from './schema.ts';

function toRecording(r: Selectable<RecordingsTable>): Recording {
  return {
    id: r.id,
    callId: r.call_id,
    companyId: r.company_id,
    file: r.file,
    startedAt: Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
    durationMs: r.duration_ms,
    bytes: r.bytes,
  };
}

export class KyselyRecordingStore implements RecordingStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insertRecording(r: NewRecording): Promise<Recording> {
    const row = await this.db
      .insertInto('recordings')
      .values({ call_id: r.callId, company_id: r.companyId, file: r.file, started_at: r.startedAt })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecording(row);
  }

  async finishRecording(
    id: number,
    end: { endedAt: number; durationMs: number; bytes: number },
  ): Promise<void> {
    await this.db
      .updateTable('recordings')
      .set({ ended_at: end.endedAt, duration_ms: end.durationMs, bytes: end.bytes })
      .where('id', '=', id)
      .execute();
  }

  async getRecording(id: number): Promise<Recording | null> {
    const row = await this.db.selectFrom('recordings').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecording(row) : null;
  }

  async listRecordings(callId: string): Promise<Recording[]> {
    const rows = await this.db
      .selectFrom('recordings')
      .selectAll()
      .where('call_id', '=', callId)
      .orderBy('started_at')
      .orderBy('id')
      .execute();
    return rows.map(toRecording);
  }

  async listRecordingsBefore(companyId: number, before: number, limit: number): Promise<Recording[]> {
    const rows = await this.db
      .selectFrom('recordings')
      .selectAll()
      .where('company_id', '=', companyId)
      .where('started_at', '<', before)
      .orderBy('started_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toRecording);
  }

  async deleteRecording(id: number): Promise<void> {
    await this.db.deleteFrom('recordings').where('id', '=', id).execute();
  }
}
