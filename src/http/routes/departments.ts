import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { departmentCodeSchema, departmentFieldsSchema } from '../../store/validation.ts';
import type { Department, DirectoryStore } from '../../store/store.ts';
import { type Api, idParam } from '../api.ts';
import { HttpError } from '../errors.ts';
import { found } from './found.ts';
import { resource } from './resource.ts';
import { mustGetCompany } from './companies.ts';

export const departmentSchema = departmentFieldsSchema
  .extend({ id: z.number().int(), companyId: z.number().int() })
  .meta({ id: 'Department' });

const newDepartmentSchema = departmentFieldsSchema
  .partial()
  .required({ code: true, name: true })
  .strict()
  .meta({ id: 'NewDepartment' });
const departmentPatchSchema = departmentFieldsSchema.partial().strict().meta({ id: 'DepartmentPatch' });

const companyParams = z.object({ id: idParam });
const departmentParams = z.object({ id: idParam, code: departmentCodeSchema });

export async function mustGetDepartment(
  directory: DirectoryStore,
  companyId: number,
  code: string,
): Promise<Department> {
  await mustGetCompany(directory, companyId);
  return found(
    await directory.getDepartmentByCode(companyId, code),
    `company ${companyId} has no department ${code}`,
  );
}

/** Departments (queues) of a company, addressed by their 3-digit code. */
export function departmentRoutes(api: Api, deps: HttpDeps): void {
  const { directory } = deps.store;
  const tag = 'departments';

  const departments = resource(
    api,
    tag,
    '/api/v1/companies/:id/departments/:code',
    departmentParams,
    departmentSchema,
  );

  departments.list({
    summary: "A company's departments",
    access: { level: 'read', company: async ({ params }) => params.id },
    params: companyParams,
    handler: async ({ params }) => {
      await mustGetCompany(directory, params.id);
      return { departments: await directory.listDepartments(params.id) };
    },
  });

  departments.create({
    summary: 'Create a department (code: 3 digits, unique in the company)',
    params: companyParams,
    body: newDepartmentSchema,
    handler: async ({ params, body }) => {
      await mustGetCompany(directory, params.id);
      return directory.createDepartment({ ...body, companyId: params.id });
    },
  });

  departments.get({
    summary: 'One department',
    access: { level: 'read', company: async ({ params }) => params.id },
    handler: async ({ params }) => mustGetDepartment(directory, params.id, params.code),
  });

  departments.patch({
    summary: 'Change a department',
    body: departmentPatchSchema,
    handler: async ({ params, body }) => {
      const d = await mustGetDepartment(directory, params.id, params.code);
      return directory.updateDepartment(d.id, body);
    },
  });

  departments.delete({
    summary: 'Delete a department (refused while calls wait in it or a hotline rings it)',
    handler: async ({ params }) => {
      const d = await mustGetDepartment(directory, params.id, params.code);
      if (deps.acd.liveCalls.some((c) => c.department.id === d.id)) {
        throw new HttpError(409, 'conflict', `department ${d.code} has calls in progress`);
      }
      const numbers = (await directory.listNumbers(params.id)).filter((n) => n.departmentId === d.id);
      if (numbers.length) {
        throw new HttpError(
          409,
          'conflict',
          `department ${d.code} is the target of ${numbers.map((n) => n.number).join(', ')}`,
        );
      }
      await directory.deleteDepartment(d.id);
    },
  });
}
