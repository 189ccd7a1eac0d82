/**
 * The enumerations of the company settings (SPEC §7), each declared once as a
 * constant array: the store's types, the HTTP/settings zod schemas, the prompt
 * languages and the web console's selects all derive from these. No imports,
 * so the web bundle can take them as they are.
 */

export const EXTERNAL_TRANSFER_MODES = [
  'disabled',
  'release_immediately',
  'release_on_answer',
  'consult',
] as const;
export type ExternalTransferMode = (typeof EXTERNAL_TRANSFER_MODES)[number];

export const ANNOUNCE_NUMBER_MODES = ['disabled', 'release_agent', 'stay_until_connected'] as const;
export type AnnounceNumberMode = (typeof ANNOUNCE_NUMBER_MODES)[number];

export const DELIVER_TO = ['caller_id', 'profile'] as const;
export type DeliverTo = (typeof DELIVER_TO)[number];

/** Prompt languages: one folder each under `prompts/`. */
export const LANGUAGES = ['ru', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

export const ACCEPT_CALL_MODES = ['off', 'key'] as const;
export type AcceptCallMode = (typeof ACCEPT_CALL_MODES)[number];

/** Call recording (issue 14): none, every connected call, or when the agent keys `*7`. */
export const RECORDING_MODES = ['off', 'all', 'on_demand'] as const;
export type RecordingMode = (typeof RECORDING_MODES)[number];
export const isRecordingMode = (v: unknown): v is RecordingMode =>
  (RECORDING_MODES as readonly unknown[]).includes(v);

export const RECORDING_ANNOUNCEMENTS = ['off', 'on'] as const;
export type RecordingAnnouncement = (typeof RECORDING_ANNOUNCEMENTS)[number];

export const PRESENTED_CALLER_IDS = ['customer', 'hotline'] as const;
export type PresentedCallerId = (typeof PRESENTED_CALLER_IDS)[number];

/** States the call flow moves an agent through (offer, talk, wrap-up); nobody sets them by hand. */
const CALL_FLOW_STATES = ['offered', 'busy', 'wrap_up'] as const;
const NOT_READY = ['temporarily_not_ready', 'not_ready'] as const;

/** SPEC §3 agent states. */
export const AGENT_STATES = ['logged_out', 'ready', ...CALL_FLOW_STATES, ...NOT_READY] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** States a supervisor may set (API and console): all but the call flow's, in the console's order. */
export const SUPERVISOR_STATES = ['ready', ...NOT_READY, 'logged_out'] as const;

/**
 * States a supervisor may force on an agent who is offered a call or in one (`force: true`): their
 * part in the call ends, the customer goes back to the head of the queue.
 */
export const FORCED_STATES = ['not_ready', 'logged_out'] as const;
export type ForcedState = (typeof FORCED_STATES)[number];

/** Console and API user roles (see `User` in store.ts). */
export const ROLES = ['admin', 'supervisor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

// --- trunks, SIP accounts, numbers, departments, calls ------------------------------------

/** A trunk's or a SIP account's media security: RTP only, SRTP when offered, SRTP required. */
export const SRTP_POLICIES = ['off', 'optional', 'mandatory'] as const;
export type SrtpPolicy = (typeof SRTP_POLICIES)[number];

/** When a trunk's legs listen for DTMF tones in the audio (auto: when the SDP has no telephone-event). */
export const INBAND_DTMF_MODES = ['auto', 'always', 'off'] as const;
export type InbandDtmfMode = (typeof INBAND_DTMF_MODES)[number];

/** Where an inbound trunk call's dialled number is read: the Request-URI or the To header. */
export const NUMBER_FROM = ['request_uri', 'to'] as const;
export type NumberFrom = (typeof NUMBER_FROM)[number];

/** How numbers are sent to a trunk; declared with the code that formats them. */
export { NUMBER_FORMATS, type NumberFormat } from '../util/phone-number.ts';

export const SIP_TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
export type SipTransport = (typeof SIP_TRANSPORTS)[number];

/** Digest algorithms a SIP account's phone may be challenged with (RFC 8760). */
export const SIP_DIGEST_ALGORITHMS = ['MD5', 'SHA-256'] as const;
export type SipDigestAlgorithm = (typeof SIP_DIGEST_ALGORITHMS)[number];

/** A trunk's registration as the API shows it, and its reachability. */
export const TRUNK_REGISTRATION_STATES = ['registered', 'failed', 'off'] as const;
export type TrunkRegistrationState = (typeof TRUNK_REGISTRATION_STATES)[number];
export const TRUNK_STATUSES = ['up', 'down', 'unknown'] as const;
export type TrunkStatus = (typeof TRUNK_STATUSES)[number];

/** A number rings the shared service IVR or a department's hotline. */
export const NUMBER_KINDS = ['service', 'hotline'] as const;
export type NumberKind = (typeof NUMBER_KINDS)[number];

export const DISTRIBUTION_STRATEGIES = ['longest_idle', 'round_robin', 'priority'] as const;
export type DistributionStrategy = (typeof DISTRIBUTION_STRATEGIES)[number];

/** A queued call that ended before an agent took it: the caller hung up, the queue overflowed, nobody logged in. */
const UNANSWERED = ['abandoned', 'overflow', 'no_agents'] as const;
/**
 * Calls we ended. `media_timeout`: the customer's phone stopped sending RTP (gone without
 * BYE) and we hung up; `session_expired`: its SIP session timer (RFC 4028) ran out unrefreshed, or
 * our refresh got no answer, and we hung up; `interrupted`: the server stopped (crash, kill -9) with the call live,
 * the row closed at the next start; `node_lost`: the node holding the call stopped (crash, kill -9)
 * and another node of the same database closed the row (issue 15).
 */
const CUT_OFF = ['media_timeout', 'session_expired', 'interrupted', 'node_lost'] as const;
/** How a call ended. `ended_by_supervisor`: a supervisor or admin ended it from the API or the console. */
export const CALL_OUTCOMES = [
  'answered',
  ...UNANSWERED,
  'transferred',
  'failed',
  ...CUT_OFF,
  'ended_by_supervisor',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];
