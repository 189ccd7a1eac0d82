/**
 * What a trunk says about the calls it brings in (issue 9): where the dialled
 * number is (Request-URI or To), whether its legs listen for DTMF in the
 * audio, and which dial plans the number may be read in.
 */
import type { InboundCall } from '../call/engine.ts';
import type { InbandDtmfMode } from '../call/leg.ts';
import { getHeader, parseNameAddr } from '../sip/message/headers.ts';
import type { DirectoryStore, Trunk, TrunkInbandDtmf } from '../store/store.ts';
import { normaliseNumber, type Country } from '../util/phone-number.ts';

/** A trunk's `auto` follows the server's `--inband-dtmf`; `always`/`off` override it for the trunk's legs. */
export function inbandModeFor(trunk: TrunkInbandDtmf | undefined, server: InbandDtmfMode): InbandDtmfMode {
  return trunk === undefined || trunk === 'auto' ? server : trunk;
}

/**
 * Applies the trunk's settings to a call it brought in, before it is routed
 * or answered. With `numberFrom: to` the dialled number is To's user part:
 * such carriers put our registration contact in the Request-URI.
 */
export function applyInboundTrunk(call: InboundCall, trunk: Trunk, serverInband: InbandDtmfMode): void {
  if (trunk.numberFrom === 'to') {
    const to = parseNameAddr(getHeader(call.invite.request, 'to') ?? '')?.uri.user;
    if (to) call.called = to;
  }
  call.leg.inbandDtmf = inbandModeFor(trunk.inbandDtmf, serverInband);
}

/**
 * The dial plans a dialled number may be read in: the countries of the
 * companies the trunk serves (every company when it names none, or when the
 * call came from no trunk). RU when there is no company yet.
 */
export async function countriesFor(directory: DirectoryStore, trunk: Trunk | undefined): Promise<Country[]> {
  const companies = await directory.listCompanies();
  const serving =
    trunk && trunk.companies.length > 0 ? companies.filter((c) => trunk.companies.includes(c.id)) : companies;
  const countries = [...new Set(serving.map((c) => c.settings.country))];
  return countries.length > 0 ? countries : ['RU'];
}

/**
 * The caller's number in the one dial plan the call can belong to (the
 * engine read it in RU's, knowing no company). With several plans it stays
 * as it is until a company is known (a hotline re-reads it in its company's
 * plan); the service IVR then compares what the engine made of it.
 */
export function readCallerIn(call: InboundCall, countries: readonly Country[]): void {
  const [only, ...more] = countries;
  if (call.callerUser && only !== undefined && more.length === 0)
    call.caller = normaliseNumber(call.callerUser, only);
}
