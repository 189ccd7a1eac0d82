import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { FORCED_REASONS } from '../../acd/agent-state.ts';
import type { Agent, AgentState } from '../../store/store.ts';
import { FORCED_STATES, type ForcedState } from '../../store/vocabulary.ts';
import { isAppError } from '../../util/errors.ts';
import { type Api, companyIdQuery, loginParam } from '../api.ts';
import { HttpError } from '../errors.ts';

/**
 * What a supervisor does to the live floor (issue 14 item 5): end a call, and force an agent's
 * state even while they are offered a call or in one. Both are changes through the API, so
 * each is an audit row (audit.ts) naming who did it; the journey names them too.
 */

const forcedStates: ReadonlySet<AgentState> = new Set(FORCED_STATES);

/** Who did it, as the journey tells it: the user's name (`admin-token` for the admin token). */
const whoOf = (scope: { principal: { name: string } }): string => scope.principal.name;

export function supervisorActionRoutes(api: Api, deps: HttpDeps): void {
  api.route({
    method: 'POST',
    url: '/api/v1/calls/:id/hangup',
    tag: 'calls',
    summary:
      'A supervisor ends a live call: every leg gets its BYE (CANCEL while a phone rings), the CDR outcome is `ended_by_supervisor`, the agent goes to wrap-up as after any call',
    access: { level: 'supervise', company: 'query' },
    params: z.object({ id: z.string().min(1).max(100).describe('The call id (as in `GET /api/v1/calls`)') }),
    query: z.object({ companyId: companyIdQuery }),
    status: 204,
    handler: async ({ params, scope }) => {
      // Another company's call is as unknown to a supervisor as one that never was.
      const cc = deps.acd.liveCalls.find((c) => c.id === params.id && scope.allows(c.companyId));
      if (!cc || !(await deps.acd.endCall(cc.id, whoOf(scope))))
        throw new HttpError(404, 'not_found', `no live call ${params.id}`);
    },
  });

  const { directory } = deps.store;
  api.route({
    method: 'POST',
    url: '/api/v1/agents/:login/monitor',
    tag: 'agents',
    summary:
      "Listen, whisper or barge from the console: the supervisor agent's phone is called (202) and, once answered, hears the agent's call as after key 9 in the service IVR (keys 1 listen, 2 whisper, 3 barge, * ends); 409 when the agent is in no call, 400 when `supervisor` is no supervisor of the agent's company",
    access: {
      level: 'supervise',
      company: async ({ params }) => (await directory.getAgentByLogin(params.login))?.companyId ?? null,
    },
    params: z.object({ login: loginParam.describe('The agent to hear') }),
    body: monitorBodySchema,
    response: monitorResponseSchema,
    status: 202,
    handler: async ({ params, body }) => {
      const agent = await directory.getAgentByLogin(params.login);
      if (!agent) throw new HttpError(404, 'not_found', `no agent with login ${params.login}`);
      const supervisor = await directory.getAgentByLogin(body.supervisor);
      if (!supervisor?.supervisor || supervisor.companyId !== agent.companyId || supervisor.id === agent.id)
        throw new HttpError(
          400,
          'not_a_supervisor',
          `agent ${body.supervisor} is no supervisor of agent ${agent.login}'s company`,
        );
      if (!deps.monitorCalls) throw new HttpError(503, 'unavailable', 'monitoring is not available');
      const started = await deps.monitorCalls.call(supervisor, agent, body.mode);
      if (started.kind === 'no_call')
        throw new HttpError(409, 'agent_not_in_call', `agent ${agent.login} is in no call to hear`);
      if (started.kind === 'no_route')
        throw new HttpError(409, 'no_route', `no route to supervisor ${supervisor.login}'s phone`);
      return { callId: started.callId, supervisor: supervisor.login, mode: body.mode };
    },
  });
}

const monitorModeSchema = z
  .enum(['listen', 'whisper', 'barge'])
  .describe(
    'listen: hears both, heard by nobody; whisper: only the agent hears the supervisor; barge: three-way',
  );

const monitorBodySchema = z.object({
  supervisor: loginParam.describe('The login of the supervisor agent whose phone is called'),
  mode: monitorModeSchema.default('listen'),
});

const monitorResponseSchema = z.object({
  callId: z.string().describe('The call being heard'),
  supervisor: z.string(),
  mode: monitorModeSchema,
});

/**
 * A supervisor's state change for an agent. Offered a call or in one, the agent is left alone
 * (409) unless `force` is set: then their part in the call ends (Acd.forceAgent) and the
 * customer goes back to the head of the queue.
 */
export async function changeAgentState(
  deps: HttpDeps,
  agent: Agent,
  body: { state: AgentState; reason?: string | undefined; force?: boolean | undefined },
  scope: { principal: { name: string } },
): Promise<void> {
  const { agentStates: states } = deps;
  if (body.force) {
    if (!forcedStates.has(body.state))
      throw new HttpError(400, 'invalid_body', `force sets only ${FORCED_STATES.join(' or ')}`);
    const to = body.state as ForcedState;
    await deps.acd.forceAgent(agent.id, to, FORCED_REASONS[to], whoOf(scope));
    return;
  }
  const { state } = await states.getState(agent.id);
  if (state === 'offered' || state === 'busy' || (await deps.availability.isReserved(agent.id)))
    throw new HttpError(
      409,
      'agent_in_call',
      `agent ${agent.login} is ${state} with a call: send force: true to take them out of it (the customer goes back to the head of the queue)`,
    );
  try {
    await states.transition(agent.id, body.state, { reason: body.reason ?? 'supervisor', source: 'api' });
  } catch (err) {
    if (!isAppError(err, 'invalid_transition')) throw err;
    const now = await states.getState(agent.id);
    throw new HttpError(
      409,
      'invalid_transition',
      `agent ${agent.login} is ${now.state}: cannot go to ${body.state}`,
    );
  }
}
