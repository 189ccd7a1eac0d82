import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { FORCED_REASONS } from '../../acd/agent-state.ts';
import type { Agent, AgentState } from '../../store/store.ts';
import { FORCED_STATES, type ForcedState } from '../../store/vocabulary.ts';
import { isAppError } from '../../util/errors.ts';
import { type Api, companyIdQuery } from '../api.ts';
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
}

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
