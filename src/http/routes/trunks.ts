import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import type { Trunk } from '../../store/store.ts';
import { trunkFieldsSchema } from '../../store/validation.ts';
import type { Api } from '../api.ts';
import { HttpError } from '../errors.ts';
import { found } from './found.ts';
import { resource } from './resource.ts';
import { TRUNK_REGISTRATION_STATES, TRUNK_STATUSES } from '../../store/vocabulary.ts';

const name = trunkFieldsSchema.shape.name;

export const trunkSchema = z
  .object({
    name: z.string(),
    uri: z.string(),
    username: z.string().nullable(),
    realm: z.string().nullable(),
    hasPassword: z.boolean(),
    register: z.boolean(),
    priority: z.number(),
    inbound: z.array(z.string()),
    companies: z.array(z.number()),
    numberFrom: trunkFieldsSchema.shape.numberFrom,
    numberFormat: trunkFieldsSchema.shape.numberFormat,
    inbandDtmf: trunkFieldsSchema.shape.inbandDtmf,
    qualifySeconds: z.number(),
    /** off: RTP only; optional: SRTP when the trunk offers it; mandatory: RTP/SAVP offered and required. */
    srtp: trunkFieldsSchema.shape.srtp,
    registration: z.object({
      state: z.enum(TRUNK_REGISTRATION_STATES),
      since: z.number(),
      expiresS: z.number().optional(),
      lastStatus: z.number().optional(),
      lastReason: z.string().optional(),
      nextAt: z.number().optional(),
    }),
    status: z.enum(TRUNK_STATUSES),
  })
  .meta({ id: 'Trunk' });

const fields = trunkFieldsSchema.omit({ name: true }).shape;

const newTrunkSchema = z
  .strictObject({ name, ...fields })
  .partial()
  .required({ name: true, uri: true })
  .meta({ id: 'NewTrunk' });
const trunkPatchSchema = z.strictObject(fields).partial().meta({ id: 'TrunkPatch' });
const nameParams = z.object({ name });

/**
 * SIP trunks (issue 9). The password is write-only: answers say only
 * `hasPassword`. Every change reloads the running trunks (registration and
 * probing restart for the trunk that changed).
 */
export function trunkRoutes(api: Api, deps: HttpDeps): void {
  const store = deps.store.trunks;
  const tag = 'trunks';
  const mustGet = async (n: string): Promise<Trunk> => found(await store.get(n), `no trunk ${n}`);
  const check = (t: Partial<Trunk>): void => {
    if (t.register && (!t.username || !t.password))
      throw new HttpError(400, 'invalid_body', 'invalid body: register needs username and password');
  };
  const checkCompanies = async (ids: number[] | undefined): Promise<void> => {
    for (const id of ids ?? [])
      if (!(await deps.store.directory.getCompany(id)))
        throw new HttpError(400, 'invalid_reference', `no company ${id}`);
  };

  const trunks = resource(api, tag, '/api/v1/trunks/:name', nameParams, trunkSchema);

  trunks.list({
    summary: 'SIP trunks with registration state and reachability (never their passwords)',
    handler: async () => ({ trunks: (await store.list()).map((t) => deps.trunks.view(t)) }),
  });

  trunks.create({
    summary: 'Create a trunk (409 if the name is taken)',
    body: newTrunkSchema,
    handler: async ({ body }) => {
      check(body);
      await checkCompanies(body.companies);
      if (await store.get(body.name)) throw new HttpError(409, 'conflict', `trunk ${body.name} exists`);
      const t = await store.create(body);
      await deps.trunks.reload();
      return deps.trunks.view(t);
    },
  });

  trunks.get({
    summary: 'One trunk',
    handler: async ({ params }) => deps.trunks.view(await mustGet(params.name)),
  });

  trunks.patch({
    summary: 'Change a trunk (give password: null to remove the credentials)',
    body: trunkPatchSchema,
    handler: async ({ params, body }) => {
      const current = await mustGet(params.name);
      check({ ...current, ...body });
      await checkCompanies(body.companies);
      const t = await store.update(params.name, body);
      await deps.trunks.reload();
      return deps.trunks.view(t);
    },
  });

  trunks.delete({
    summary: 'Delete a trunk (unregisters it first)',
    handler: async ({ params }) => {
      await mustGet(params.name);
      await store.delete(params.name);
      await deps.trunks.reload();
    },
  });
}
