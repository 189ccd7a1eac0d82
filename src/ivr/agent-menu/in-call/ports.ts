import type { DialResult as EngineDialResult } from '../../../call/engine.ts';
import type { EndReason, PlayOutcome } from '../../../call/leg.ts';
import type { Sounds } from '../../../call/sounds.ts';
import type { Playable } from '../../../media/media-session.ts';
import type { CompanySettings, Department, DirectoryStore, QueueEventKind } from '../../../store/store.ts';
import type { Clock } from '../../../util/clock.ts';
import type { Logger } from 'pino';

/**
 * What the in-call session and its tasks touch of the world, and nothing more, so the business
 * core runs in unit tests against fakes (fake.ts) and in production against the real call
 * layer (in-call.ts builds these from the Acd hooks). Generic in the leg type `L`: the
 * session hands the legs it is given back to `bridge`, so production gets real `Leg`s back,
 * tests their fakes, and no cast is needed either way.
 */

/** The narrow leg port: the real `call/leg.ts` `Leg` satisfies it as it is. */
export interface Leg {
  readonly ended: boolean;
  readonly endReason: EndReason | undefined;
  on(event: 'ended', fn: (reason: EndReason) => void): () => void;
  /** Every key goes to `fn` (the menu is event-driven); null gives keys back to collections. */
  setDigitHandler(fn: ((digit: string) => void) | null): void;
  play(what: Playable): Promise<PlayOutcome>;
  loop(what: Playable): void;
  silence(): void;
  /** `supervisor`: a supervisor took this party out of the call. */
  hangup(reason?: EndReason): Promise<void>;
}

export interface Bridge<L> {
  readonly a: L;
  readonly b: L;
  unbridge(): void;
}

export type DialResult<L> = { kind: 'answered'; leg: L } | Exclude<EngineDialResult, { kind: 'answered' }>;

/** A target being rung. */
export interface Dialing<L> {
  /** The outgoing leg once it exists (early media is bridged from it). */
  readonly leg: L | undefined;
  readonly result: Promise<DialResult<L>>;
  cancel(): void;
}

/** The verdict of an answered colleague's accept key (`acd/accept.ts`). */
export type Acceptance = 'accepted' | 'timeout' | 'wrong_key' | 'hangup';

/** Dialling and media: the call engine and the dial routing, seen from the menu. */
export interface Telephony<L> {
  bridge(a: L, b: L): Bridge<L>;
  /** Rings `contact` for the call; undefined when there is no route to it. */
  dial(
    contact: string,
    settings: CompanySettings,
    onProgress: (early: boolean) => void,
  ): Promise<Dialing<L> | undefined>;
  /** An answered colleague's leg: waits for their accept key. */
  accept(leg: L, settings: CompanySettings): Promise<Acceptance>;
}

/** The call the session belongs to: the real `CustomerCall` satisfies it. */
export interface Call<L> {
  readonly id: string;
  readonly companyId: number;
  readonly leg: L;
  readonly department: Department;
  readonly settings: Pick<CompanySettings, 'language'>;
  readonly agentIds: number[];
  talkMs: number;
  /** Each agent's own talk, ms: an outside number's time is nobody's. */
  readonly agentTalkMs: Map<number, number>;
  transfers: number;
}

/** What the session may ask of Acd for its call (the hooks of `acd/in-call-port.ts`, bound to the call). */
export interface Desk {
  settings(): Promise<CompanySettings>;
  releaseAgent(agentId: number): Promise<void>;
  reserveAgent(agentId: number): Promise<boolean>;
  settleReservedAgent(agentId: number, answered: boolean, reason?: string): Promise<void>;
  requeue(department: Department, head: boolean, releasing?: number): Promise<void>;
  finish(outcome: SessionOutcome): Promise<void>;
  record(kind: QueueEventKind, agentId: number | null, detail: string | null): Promise<void>;
  /** `*7`: starts or stops the call's recording; `off` when recording is not allowed here. */
  toggleRecording(): Promise<'started' | 'stopped' | 'off' | 'failed'>;
}

/**
 * How a connected call ends: `transferred` once it went to another party, whoever hung up
 * first; `abandoned` when the customer hung up while a transfer's target rang;
 * `ended_by_supervisor` when a supervisor ended it.
 */
export type SessionOutcome = 'answered' | 'transferred' | 'abandoned' | 'ended_by_supervisor';

export type Directory = Pick<
  DirectoryStore,
  'getDepartmentByCode' | 'getAgentByShortNumber' | 'findAgentsByContact'
>;
export type Tones = Pick<Sounds, 'tone' | 'music' | 'prompts'>;

export interface InCallWorld<L extends Leg> {
  readonly call: Call<L>;
  readonly desk: Desk;
  readonly telephony: Telephony<L>;
  readonly directory: Directory;
  readonly sounds: Tones;
  readonly clock: Clock;
  readonly log: Logger;
  readonly menuTimeoutMs: number;
  readonly announceChoiceMs: number;
}
