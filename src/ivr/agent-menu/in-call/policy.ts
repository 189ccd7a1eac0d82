import type { ExternalTransferMode } from '../../../store/vocabulary.ts';

/** A mode that transfers at all (`disabled` refuses `* 1`). */
export type TransferMode = Exclude<ExternalTransferMode, 'disabled'>;

/** How a transfer to an external number or a colleague's short number behaves (`* 1`, SPEC §5). */
export interface TransferPolicy {
  /** Who hears the ringback (and the target's early media) while the target rings. */
  readonly ringback: 'customer' | 'agent';
  /** When the agent leaves: before the target is dialled, or once the customer is put through. */
  readonly releaseAgent: 'before_dial' | 'on_connect';
  /**
   * The answered target talks with the agent first; the agent hanging up puts the customer
   * through, `* 5` drops the target.
   */
  readonly consult: boolean;
}

/** One row per mode: the compiler refuses a mode of the vocabulary without its row. */
export const TRANSFER_POLICIES: Readonly<Record<TransferMode, TransferPolicy>> = {
  release_immediately: { ringback: 'customer', releaseAgent: 'before_dial', consult: false },
  release_on_answer: { ringback: 'agent', releaseAgent: 'on_connect', consult: false },
  consult: { ringback: 'agent', releaseAgent: 'on_connect', consult: true },
};
