import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { companySettingsPatchSchema, companySettingsSchema } from '../../store/company-settings.ts';
import { nameSchema } from '../../store/validation.ts';
import { type Api, idParam } from '../api.ts';
import { HttpError } from '../errors.ts';
import { found } from './found.ts';
import { resource } from './resource.ts';
import type { Company, DirectoryStore } from '../../store/store.ts';

export const settingsSchema = companySettingsSchema.meta({ id: 'CompanySettings' });
export const settingsPatchSchema = companySettingsPatchSchema.meta({ id: 'CompanySettingsPatch' });

export const companySchema = z
  .object({ id: z.number().int(), name: z.string(), settings: settingsSchema })
  .meta({ id: 'Company' });

const newCompanySchema = z.strictObject({
  name: nameSchema,
  settings: companySettingsPatchSchema.optional(),
});
const companyPatchSchema = z.strictObject({ name: nameSchema });
const idParams = z.object({ id: idParam });

export async function mustGetCompany(directory: DirectoryStore, id: number): Promise<Company> {
  return found(await directory.getCompany(id), `no company ${id}`);
}

/** Companies (tenants) and their settings (SPEC §7). */
export function companyRoutes(api: Api, deps: HttpDeps): void {
  const { directory } = deps.store;
  const tag = 'companies';

  const companies = resource(api, tag, '/api/v1/companies/:id', idParams, companySchema);

  companies.list({
    summary: 'List companies (a supervisor or viewer sees their own)',
    access: { level: 'read', company: 'query' },
    handler: async ({ scope }) => ({
      companies: (await directory.listCompanies()).filter((c) => scope.allows(c.id)),
    }),
  });

  companies.create({
    summary: 'Create a company (missing settings take their defaults)',
    body: newCompanySchema,
    handler: async ({ body }) => directory.createCompany(body),
  });

  companies.get({
    summary: 'One company',
    access: { level: 'read', company: async ({ params }) => params.id },
    handler: async ({ params }) => mustGetCompany(directory, params.id),
  });

  companies.patch({
    summary: 'Rename a company',
    body: companyPatchSchema,
    handler: async ({ params, body }) => directory.renameCompany(params.id, body.name),
  });

  companies.delete({
    summary: 'Delete a company with its departments, agents and numbers (refused while it has live calls)',
    handler: async ({ params }) => {
      await mustGetCompany(directory, params.id);
      if (deps.acd.liveCalls.some((c) => c.companyId === params.id)) {
        throw new HttpError(409, 'conflict', `company ${params.id} has calls in progress`);
      }
      const agents = await directory.listAgents({ companyId: params.id });
      for (const a of agents) {
        if ((await deps.agentStates.getState(a.id)).state !== 'logged_out') {
          throw new HttpError(
            409,
            'conflict',
            `agent ${a.login} is logged in; log the company's agents out first`,
          );
        }
      }
      await directory.deleteCompany(params.id);
    },
  });

  api.route({
    method: 'GET',
    url: '/api/v1/companies/:id/settings',
    tag,
    summary: 'Company settings',
    access: { level: 'read', company: async ({ params }) => params.id },
    params: idParams,
    response: settingsSchema,
    handler: async ({ params }) => (await mustGetCompany(directory, params.id)).settings,
  });

  api.route({
    method: 'PATCH',
    url: '/api/v1/companies/:id/settings',
    tag,
    summary: 'Change some settings; every new call and agent state change reads them',
    params: idParams,
    body: settingsPatchSchema,
    response: settingsSchema,
    handler: async ({ params, body }) => {
      await mustGetCompany(directory, params.id);
      return (await directory.updateCompanySettings(params.id, body)).settings;
    },
  });
}
