/**
 * RTP fixed header (RFC 3550 §5.1), read and written in place on Buffers.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....  (CC × 32 bits)              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  defined by profile (16)      |   extension length (16, words)|  only if X (§5.3.1)
 * |                        header extension ...                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     payload ...                               |
 * |                               | padding ... | padding count   |  only if P: last
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  octet = pad length
 * ```
 *
 * Hot path: every helper reads bytes at offsets; nothing allocates. `payloadOffset`
 * and `payloadLength` validate the CSRC list, extension and padding against the
 * datagram length and return -1 when the packet is malformed.
 */

export const RTP_HEADER_SIZE = 12;
export const RTP_VERSION = 2;

export function rtpVersion(b: Buffer): number {
  return b[0]! >> 6;
}
export function rtpPadding(b: Buffer): boolean {
  return (b[0]! & 0x20) !== 0;
}
export function rtpExtension(b: Buffer): boolean {
  return (b[0]! & 0x10) !== 0;
}
export function rtpCsrcCount(b: Buffer): number {
  return b[0]! & 0x0f;
}
export function rtpMarker(b: Buffer): boolean {
  return (b[1]! & 0x80) !== 0;
}
export function rtpPayloadType(b: Buffer): number {
  return b[1]! & 0x7f;
}
export function rtpSequence(b: Buffer): number {
  return (b[2]! << 8) | b[3]!;
}
export function rtpTimestamp(b: Buffer): number {
  return b.readUInt32BE(4);
}
export function rtpSsrc(b: Buffer): number {
  return b.readUInt32BE(8);
}
/** The i-th CSRC (caller checks i < rtpCsrcCount). */
export function rtpCsrc(b: Buffer, i: number): number {
  return b.readUInt32BE(12 + 4 * i);
}

/**
 * Offset of the payload in a datagram of `length` bytes, or -1 if the packet is
 * not a valid RTP packet (too short, version ≠ 2, CSRC list or extension past the end).
 */
export function rtpPayloadOffset(b: Buffer, length: number = b.length): number {
  if (length < RTP_HEADER_SIZE || b[0]! >> 6 !== RTP_VERSION) return -1;
  let off = RTP_HEADER_SIZE + 4 * (b[0]! & 0x0f);
  if (off > length) return -1;
  if (b[0]! & 0x10) {
    if (off + 4 > length) return -1;
    const words = (b[off + 2]! << 8) | b[off + 3]!;
    off += 4 + 4 * words;
    if (off > length) return -1;
  }
  return off;
}

/**
 * Payload length (without padding) of a datagram of `length` bytes, given its
 * payload offset; -1 if the padding count is invalid.
 */
export function rtpPayloadLength(b: Buffer, payloadOffset: number, length: number = b.length): number {
  if (payloadOffset < 0) return -1;
  let end = length;
  if (b[0]! & 0x20) {
    const pad = b[length - 1]!;
    if (pad === 0) return -1;
    end -= pad;
  }
  return end >= payloadOffset ? end - payloadOffset : -1;
}

/** Header fields, for callers that want them at once; reuse one instance (no allocation per packet). */
export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Profile-defined 16 bits of the header extension (0 when none). */
  extensionProfile: number;
  payloadOffset: number;
  payloadLength: number;
}

export function createRtpHeader(): RtpHeader {
  return {
    version: 0,
    padding: false,
    extension: false,
    csrcCount: 0,
    marker: false,
    payloadType: 0,
    sequence: 0,
    timestamp: 0,
    ssrc: 0,
    extensionProfile: 0,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/** Fills `into` from the datagram; returns false (and leaves `into` partly filled) when malformed. */
export function readRtpHeader(b: Buffer, into: RtpHeader, length: number = b.length): boolean {
  const off = rtpPayloadOffset(b, length);
  if (off < 0) return false;
  const plen = rtpPayloadLength(b, off, length);
  if (plen < 0) return false;
  const b0 = b[0]!;
  into.version = b0 >> 6;
  into.padding = (b0 & 0x20) !== 0;
  into.extension = (b0 & 0x10) !== 0;
  into.csrcCount = b0 & 0x0f;
  into.marker = (b[1]! & 0x80) !== 0;
  into.payloadType = b[1]! & 0x7f;
  into.sequence = (b[2]! << 8) | b[3]!;
  into.timestamp = b.readUInt32BE(4);
  into.ssrc = b.readUInt32BE(8);
  into.extensionProfile = into.extension ? b.readUInt16BE(RTP_HEADER_SIZE + 4 * into.csrcCount) : 0;
  into.payloadOffset = off;
  into.payloadLength = plen;
  return true;
}

/**
 * Writes a 12-byte header (V=2, no padding, no extension, no CSRC) at `offset`
 * of a preallocated buffer; returns the header size.
 */
export function writeRtpHeader(
  out: Buffer,
  offset: number,
  payloadType: number,
  marker: boolean,
  sequence: number,
  timestamp: number,
  ssrc: number,
): number {
  out[offset] = 0x80;
  out[offset + 1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  out[offset + 2] = (sequence >>> 8) & 0xff;
  out[offset + 3] = sequence & 0xff;
  out.writeUInt32BE(timestamp >>> 0, offset + 4);
  out.writeUInt32BE(ssrc >>> 0, offset + 8);
  return RTP_HEADER_SIZE;
}
