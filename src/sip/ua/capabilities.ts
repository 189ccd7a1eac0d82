import { TIMER_TAG } from '../session-timer.ts';

/** Methods we implement. Anything else gets 405 with this list (§8.2.1). */
export const ALLOWED_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'INFO', 'REGISTER', 'UPDATE'];
/** Option tags we support (Require we accept, Supported we send): session timers (RFC 4028). */
export const EXTENSIONS = [TIMER_TAG];
/** Methods defined by RFC 3261 and its extensions: anything else is not recognised. */
export const KNOWN_METHODS = new Set([
  ...ALLOWED_METHODS,
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'REFER',
  'MESSAGE',
]);
/** Body types we accept (415 otherwise) and list in Accept. */
export const CONTENT_TYPES = ['application/sdp', 'application/dtmf-relay', 'application/dtmf'];
export const SDP = 'application/sdp';
