import { destinationAllowed } from '../../../store/company-settings.ts';
import type { CompanySettings } from '../../../store/store.ts';
import { normaliseNumber } from '../../../util/phone-number.ts';
import type { InCallWorld, Leg } from './ports.ts';

/** Where a transfer or an announced number leads. */
export interface Destination {
  /** As recorded: the short number, or the normalised number. */
  readonly number: string;
  /** What is dialled (a colleague's registered contact, or the number). */
  readonly contact: string;
  /** A colleague reached by short number (reserved before they ring). */
  readonly agentId: number | undefined;
}

/**
 * Resolves what the agent keyed: a colleague's short number, or a number the company allows
 * (toll-fraud protection: a refused one is a `warn`, someone may be trying).
 */
export async function resolveDestination<L extends Leg>(
  world: InCallWorld<L>,
  digits: string,
  settings: CompanySettings,
  agentId: number | undefined,
): Promise<Destination | undefined> {
  const { directory, call } = world;
  const companyId = call.companyId;
  if (digits.length < 2) return undefined;
  const colleague = await directory.getAgentByShortNumber(companyId, digits);
  const number = colleague ? digits : normaliseNumber(digits, settings.country);
  const companyAgents = colleague ? [colleague] : await directory.findAgentsByContact(number);
  const isAgent = companyAgents.some((a) => a.companyId === companyId);
  if (!destinationAllowed(settings.allowedDestinations, number, isAgent)) {
    world.log.warn({ number, agentId }, 'destination not allowed (toll-fraud protection)');
    return undefined;
  }
  if (colleague)
    return { number, contact: colleague.sessionContact ?? colleague.contact, agentId: colleague.id };
  return { number, contact: number, agentId: undefined };
}
