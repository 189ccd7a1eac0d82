import type { CallEngine } from '../../../call/engine.ts';
import type { Leg } from '../../../call/leg.ts';
import type { Sounds } from '../../../call/sounds.ts';
import type { ContactResolver } from '../../../call/contact-resolver.ts';
import { awaitAcceptance } from '../../../acd/accept.ts';
import { callerIdentityFor } from '../../../acd/caller-id.ts';
import type { CustomerCall } from '../../../acd/customer-call.ts';
import type { Telephony } from './ports.ts';

/** The menu's telephony on the real call engine: bridges, dials routed by the resolver, the accept key. */
export function engineTelephony(
  cc: CustomerCall,
  engine: CallEngine,
  resolver: ContactResolver,
  sounds: Sounds,
): Telephony<Leg> {
  return {
    bridge: (a, b) => engine.bridge(a, b),
    dial: async (contact, settings, onProgress) => {
      const targets = resolver.resolve(contact, cc.companyId, settings.country);
      if (!targets.length) return undefined;
      return engine.dial({
        targets,
        ...callerIdentityFor(cc, settings.presentedCallerId),
        near: cc.leg,
        timeoutMs: settings.ringSeconds * 1000,
        onProgress,
      });
    },
    accept: (leg, settings) => awaitAcceptance(leg, settings, sounds, []),
  };
}
