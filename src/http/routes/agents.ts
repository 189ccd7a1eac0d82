import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import type { Agent, DirectoryStore } from '../../store/store.ts';
import type { AgentStateMachine } from '../../acd/agent-state.ts';
import { AGENT_STATES } from '../../acd/agent-state.ts';
import { SUPERVISOR_STATES } from '../../store/vocabulary.ts';
import { pinProblem } from '../../store/pin.ts';
import {
  agentDepartmentsSchema,
  contactSchema,
  loginSchema,
  nameSchema,
  shortNumberSchema,
  supervisorSchema,
} from '../../store/validation.ts';
import { type Api, idParam, loginParam } from '../api.ts';
import { HttpError } from '../errors.ts';
import { found } from './found.ts';
import { resource } from './resource.ts';
import { isAppError } from '../../util/errors.ts';

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
  departments: { departmentId: number; priority: number }[];
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
    departments: z.array(z.object({ departmentId: z.number().int(), priority: z.number().int() })),
    supervisor: z
      .boolean()
      .describe("May listen to, whisper to and barge into colleagues' calls (service IVR key 9, console)"),
  })
  .meta({ id: 'Agent' });

async function view(agent: Agent, states: AgentStateMachine): Promise<AgentView> {
  const s = await states.getState(agent.id);
  return {
    login: agent.login,
    name: agent.name,
    companyId: agent.companyId,
    shortNumber: agent.shortNumber,
    state: s.state,
    stateSince: s.since ? new Date(s.since).toISOString() : null,
    contact: agent.sessionContact ?? agent.contact,
    profileContact: agent.contact,
    departments: agent.departments,
    supervisor: agent.supervisor,
  };
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
    departments: agentDepartmentsSchema.optional(),
    supervisor: supervisorSchema.optional().describe('Default false'),
  })
  .meta({ id: 'NewAgent' });

const agentPatchSchema = z
  .strictObject({
    name: nameSchema,
    shortNumber: shortNumberSchema,
    contact: contactSchema,
    departments: agentDepartmentsSchema,
    supervisor: supervisorSchema,
  })
  .partial()
  .meta({ id: 'AgentPatch' });

const stateChangeSchema = z
  .strictObject({
    state: z.enum(SUPERVISOR_STATES),
    reason: z.string().trim().min(1).max(200).optional(),
  })
  .meta({ id: 'AgentStateChange' });

const loginParams = z.object({ login: loginParam });
const listQuery = z.object({ companyId: idParam.optional(), departmentId: idParam.optional() });

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
      const agents = await directory.listAgents({
        companyId: scope.only,
        departmentId: query.departmentId,
      });
      return {
        agents: await Promise.all(
          agents.filter((a) => scope.allows(a.companyId)).map((a) => view(a, states)),
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
      return view(await mustGetAgent(directory, login), states);
    },
  });

  agents.create({
    summary: 'Create an agent with an initial PIN (stored only as a salted hash)',
    body: newAgentSchema,
    handler: async ({ body }) => {
      const company = await directory.getCompany(body.companyId);
      if (!company) throw new HttpError(400, 'invalid_reference', `no company ${body.companyId}`);
      refuseWeakPin(body.pin, company.settings.minPinLength);
      return view(await directory.createAgent(body), states);
    },
  });

  agents.patch({
    summary: "Change an agent's name, short number, profile contact, departments or supervisor flag",
    body: agentPatchSchema,
    handler: async ({ params, body }) => {
      const agent = await mustGetAgent(directory, params.login);
      const { departments, ...fields } = body;
      if (Object.keys(fields).length) await directory.updateAgent(agent.id, fields);
      if (departments) await directory.setAgentDepartments(agent.id, departments);
      return view(await mustGetAgent(directory, params.login), states);
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
    summary: "A supervisor changes an agent's state (a move the state machine refuses is a 409)",
    access: { level: 'supervise', company: async ({ params }) => companyOfAgent(params.login) },
    params: loginParams,
    body: stateChangeSchema,
    response: agentViewSchema,
    handler: async ({ params, body }) => {
      const agent = await mustGetAgent(directory, params.login);
      try {
        await states.transition(agent.id, body.state, { reason: body.reason ?? 'supervisor', source: 'api' });
      } catch (err) {
        if (!isAppError(err, 'invalid_transition')) throw err;
        const { state } = await states.getState(agent.id);
        throw new HttpError(
          409,
          'invalid_transition',
          `agent ${agent.login} is ${state}: cannot go to ${body.state}`,
        );
      }
      return view(agent, states);
    },
  });
}
