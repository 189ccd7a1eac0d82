import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import type { NumberRoute } from '../../store/store.ts';
import { type Api, companyIdQuery } from '../api.ts';
import { HttpError } from '../errors.ts';
import { found } from './found.ts';
import { resource } from './resource.ts';
import { departmentCodeSchema, numberKindSchema } from '../../store/validation.ts';

const numberText = z.string().regex(/^\+?[0-9]{2,20}$/, 'digits, optionally with a leading +');

export const numberSchema = z
  .object({
    number: z.string(),
    kind: numberKindSchema,
    companyId: z.number().int().nullable(),
    department: z.string().nullable().describe("Code of the hotline's department (null: the service number)"),
  })
  .meta({ id: 'Number' });

type NumberView = z.output<typeof numberSchema>;

const routeFields = {
  kind: numberKindSchema,
  companyId: z.number().int().positive().nullable(),
  department: departmentCodeSchema.nullable().describe("Code of a department of the number's company"),
};

const newNumberSchema = z
  .strictObject({ number: numberText, ...routeFields })
  .partial({ companyId: true, department: true })
  .meta({ id: 'NewNumber' });
const numberPatchSchema = z.strictObject(routeFields).partial().meta({ id: 'NumberPatch' });
const numberParams = z.object({ number: numberText });

/** Hotline numbers (DIDs → department) and the shared service IVR number. */
export function numberRoutes(api: Api, deps: HttpDeps): void {
  const { directory } = deps.store;
  const tag = 'numbers';

  // Departments by code in the API (issue 14 item 2); the store routes to their ids.
  const viewOf = async (r: NumberRoute): Promise<NumberView> => ({
    number: r.number,
    kind: r.kind,
    companyId: r.companyId,
    department:
      r.departmentId === null ? null : ((await directory.getDepartment(r.departmentId))?.code ?? null),
  });

  const mustGet = async (number: string): Promise<NumberView> =>
    viewOf(found(await directory.getNumber(number), `no number ${number}`));

  const put = async (r: NumberView): Promise<NumberView> => {
    if (r.kind === 'service')
      return viewOf(
        await directory.putNumber({ number: r.number, kind: r.kind, companyId: null, departmentId: null }),
      );
    if (r.companyId === null || r.department === null) {
      throw new HttpError(400, 'invalid_body', 'invalid body: a hotline needs companyId and department');
    }
    const d = await directory.getDepartmentByCode(r.companyId, r.department);
    if (!d)
      throw new HttpError(
        400,
        'invalid_reference',
        `company ${r.companyId} has no department ${r.department}`,
      );
    return viewOf(
      await directory.putNumber({
        number: r.number,
        kind: r.kind,
        companyId: r.companyId,
        departmentId: d.id,
      }),
    );
  };

  const numbers = resource(api, tag, '/api/v1/numbers/:number', numberParams, numberSchema);

  numbers.list({
    summary: 'Numbers (of one company when companyId is given; the service number belongs to none)',
    access: { level: 'read', company: 'query' },
    query: z.object({
      companyId: companyIdQuery,
    }),
    handler: async ({ scope }) => ({
      numbers: await Promise.all(
        (await directory.listNumbers(scope.only)).filter((n) => scope.allows(n.companyId)).map(viewOf),
      ),
    }),
  });

  numbers.create({
    summary: 'Add a number (409 if it exists)',
    body: newNumberSchema,
    handler: async ({ body }) => {
      if (await directory.getNumber(body.number))
        throw new HttpError(409, 'conflict', `number ${body.number} exists`);
      return put({
        number: body.number,
        kind: body.kind,
        companyId: body.companyId ?? null,
        department: body.department ?? null,
      });
    },
  });

  numbers.get({
    summary: 'One number',
    access: {
      level: 'read',
      company: async ({ params }) => (await directory.getNumber(params.number))?.companyId ?? null,
    },
    handler: async ({ params }) => mustGet(params.number),
  });

  numbers.patch({
    summary: 'Re-route a number',
    body: numberPatchSchema,
    handler: async ({ params, body }) => {
      const current = await mustGet(params.number);
      return put({
        ...current,
        ...Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)),
      });
    },
  });

  numbers.delete({
    summary: 'Remove a number',
    handler: async ({ params }) => {
      await mustGet(params.number);
      await directory.deleteNumber(params.number);
    },
  });
}
