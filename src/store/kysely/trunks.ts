import type { Kysely, Selectable } from 'kysely';
import { AppError } from '../../util/errors.ts';
import type { NewTrunk, Trunk, TrunkPatch, TrunkStore } from '../store.ts';
import { newTrunk, patchedTrunk } from '../rules.ts';
import type { MapDbError } from './dialect.ts';
import type { Database, TrunksTable } from './schema.ts';

function toTrunk(r: Selectable<TrunksTable>): Trunk {
  return {
    name: r.name,
    uri: r.uri,
    username: r.username,
    password: r.password,
    realm: r.realm,
    register: r.register === 1,
    priority: r.priority,
    inbound: JSON.parse(r.inbound) as string[],
    companies: JSON.parse(r.companies) as number[],
    numberFrom: r.number_from === 'to' ? 'to' : 'request_uri',
    numberFormat:
      r.number_format === 'e164' || r.number_format === 'national' ? r.number_format : 'e164_plus',
    inbandDtmf: r.inband_dtmf === 'always' || r.inband_dtmf === 'off' ? r.inband_dtmf : 'auto',
    qualifySeconds: r.qualify_seconds,
    srtp: r.srtp === 'off' || r.srtp === 'mandatory' ? r.srtp : 'optional',
  };
}

function toRow(t: Trunk): Selectable<TrunksTable> {
  return {
    name: t.name,
    uri: t.uri,
    username: t.username,
    password: t.password,
    realm: t.realm,
    register: t.register ? 1 : 0,
    priority: t.priority,
    inbound: JSON.stringify(t.inbound),
    companies: JSON.stringify(t.companies),
    number_from: t.numberFrom,
    number_format: t.numberFormat,
    inband_dtmf: t.inbandDtmf,
    qualify_seconds: t.qualifySeconds,
    srtp: t.srtp,
  };
}

export class KyselyTrunkStore implements TrunkStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly mapDbError: MapDbError,
  ) {}

  async list(): Promise<Trunk[]> {
    const rows = await this.db.selectFrom('trunks').selectAll().orderBy('priority').orderBy('name').execute();
    return rows.map(toTrunk);
  }

  async get(name: string): Promise<Trunk | null> {
    const row = await this.db.selectFrom('trunks').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toTrunk(row) : null;
  }

  async create(t: NewTrunk): Promise<Trunk> {
    const trunk = newTrunk(t);
    try {
      await this.db.insertInto('trunks').values(toRow(trunk)).execute();
    } catch (err) {
      this.mapDbError(err);
    }
    return trunk;
  }

  async update(name: string, patch: TrunkPatch): Promise<Trunk> {
    const current = await this.get(name);
    if (!current) throw new AppError('not_found', `no trunk ${name}`);
    const next = patchedTrunk(current, patch);
    await this.db.updateTable('trunks').set(toRow(next)).where('name', '=', name).execute();
    return next;
  }

  async delete(name: string): Promise<void> {
    const r = await this.db.deleteFrom('trunks').where('name', '=', name).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw new AppError('not_found', `no trunk ${name}`);
  }
}
