/**
 * The departments' queues (SPEC §6): who waits where and in what order, what
 * a waiting customer hears (music, "all our agents are busy", their position),
 * how long they may wait, and where a call goes when it cannot stay (overflow).
 * Who is offered a call is the distributor's business.
 */
import type { Sounds } from '../call/sounds.ts';
import { digitsToPromptIds } from '../call/prompts.ts';
import type { Department, Store } from '../store/store.ts';
import type { AgentAvailability } from './availability.ts';
import type { CallLog } from './call-log.ts';
import type { CallOutcomeReason, CustomerCall } from './customer-call.ts';
import type { SharedQueue } from './shared-queue.ts';

export type OverflowReason = 'no_agents' | 'queue_full' | 'max_wait';

export interface QueueDeps {
  store: Pick<Store, 'directory'>;
  sounds: Sounds;
  availability: Pick<AgentAvailability, 'staffed'>;
  callLog: CallLog;
  /** Several nodes (PostgreSQL): the queues mirrored into the live store (issue 15). */
  shared?: SharedQueue;
}

/** What the queue needs of the distributor and of the call's end. */
export interface QueueHooks {
  /** Takes back the call's pending offer (the agent's phone stops ringing). */
  withdrawOffer(cc: CustomerCall, reason: string): void;
  /** Nobody could be offered this call now. */
  nobodyFree(cc: CustomerCall): Promise<boolean>;
  /** A call waits that may be offered: run a distribution pass. */
  schedule(): void;
  finish(cc: CustomerCall, reason: CallOutcomeReason): Promise<void>;
  /** A background task whose failure is logged. */
  bg(p: Promise<unknown>, cc: CustomerCall): void;
}

export class CallQueues {
  /** Waiting calls per department id, in queue order. */
  private readonly queues = new Map<number, CustomerCall[]>();

  constructor(
    private readonly deps: QueueDeps,
    private readonly hooks: QueueHooks,
  ) {}

  waiting(departmentId: number): readonly CustomerCall[] {
    return this.queues.get(departmentId) ?? [];
  }

  /** This node's waiting call `callId`, if it is one. */
  byId(callId: string): CustomerCall | undefined {
    for (const queue of this.queues.values()) for (const cc of queue) if (cc.id === callId) return cc;
    return undefined;
  }

  /** Every department's queue, for a distribution pass (it may change while the pass runs). */
  entries(): IterableIterator<[number, readonly CustomerCall[]]> {
    return this.queues.entries();
  }

  /** Puts a call in a department's queue, or overflows it (SPEC §6). `head` for a call coming back. */
  async enqueue(cc: CustomerCall, department: Department, head = false): Promise<void> {
    if (cc.leg.ended) return;
    // A call coming back takes the head before any await: no distribution pass may slip in between.
    if (head) this.takeHead(cc, department);
    cc.department = department;
    cc.visited.add(department.id);
    if (!(await this.deps.availability.staffed(department.id))) return this.overflow(cc, 'no_agents');
    if (!head) {
      const queue = this.queues.get(department.id) ?? [];
      const length = this.deps.shared ? await this.deps.shared.waitingCount(department.id) : queue.length;
      if (length >= department.maxQueueLength) return this.overflow(cc, 'queue_full');
      if (!cc.transition('queued', `enter:${department.code}`)) return;
      this.add(cc, department, queue, 'tail');
    }
    await this.deps.callLog.entered(cc, department, head);
    if (!cc.waiting || cc.leg.ended) return;
    // Nobody free: "all our agents are busy, please stay on the line", then music. (A call back at
    // the head may already be offered by now: it hears the music while the agent's phone rings.)
    const nobodyFree = cc.state === 'queued' && (await this.hooks.nobodyFree(cc));
    if (!cc.waiting || cc.leg.ended) return;
    this.startWaiting(cc, nobodyFree ? ['queue_wait'] : []);
    this.hooks.schedule();
  }

  /**
   * Synchronously puts a call coming back (its agent left it) at the head of its
   * queue (SPEC §5). Callers do this before they free the agent, so the pass the
   * release starts finds this call first and offers it before anyone else.
   */
  takeHead(cc: CustomerCall, department: Department): void {
    cc.department = department;
    cc.visited.add(department.id);
    const queue = this.queues.get(department.id) ?? [];
    if (queue.includes(cc)) return;
    if (!cc.transition('queued', `head:${department.code}`)) return;
    this.add(cc, department, queue, 'head');
  }

  private add(cc: CustomerCall, department: Department, queue: CustomerCall[], where: 'head' | 'tail'): void {
    const now = this.deps.callLog.now();
    cc.enteredAt ??= now;
    cc.queuedAt = now;
    if (where === 'head') queue.unshift(cc);
    else queue.push(cc);
    this.queues.set(department.id, queue);
    this.deps.shared?.waits(cc, where === 'head');
  }

  remove(cc: CustomerCall): void {
    const q = this.queues.get(cc.department.id);
    if (!q) return;
    const i = q.indexOf(cc);
    if (i >= 0) {
      q.splice(i, 1);
      this.deps.shared?.left(cc);
    }
    if (q.length === 0) this.queues.delete(cc.department.id);
  }

  // ── waiting ────────────────────────────────────────────────────────────
  /** Music on hold (after `lead`, if any) and the waiting timers. */
  startWaiting(cc: CustomerCall, lead: readonly string[] = []): void {
    this.armWaitTimers(cc);
    if (lead.length === 0) return cc.leg.loop(this.deps.sounds.music());
    void this.playThenMusic(cc, lead);
  }

  /** Max wait and the position announcement, from now; the music goes on as it is. */
  armWaitTimers(cc: CustomerCall): void {
    cc.stopWaitTimers();
    const maxWait = cc.department.maxWaitSeconds * 1000;
    if (maxWait > 0) cc.armMaxWait(maxWait, () => this.hooks.bg(this.overflow(cc, 'max_wait'), cc));
    this.armAnnouncement(cc);
  }

  private armAnnouncement(cc: CustomerCall): void {
    const period = cc.settings.announceSeconds * 1000;
    if (period <= 0) return;
    cc.armAnnouncement(period, () => this.hooks.bg(this.announcePosition(cc), cc));
  }

  /** "Your position in the queue is: N", then music again. */
  private async announcePosition(cc: CustomerCall): Promise<void> {
    if (!cc.waiting) return;
    const position = this.deps.shared
      ? await this.deps.shared.position(cc)
      : this.waiting(cc.department.id).indexOf(cc) + 1;
    if (position > 0) {
      await this.deps.callLog.event(cc, 'position', null, String(position));
      await this.playThenMusic(cc, ['queue_position', ...digitsToPromptIds(String(position))]);
    }
    if (cc.waiting) this.armAnnouncement(cc);
  }

  /** Plays `ids` to a waiting customer, then music; stopped (an announcement, the agent, an overflow took over): theirs to go on. */
  private async playThenMusic(cc: CustomerCall, ids: readonly string[]): Promise<void> {
    const outcome = await cc.leg.play(this.deps.sounds.prompts(cc.settings.language, ids));
    if (outcome === 'done' && cc.waiting) cc.leg.loop(this.deps.sounds.music());
  }

  // ── overflow ───────────────────────────────────────────────────────────
  async overflow(cc: CustomerCall, why: OverflowReason): Promise<void> {
    if (!cc.is('greeting', 'queued', 'offering')) return;
    this.hooks.withdrawOffer(cc, 'call_overflowed');
    cc.stopWaitTimers();
    this.remove(cc);
    await this.deps.callLog.event(cc, 'overflow', null, why);
    const target = cc.department.overflow;
    if (target?.kind === 'department') {
      const next = await this.deps.store.directory.getDepartmentByCode(cc.companyId, target.code);
      if (next && !cc.visited.has(next.id)) {
        await this.enqueue(cc, next);
        return;
      }
    }
    await this.hooks.finish(cc, why === 'no_agents' ? 'no_agents' : 'overflow');
    await cc.leg.play(this.deps.sounds.prompts(cc.settings.language, ['no_agents']));
    await cc.leg.hangup();
  }
}
