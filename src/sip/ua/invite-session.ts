import type { Logger } from 'pino';
import type { Clock } from '../../util/clock.ts';
import { StatefulFlow, type TransitionTable } from '../../util/state-machine.ts';
import type { Dialog } from '../dialog/dialog.ts';
import type { HeaderField, SipMessage, SipRequest, SipResponse } from '../message/types.ts';
import type { SipStack } from '../stack.ts';
import type { Endpoint } from '../transport/transport.ts';
import { SDP } from './capabilities.ts';

/** A failure status for an in-dialog request, with extra headers (e.g. Min-SE of a 422). */
export interface DialogRefusal {
  status: number;
  reason?: string;
  headers?: HeaderField[];
}

/** What an established dialog tells the layer that owns it. */
export interface DialogUser {
  onBye(): void;
  /**
   * A re-INVITE (e.g. the phone holds us, or refreshes the session). Return
   * the SDP answer (and headers for the 2xx, e.g. Session-Expires), or a failure.
   */
  onReinvite(
    offer: string | undefined,
    req: SipRequest,
  ): { sdp: string; headers?: HeaderField[] } | DialogRefusal;
  /**
   * An UPDATE (RFC 3311), usually a session refresh without SDP. Without this
   * handler an UPDATE without offer is answered 200 and one with an offer 488.
   */
  onUpdate?(
    offer: string | undefined,
    req: SipRequest,
  ): { sdp?: string; headers?: HeaderField[] } | DialogRefusal;
  onInfo(contentType: string, body: Buffer): void;
}

/** What a session needs from the UA that owns it. */
export interface SessionHost {
  readonly stack: SipStack;
  readonly clock: Clock;
  readonly log: Logger;
  viaFor(transport: Endpoint['transport'], peer?: string): string;
  /** A 2xx created the session's dialog: in-dialog requests now route to it. */
  addSession(session: InviteSession): void;
  /** The session is over: the UA stops routing requests to it. */
  forgetSession(session: InviteSession): void;
}

/** A message's body as text (an SDP offer or answer); undefined when it has none. */
export function bodyText(msg: SipMessage): string | undefined {
  return msg.body.length ? msg.body.toString('utf8') : undefined;
}

/**
 *   confirmed ──our 2xx to an INVITE──▶ awaiting-ack ──ACK──▶ confirmed
 *       └──BYE sent──▶ terminating ──▶ terminated ◀──BYE received──┘
 *
 * `awaiting-ack` owns the 2xx retransmission timer (§13.3.1.4): the ACK, a BYE
 * or the give-up leaves it, and leaving it clears the timer. A re-INVITE that
 * arrives meanwhile gets 491 (§14.2). The dialog is up (in-dialog requests may
 * go out) in both `confirmed` and `awaiting-ack`.
 */
export type SessionState = 'confirmed' | 'awaiting-ack' | 'terminating' | 'terminated';

export const SESSION_TRANSITIONS: TransitionTable<SessionState> = {
  confirmed: ['awaiting-ack', 'terminating', 'terminated'],
  'awaiting-ack': ['confirmed', 'terminating', 'terminated'],
  terminating: ['terminated'],
  terminated: [],
};

/** An established INVITE dialog usage, UAS or UAC side; its host routes to it from its creation to end(). */
export class InviteSession extends StatefulFlow<SessionState> {
  user: DialogUser | null = null;
  /** Who waits for the ACK to our pending 2xx (§13.3.1.4); told undefined if none comes. */
  private ackWaiter: ((ack: SipRequest | undefined) => void) | undefined;
  /** Our ACK to the peer's 2xx, resent if the 2xx is retransmitted. */
  lastAck: SipRequest | undefined;
  /** The last SDP we sent in this dialog: a session refresh re-INVITE sends it again unchanged. */
  localSdp: string | undefined;
  /** The peer listed UPDATE in Allow: refreshes go by UPDATE (RFC 4028 §7.4). */
  readonly peerAllowsUpdate: boolean;

  constructor(
    readonly host: SessionHost,
    readonly dialog: Dialog,
    readonly role: 'uas' | 'uac',
    /** The peer's INVITE (we are uas) or 2xx (uac) listed UPDATE in Allow. */
    peerAllowsUpdate = false,
    /** The SDP our INVITE, 2xx or ACK carried. */
    localSdp?: string,
  ) {
    super({
      name: 'invite-session',
      initial: 'confirmed',
      transitions: SESSION_TRANSITIONS,
      clock: host.clock,
    });
    this.localSdp = localSdp;
    this.peerAllowsUpdate = peerAllowsUpdate;
    host.addSession(this);
  }

  /** The dialog is up: BYE, re-INVITE, UPDATE and INFO may go out. */
  get live(): boolean {
    return this.machine.is('confirmed', 'awaiting-ack');
  }

  /** Ends the call (§15.1.1). Resolves once the BYE is answered or timed out. */
  bye(): Promise<void> {
    if (!this.machine.transition('terminating', 'BYE sent')) return Promise.resolve();
    return new Promise((resolve) => {
      const req = this.request('BYE');
      this.host.stack.sendRequest(req, this.dialog.flow, {
        onResponse: (res) => {
          if (res.status >= 200) resolve();
        },
        onTimeout: () => resolve(),
      });
      this.end('BYE sent');
    });
  }

  /**
   * Sends a re-INVITE with an offer (hold, or a session refresh with the last
   * SDP unchanged); resolves with the final response, undefined on timeout.
   */
  reinvite(sdp: string, headers: HeaderField[] = []): Promise<SipResponse | undefined> {
    if (!this.live) return Promise.resolve(undefined);
    const req = this.request('INVITE', [...headers, { name: 'Content-Type', value: SDP }], Buffer.from(sdp));
    this.localSdp = sdp;
    const seq = this.dialog.localSeq;
    return new Promise((resolve) => {
      this.host.stack.sendRequest(req, this.dialog.flow, {
        onResponse: (res) => {
          if (res.status < 200) return;
          if (res.status < 300) this.sendAck(seq);
          resolve(res);
        },
        onTimeout: () => resolve(undefined),
      });
    });
  }

  /** Sends an UPDATE without SDP (RFC 3311; a session refresh); resolves with the final response. */
  update(headers: HeaderField[] = []): Promise<SipResponse | undefined> {
    if (!this.live) return Promise.resolve(undefined);
    const req = this.request('UPDATE', headers);
    return new Promise((resolve) => {
      this.host.stack.sendRequest(req, this.dialog.flow, {
        onResponse: (res) => {
          if (res.status >= 200) resolve(res);
        },
        onTimeout: () => resolve(undefined),
      });
    });
  }

  info(contentType: string, body: string): void {
    if (!this.live) return;
    const req = this.request('INFO', [{ name: 'Content-Type', value: contentType }], Buffer.from(body));
    this.host.stack.sendRequest(req, this.dialog.flow, { onResponse: () => {}, onTimeout: () => {} });
  }

  /** An in-dialog request (§12.2.1.1) with a fresh Via for the dialog's flow. */
  request(method: string, extra: HeaderField[] = [], body?: Buffer): SipRequest {
    const flow = this.dialog.flow;
    return this.dialog.createRequest(method, this.host.viaFor(flow.transport, flow.address), extra, body);
  }

  /**
   * The ACK for a 2xx to our INVITE number `seq` (§13.2.2.4, §14.1: end to
   * end, outside the transaction), with the SDP answer of a late offer.
   */
  sendAck(seq: number, body?: string): void {
    const flow = this.dialog.flow;
    const ack = this.dialog.createAck(
      seq,
      this.host.viaFor(flow.transport, flow.address),
      body === undefined ? undefined : { contentType: SDP, body: Buffer.from(body) },
    );
    this.lastAck = ack;
    this.host.stack.send(ack, flow);
  }

  /** The dialog is over (BYE sent or received): the 2xx stops with its state; its ACK waiter hears. */
  end(reason = 'BYE received'): void {
    if (!this.machine.transition('terminated', reason)) return;
    this.host.forgetSession(this);
    // A BYE that overtook the ACK: whoever waits for the ACK learns the call is gone.
    this.takeAckWaiter()?.(undefined);
  }

  /**
   * §13.3.1.4: resend our 2xx at T1, 2T1 … T2 until the ACK, give up after 64·T1.
   * The give-up is its own deadline (like Timer H), not the next retransmission
   * due after it: with T2 steps that would hold the leg and its ports 3.5 s longer.
   */
  retransmit2xx(res: SipResponse, done: (ack: SipRequest | undefined) => void): void {
    // Only a live dialog without a 2xx pending sends one (the UA answers a re-INVITE meanwhile 491).
    if (!this.machine.transition('awaiting-ack', 'our 2xx')) return done(undefined);
    this.ackWaiter = done;
    const { stack, clock, log } = this.host;
    const { t1, t2 } = stack.timers;
    const flow = this.dialog.flow;
    const reliable = flow.transport !== 'udp';
    const started = clock.now();
    let interval = t1;
    // Armed in awaiting-ack: the ACK, a BYE or the give-up leaves the state and clears it.
    const tick = (): void => {
      if (clock.now() - started >= 64 * t1) {
        log.info({ callId: this.dialog.callId }, 'no ACK for 2xx: ending the call');
        // Told while the dialog is still up (the UA's owner then hears a hang-up), then BYE.
        this.takeAckWaiter()?.(undefined);
        void this.bye();
        return;
      }
      if (!reliable) stack.send(res, flow);
      interval = reliable ? 64 * t1 : Math.min(2 * interval, t2);
      const left = started + 64 * t1 - clock.now();
      this.machine.arm(Math.min(interval, left), tick);
    };
    this.machine.arm(reliable ? 64 * t1 : t1, tick);
  }

  /** The ACK for our pending 2xx came: stop retransmitting and hand it over. */
  acked(ack: SipRequest): void {
    if (!this.machine.transition('confirmed', 'ACK')) return;
    this.takeAckWaiter()?.(ack);
  }

  private takeAckWaiter(): ((ack: SipRequest | undefined) => void) | undefined {
    const waiter = this.ackWaiter;
    this.ackWaiter = undefined;
    return waiter;
  }
}
