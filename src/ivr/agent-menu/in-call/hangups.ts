import { isDeadLeg } from '../../../call/leg.ts';
import type { SessionContext } from './context.ts';
import type { Leg, SessionOutcome } from './ports.ts';

/**
 * The three parties' hang-ups, decided by the session's state (SPEC §5): nobody on hold is
 * ever dropped, a phone that died (no BYE) sends the customer back to the head of the queue,
 * and a hang-up in a consultation completes the transfer. A party a supervisor took out of the
 * call (`supervisor`) is handled as a phone that died: nobody else is dropped.
 */

/** Nobody ended the call on purpose: the party's phone died, or a supervisor took them out. */
const leftAgainstTheirWill = (leg: Leg): boolean =>
  isDeadLeg(leg.endReason) || leg.endReason === 'supervisor';

/** The agent's leg ended. */
export async function agentGone<L extends Leg>(s: SessionContext<L>, leg: L): Promise<void> {
  const agent = s.agent;
  if (agent?.leg !== leg || s.machine.final) return;
  const state = s.machine.state;
  s.forgetAgent();
  // A customer going back to the queue is put at its head before the agent is freed (the
  // requeue does both, in that order); in every other case the agent is freed first.
  const dead = leftAgainstTheirWill(leg);
  const requeueing =
    state === 'menu' || state === 'collecting' || state === 'waiting' || (state === 'talking' && dead);
  if (!requeueing) await s.world.desk.releaseAgent(agent.id);
  switch (state) {
    case 'talking':
      if (dead) {
        // The agent's phone died (no RTP or no session refresh, no BYE): nobody ended the call
        // on purpose, so the customer is not dropped but goes back to the head of the queue.
        await s.record('complete_agent', { reason: leg.endReason }, agent.id);
        return s.requeue(s.world.call.department, true, agent.id);
      }
      // The agent ended the call: complete.
      await s.record('complete_agent', null, agent.id);
      s.disconnect();
      await s.end(outcomeOf(s));
      await s.world.call.leg.hangup();
      return;
    case 'menu':
    case 'collecting':
    case 'waiting':
      // The customer was on hold: nobody may be dropped, back to the head of the queue.
      return s.requeue(s.world.call.department, true, agent.id);
    case 'consulting':
    case 'consult_menu': {
      // Hanging up in a consultation completes the transfer.
      const t = s.target;
      await s.record('transfer', {
        type: t?.purpose.type,
        to: t?.number,
        mode: t?.purpose.mode,
        outcome: 'connected',
      });
      return s.completeTransfer();
    }
    case 'dialing':
    case 'announcing':
    case 'transferred':
    case 'ended':
      // Dialing and announcing carry on without the agent; their failure paths requeue.
      return;
  }
}

/** The transfer target's leg ended (a consultation, or customer and target talking). */
export async function targetGone<L extends Leg>(s: SessionContext<L>, leg: L): Promise<void> {
  const t = s.target;
  if (s.machine.final || t?.leg !== leg) return;
  s.dropTarget();
  if (s.machine.is('transferred') && leftAgainstTheirWill(leg)) {
    // The target's phone died: as for the agent's, the customer goes back to the head
    // (before the target is freed).
    await s.record('complete_agent', { reason: leg.endReason }, t.agentId ?? null);
    return s.requeue(s.world.call.department, true, t.agentId);
  }
  if (s.machine.is('transferred')) {
    // Customer and target talked; the target ended the call.
    await s.record('complete_agent', null, null);
    s.disconnect();
    await s.end(outcomeOf(s));
    await s.world.call.leg.hangup();
    return;
  }
  // Consultation target hung up: the agent is back with the customer.
  if (t.agentId !== undefined) await s.world.desk.releaseAgent(t.agentId);
  return s.transferFailed();
}

/** A finished call's outcome, the same whoever hung up first. */
function outcomeOf<L extends Leg>(s: SessionContext<L>): SessionOutcome {
  return s.world.call.transfers > 0 ? 'transferred' : 'answered';
}

/** The customer hung up: the call is over for everyone. */
export async function customerGone<L extends Leg>(s: SessionContext<L>): Promise<void> {
  if (s.machine.final) return;
  // Gone while a transfer's target rang: the customer abandoned it, the transfer never happened.
  const ringing = s.machine.is('dialing');
  await s.record('complete_customer', null, s.agent?.id ?? null);
  s.disconnect();
  if (ringing) s.world.call.transfers = Math.max(0, s.world.call.transfers - 1);
  return endForEveryone(s, ringing ? 'abandoned' : outcomeOf(s));
}

/** A supervisor ends the call (the event is Acd's): every leg, the agents freed. */
export async function endedBySupervisor<L extends Leg>(s: SessionContext<L>): Promise<boolean> {
  if (s.machine.final) return false;
  s.disconnect();
  await endForEveryone(s, 'ended_by_supervisor');
  return true;
}

/** Ends the session, which kills the task (a dial in progress stops ringing), then every leg. */
async function endForEveryone<L extends Leg>(s: SessionContext<L>, outcome: SessionOutcome): Promise<void> {
  const legs = [s.world.call.leg, s.agent?.leg, s.target?.leg];
  const agents = [s.agent?.id, s.target?.agentId];
  await s.end(outcome);
  for (const l of legs) if (l && !l.ended) await l.hangup();
  for (const id of agents) if (id !== undefined) await s.world.desk.releaseAgent(id);
}
