import type { FastifyInstance } from 'fastify';
import type { Agent, Store } from '../../store/store.ts';
import type { AgentStateMachine } from '../../acd/agent-state.ts';
import { HttpError } from '../errors.ts';

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
}

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
  };
}

/** Read-only agent state for supervisors and outside checks (issue 3 §5). */
export function agentRoutes(app: FastifyInstance, store: Store, states: AgentStateMachine): void {
  app.get('/api/v1/agents', async () => {
    const agents = await store.directory.listAgents();
    return { agents: await Promise.all(agents.map((a) => view(a, states))) };
  });

  app.get<{ Params: { login: string } }>('/api/v1/agents/:login', async (req) => {
    const { login } = req.params;
    if (!/^\d{1,16}$/.test(login)) throw new HttpError(400, 'invalid_login', 'login must be digits');
    const agent = await store.directory.getAgentByLogin(login);
    if (!agent) throw new HttpError(404, 'not_found', `no agent with login ${login}`);
    return view(agent, states);
  });
}
