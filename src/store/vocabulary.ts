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

export const PRESENTED_CALLER_IDS = ['customer', 'hotline'] as const;
export type PresentedCallerId = (typeof PRESENTED_CALLER_IDS)[number];

/** SPEC §3 agent states. */
export const AGENT_STATES = [
  'logged_out',
  'ready',
  'offered',
  'busy',
  'wrap_up',
  'temporarily_not_ready',
  'not_ready',
] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** States a supervisor may set (API and console); the others belong to the call flow. */
export const SUPERVISOR_STATES = [
  'ready',
  'temporarily_not_ready',
  'not_ready',
  'logged_out',
] as const satisfies readonly AgentState[];

/** Console and API user roles (see `User` in store.ts). */
export const ROLES = ['admin', 'supervisor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
