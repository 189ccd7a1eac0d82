import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import type { Agent, DirectoryStore } from '../../store/store.ts';
import type { AgentStateMachine } from '../../acd/agent-state.ts';
import { AGENT_STATES } from '../../acd/agent-state.ts';
import { SUPERVISOR_STATES } from '../../store/vocabulary.ts';
import { pinProblem } from '../../store/pin.ts';
import {
  contactSchema,
  departmentCodeSchema,
  loginSchema,
  nameSchema,
  shortNumberSchema,
  supervisorSchema,
} from '../../store/validation.ts';
import { type Api, companyIdQuery, loginParam } from '../api.ts';
import { HttpError } from '../errors.ts';
import { found } from './found.ts';
import { resource } from './resource.ts';
import { changeAgentState } from './supervisor-actions.ts';

export interface AgentView {
  login: string;
  name: string;
  companyId: number;
  shortNumber: string;
  state: string;
  /** ISO time the agent entered the state. */
  stateSince: string | null;
  /** Where customer calls go now: the session contact, else the profile contact. */
  contact: string;
  profileContact: string;
  /** The departments the agent takes calls of, by code (database ids stay inside). */
  departments: { department: string; priority: number }[];
  supervisor: boolean;
}

export const agentViewSchema = z
  .object({
    login: z.string(),
    name: z.string(),
    companyId: z.number().int(),
    shortNumber: z.string(),
    state: z.enum(AGENT_STATES),
    stateSince: z.string().nullable(),
    contact: z.string(),
    profileContact: z.string(),
    departments: z
      .array(z.object({ department: z.string().describe('Department code'), priority: z.number().int() }))
      .describe('The departments the agent takes calls of (1: first choice)'),
    supervisor: z
      .boolean()
      .describe("May listen to, whisper to and barge into colleagues' calls (service IVR key 9, console)"),
  })
  .meta({ id: 'Agent' });

/** An agent's departments in a body: codes of the agent's company. */
const departmentCodesSchema = z
  .array(z.strictObject({ department: departmentCodeSchema, priority: z.number().int().min(1).max(100) }))
  .max(100)
  .refine((a) => new Set(a.map((d) => d.department)).size === a.length, 'a department appears twice')
  .describe("Departments by code (of the agent's company) with a priority (1: first choice)");

async function view(agent: Agent, states: AgentStateMachine, directory: DirectoryStore): Promise<AgentView> {
  const s = await states.getState(agent.id);
  const codeOf = new Map((await directory.listDepartments(agent.companyId)).map((d) => [d.id, d.code]));
  return {
    login: agent.login,
    name: agent.name,
    companyId: agent.companyId,
    shortNumber: agent.shortNumber,
    state: s.state,
    stateSince: s.since ? new Date(s.since).toISOString() : null,
    contact: agent.sessionContact ?? agent.contact,
    profileContact: agent.contact,
    departments: agent.departments.map((d) => ({
      department: codeOf.get(d.departmentId) ?? String(d.departmentId),
      priority: d.priority,
    })),
    supervisor: agent.supervisor,
  };
}

/** Department codes of `companyId` → the store's ids; an unknown code is a 400. */
async function departmentIdsOf(
  directory: DirectoryStore,
  companyId: number,
  departments: readonly { department: string; priority: number }[],
): Promise<{ departmentId: number; priority: number }[]> {
  const idOf = new Map((await directory.listDepartments(companyId)).map((d) => [d.code, d.id]));
  return departments.map(({ department, priority }) => {
    const departmentId = idOf.get(department);
    if (departmentId === undefined)
      throw new HttpError(400, 'invalid_reference', `company ${companyId} has no department ${department}`);
    return { departmentId, priority };
  });
}

const pinSchema = z.string().regex(/^[0-9]{4,8}$/, '4–8 digits');

const newAgentSchema = z
  .strictObject({
    companyId: z.number().int().positive(),
    login: loginSchema,
    name: nameSchema,
    shortNumber: shortNumberSchema,
    contact: contactSchema,
    pin: pinSchema,
    departments: departmentCodesSchema.optional(),
    supervisor: supervisorSchema.optional().describe('Default false'),
  })
  .meta({ id: 'NewAgent' });

const agentPatchSchema = z
  .strictObject({
    name: nameSchema,
    shortNumber: shortNumberSchema,
    contact: contactSchema,
    departments: departmentCodesSchema,
    supervisor: supervisorSchema,
  })
  .partial()
  .meta({ id: 'AgentPatch' });

const stateChangeSchema = z
  .strictObject({
    state: z.enum(SUPERVISOR_STATES),
    reason: z.string().trim().min(1).max(200).optional(),
    force: z
      .boolean()
      .optional()
      .describe(
        'Also while the agent is offered a call or in one (state `not_ready` or `logged_out` only): the offer is withdrawn or their leg ended, and the customer goes back to the head of the queue. Without it such a change is a 409.',
      ),
  })
  .meta({ id: 'AgentStateChange' });

const loginParams = z.object({ login: loginParam });
const listQuery = z
  .object({
    companyId: companyIdQuery,
    department: departmentCodeSchema.optional().describe('Only agents of the department with this code'),
  })
  .strict();

async function mustGetAgent(directory: DirectoryStore, login: string): Promise<Agent> {
  return found(await directory.getAgentByLogin(login), `no agent with login ${login}`);
}

function refuseWeakPin(pin: string, minLength: number | undefined): void {
  const problem = pinProblem(pin, minLength);
  if (problem === 'too_short')
    throw new HttpError(400, 'weak_pin', `PIN refused: too short (${String(minLength)}+ digits)`);
  if (problem) throw new HttpError(400, 'weak_pin', `PIN refused: ${problem.replace(/_/g, ' ')}`);
}

/** Agents: directory, PIN reset and supervisor state changes. Never returns a PIN or its hash. */
export function agentRoutes(api: Api, deps: HttpDeps): void {
  const { store, agentStates: states } = deps;
  const { directory } = store;
  const tag = 'agents';
  const companyOfAgent = async (login: string): Promise<number | null> =>
    (await directory.getAgentByLogin(login))?.companyId ?? null;

  const agents = resource(api, tag, '/api/v1/agents/:login', loginParams, agentViewSchema);

  agents.list({
    summary: 'Agents with their current state (optionally of one company or department)',
    access: { level: 'read', company: 'query' },
    query: listQuery,
    handler: async ({ query, scope }) => {
      let agents = await directory.listAgents({ companyId: scope.only });
      if (query.department !== undefined) {
        // A code is a company's own: the agents of the departments with that code.
        const ids = new Set<number>();
        for (const a of agents)
          for (const d of await directory.listDepartments(a.companyId))
            if (d.code === query.department) ids.add(d.id);
        agents = agents.filter((a) => a.departments.some((d) => ids.has(d.departmentId)));
      }
      return {
        agents: await Promise.all(
          agents.filter((a) => scope.allows(a.companyId)).map((a) => view(a, states, directory)),
        ),
      };
    },
  });

  api.route({
    method: 'GET',
    url: '/api/v1/agents/:login',
    tag,
    summary: 'One agent with their current state',
    access: { level: 'read', company: async ({ params }) => companyOfAgent(params.login) },
    params: z.object({ login: z.string() }),
    response: agentViewSchema,
    handler: async ({ params }) => {
      const { login } = params;
      if (!/^\d{1,16}$/.test(login)) throw new HttpError(400, 'invalid_login', 'login must be digits');
      return view(await mustGetAgent(directory, login), states, directory);
    },
  });

  agents.create({
    summary: 'Create an agent with an initial PIN (stored only as a salted hash)',
    body: newAgentSchema,
    handler: async ({ body }) => {
      const company = await directory.getCompany(body.companyId);
      if (!company) throw new HttpError(400, 'invalid_reference', `no company ${body.companyId}`);
      refuseWeakPin(body.pin, company.settings.minPinLength);
      const departments =
        body.departments && (await departmentIdsOf(directory, company.id, body.departments));
      return view(await directory.createAgent({ ...body, departments }), states, directory);
    },
  });

  agents.patch({
    summary: "Change an agent's name, short number, profile contact, departments or supervisor flag",
    body: agentPatchSchema,
    handler: async ({ params, body }) => {
      const agent = await mustGetAgent(directory, params.login);
      const { departments, ...fields } = body;
      if (Object.keys(fields).length) await directory.updateAgent(agent.id, fields);
      if (departments)
        await directory.setAgentDepartments(
          agent.id,
          await departmentIdsOf(directory, agent.companyId, departments),
        );
      return view(await mustGetAgent(directory, params.login), states, directory);
    },
  });

  agents.delete({
    summary: 'Delete an agent (refused unless logged out)',
    handler: async ({ params }) => {
      const agent = await mustGetAgent(directory, params.login);
      const { state } = await states.getState(agent.id);
      if (state !== 'logged_out' || (await deps.availability.isReserved(agent.id))) {
        throw new HttpError(409, 'conflict', `agent ${agent.login} is ${state}; log them out first`);
      }
      await directory.deleteAgent(agent.id);
    },
  });

  api.route({
    method: 'POST',
    url: '/api/v1/agents/:login/pin',
    tag,
    summary: "Reset an agent's PIN (4–8 digits, not a weak one)",
    params: loginParams,
    body: z.strictObject({ pin: pinSchema }).meta({ id: 'PinReset' }),
    status: 204,
    handler: async ({ params, body }) => {
      const agent = await mustGetAgent(directory, params.login);
      refuseWeakPin(body.pin, (await directory.getCompany(agent.companyId))?.settings.minPinLength);
      await directory.setPin(params.login, body.pin);
      await store.auth.clearLoginFailures(params.login);
    },
  });

  api.route({
    method: 'POST',
    url: '/api/v1/agents/:login/state',
    tag,
    summary:
      "A supervisor changes an agent's state (a move the state machine refuses, or any change while the agent is offered a call or in one without `force`, is a 409)",
    access: { level: 'supervise', company: async ({ params }) => companyOfAgent(params.login) },
    params: loginParams,
    body: stateChangeSchema,
    response: agentViewSchema,
    handler: async ({ params, body, scope }) => {
      const agent = await mustGetAgent(directory, params.login);
      await changeAgentState(deps, agent, body, scope);
      return view(agent, states, directory);
    },
  });
}
