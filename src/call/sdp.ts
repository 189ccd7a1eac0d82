import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import sdpTransform from 'sdp-transform';
import { SRTP_KEY_SALT_LEN } from '../media/media-session.ts';
import type { SrtpPolicy } from '../store/vocabulary.ts';

/**
 * SDP offer/answer for one audio stream (RFC 3264, RFC 4566), parsed and
 * written with sdp-transform. We speak PCMU (0) and PCMA (8), plus RFC 4733
 * telephone-event at whatever payload type the offerer picked.
 *
 * SRTP keys by SDES (RFC 4568): an RTP/SAVP stream carries `a=crypto:<tag> <suite>
 * inline:<key‖salt>` lines; each side's line is the key it sends with. We speak one suite,
 * AES_CM_128_HMAC_SHA1_80, with one key per line, no MKI and no session parameters; other
 * lines are skipped and the first usable one is taken. An RTP/SAVP offer is answered with
 * RTP/SAVP or refused with 488, never with plain RTP/AVP. The policy (per SIP account or
 * trunk) decides the rest:
 *   off       — RTP/AVP only; an RTP/SAVP offer gets 488.
 *   optional  — our offers are RTP/AVP; an RTP/SAVP offer is answered with SRTP.
 *   mandatory — our offers are RTP/SAVP and only an RTP/SAVP answer is taken; an RTP/AVP
 *               offer gets 488.
 * (No best-effort SRTP, i.e. RTP/AVP offers that carry a=crypto: RFC 4568 does not define it
 * and it is what leads to silent plain RTP.)
 */
export type AudioCodec = 'PCMU' | 'PCMA';
export type { SrtpPolicy };
export const SRTP_SUITE = 'AES_CM_128_HMAC_SHA1_80';

/**
 * An SDES master key ‖ salt (30 bytes). Kept in a wrapper whose JSON and string forms hide
 * it, so that an object logged with a key inside never prints the key.
 */
export class SdesKey {
  constructor(readonly bytes: Buffer) {
    if (bytes.length !== SRTP_KEY_SALT_LEN) throw new RangeError('SDES key‖salt must be 30 bytes');
  }
  static random(): SdesKey {
    return new SdesKey(randomBytes(SRTP_KEY_SALT_LEN));
  }
  /** The base64 form for `inline:` (SDP only, never a log line). */
  inline(): string {
    return this.bytes.toString('base64');
  }
  equals(other: SdesKey): boolean {
    return this.bytes.equals(other.bytes);
  }
  toJSON(): string {
    return '[srtp key]';
  }
  toString(): string {
    return '[srtp key]';
  }
}

/** An SDP body fit for a log line: every `inline:` key replaced (RFC 4568 keys are secrets). */
export function maskSdpKeys(sdp: string): string {
  return sdp.replace(/(inline:)[^\s|;]*/gi, '$1[masked]');
}
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface MediaParams {
  codec: AudioCodec;
  payloadType: number;
  /** The telephone-event payload type both sides use, if negotiated. */
  dtmfPayloadType: number | undefined;
  remoteHost: string;
  remotePort: number;
  /** The far end's direction attribute (sendonly/inactive = it holds us). */
  direction: Direction;
  /** The comfort-noise payload type (RFC 3389) both sides use, if negotiated. */
  cnPayloadType?: number;
  /** SRTP: the crypto tag both sides use and the key the far end sends with; undefined = plain RTP. */
  srtp?: { tag: number; remoteKey: SdesKey };
}

export interface LocalMedia {
  host: string;
  port: number;
  /** Codecs in our order of preference. */
  codecs: AudioCodec[];
  sessionId: number;
  sessionVersion: number;
  /** false: offer and answer no telephone-event (a phone whose keys go as tones in the audio). */
  telephoneEvent?: boolean;
  /** true: offer CN 13 (RFC 3389). An offer's CN is always answered. */
  comfortNoise?: boolean;
  /** SRTP policy for this leg (default optional: an RTP/SAVP offer is answered with SRTP). */
  srtp?: SrtpPolicy;
  /** The key we send with, for SRTP (one per direction per leg); without it SRTP is refused. */
  sdesKey?: SdesKey;
}

const STATIC_PT: Record<AudioCodec, number> = { PCMU: 0, PCMA: 8 };
const DEFAULT_DTMF_PT = 101;
const STATIC_CN_PT = 13;

export type AnswerResult =
  | { ok: true; sdp: string; media: MediaParams }
  /** `srtp`: refused for the SRTP policy or its keys (a warn line for the operator). */
  | { ok: false; status: 488 | 400; reason: string; srtp?: boolean };

function origin(local: LocalMedia): sdpTransform.SessionDescription['origin'] {
  return {
    username: 'agentline',
    sessionId: local.sessionId,
    sessionVersion: local.sessionVersion,
    netType: 'IN',
    ipVer: local.host.includes(':') ? 6 : 4,
    address: local.host,
  };
}

function describe(
  local: LocalMedia,
  codecs: { codec: AudioCodec; pt: number }[],
  dtmfPt: number | undefined,
  direction: Direction,
  cnPt?: number,
  crypto?: { tag: number; key: SdesKey },
): string {
  const rtp: { payload: number; codec: string; rate?: number }[] = codecs.map((c) => ({
    payload: c.pt,
    codec: c.codec,
    rate: 8000,
  }));
  const fmtp: { payload: number; config: string }[] = [];
  if (dtmfPt !== undefined) {
    rtp.push({ payload: dtmfPt, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: dtmfPt, config: '0-16' });
  }
  if (cnPt !== undefined) rtp.push({ payload: cnPt, codec: 'CN', rate: 8000 });
  const session: sdpTransform.SessionDescription = {
    version: 0,
    origin: origin(local),
    name: 'AgentLine',
    connection: { version: local.host.includes(':') ? 6 : 4, ip: local.host },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: 'audio',
        port: local.port,
        protocol: crypto ? 'RTP/SAVP' : 'RTP/AVP',
        payloads: rtp.map((r) => r.payload).join(' '),
        rtp,
        fmtp,
        ...(crypto
          ? { crypto: [{ id: crypto.tag, suite: SRTP_SUITE, config: `inline:${crypto.key.inline()}` }] }
          : {}),
        ptime: 20,
        direction,
      },
    ],
  };
  return sdpTransform.write(session);
}

/** The crypto tag of our offers (we offer one suite, so one line). */
const OFFER_TAG = 1;

/** Whether our offers with `local` are RTP/SAVP (mandatory SRTP and a key to offer). */
function offersSrtp(local: LocalMedia): boolean {
  return local.srtp === 'mandatory' && local.sdesKey !== undefined;
}

/** Our offer: every codec we speak and telephone-event 101; RTP/SAVP when SRTP is mandatory. */
export function buildOffer(local: LocalMedia): string {
  return describe(
    local,
    local.codecs.map((codec) => ({ codec, pt: STATIC_PT[codec] })),
    local.telephoneEvent === false ? undefined : DEFAULT_DTMF_PT,
    'sendrecv',
    local.comfortNoise === true ? STATIC_CN_PT : undefined,
    offersSrtp(local) ? { tag: OFFER_TAG, key: local.sdesKey! } : undefined,
  );
}

interface ParsedAudio {
  host: string;
  port: number;
  /** Audio payloads in the offerer's order, with their codec name if we know it. */
  formats: { pt: number; codec: AudioCodec | undefined }[];
  dtmfPt: number | undefined;
  direction: Direction;
  cnPt: number | undefined;
  /** RTP/SAVP (SDES keys in `crypto`), else RTP/AVP. */
  secure: boolean;
  /** The first usable crypto line, or why there is none. */
  crypto: { tag: number; key: SdesKey } | 'none' | 'mki';
}

type ParseError = 'no_audio' | 'bad_port' | 'bad_address' | 'bad_protocol';

/**
 * The first crypto line we can use (RFC 4568 §5.1, §6.1): our suite, one `inline:` key of 30
 * bytes, an optional lifetime (ignored: we never rekey; a call does not reach 2^31 packets),
 * no MKI, no session parameters (KDR, UNENCRYPTED_*, FEC_*: none of which we do).
 */
function pickCrypto(
  lines: { id: number; suite: string; config: string; sessionConfig?: string }[],
): { tag: number; key: SdesKey } | 'none' | 'mki' {
  let mki = false;
  for (const c of lines) {
    if (c.suite !== SRTP_SUITE || c.sessionConfig !== undefined) continue;
    if (!Number.isInteger(c.id) || c.id < 0 || c.id > 999_999_999) continue;
    if (c.config.includes(';')) continue; // several keys: only with MKI, which we refuse
    const m = /^inline:([A-Za-z0-9+/]+={0,2})(?:\|(2\^\d{1,2}|\d{1,20}))?(?:\|(\d{1,9}):(\d{1,3}))?$/.exec(
      c.config,
    );
    if (!m) continue;
    if (m[3] !== undefined) {
      mki = true;
      continue;
    }
    const bytes = Buffer.from(m[1]!, 'base64');
    if (bytes.length !== SRTP_KEY_SALT_LEN) continue;
    return { tag: c.id, key: new SdesKey(bytes) };
  }
  return mki ? 'mki' : 'none';
}

/**
 * A c= address we can send to: an IP literal of the family the line names (IN IP4 / IN IP6),
 * unicast. A host name is refused rather than resolved: an unauthenticated offer must not make
 * us query DNS (RFC 4566 allows FQDNs, but no peer we serve sends them). 0.0.0.0 / :: stay
 * valid: they mean hold (RFC 2543 style) or "learn my address from my packets".
 */
function usableAddress(conn: { version?: number; ip?: string }): string | undefined {
  const ip = conn.ip;
  if (ip === undefined) return undefined;
  const family = isIP(ip);
  if (family === 0 || (conn.version !== undefined && conn.version !== family)) return undefined;
  if (family === 4) {
    const first = Number(ip.split('.')[0]);
    if ((first >= 224 && first <= 239) || ip === '255.255.255.255') return undefined; // multicast, broadcast
  } else if (/^ff/i.test(ip)) return undefined; // IPv6 multicast
  return ip;
}

function parseAudio(text: string): ParsedAudio | ParseError {
  let session: sdpTransform.SessionDescription;
  try {
    session = sdpTransform.parse(text);
  } catch {
    return 'no_audio';
  }
  const audio = session.media?.find((m) => m.type === 'audio' && m.port !== 0);
  if (!audio) return 'no_audio';
  // RTP/SAVP is SDES-keyed SRTP; other secure profiles (DTLS-SRTP's UDP/TLS/RTP/SAVP, SAVPF) we
  // cannot answer, and answering them with RTP/AVP would be the silent downgrade we refuse.
  const protocol = String(audio.protocol ?? '').toUpperCase();
  const secure = protocol === 'RTP/SAVP';
  if (!secure && protocol.includes('SAVP')) return 'bad_protocol';
  // sdp-transform gives numbers for digit strings of any length (65536) and keeps others as strings.
  if (typeof audio.port !== 'number' || !Number.isInteger(audio.port) || audio.port < 1 || audio.port > 65535)
    return 'bad_port';
  const conn = audio.connection ?? session.connection;
  if (!conn) return 'no_audio';
  const ip = usableAddress(conn);
  if (ip === undefined) return 'bad_address';
  const rtpmap = new Map<number, string>();
  for (const r of audio.rtp ?? []) rtpmap.set(r.payload, `${r.codec.toUpperCase()}/${r.rate ?? 8000}`);
  const formats: ParsedAudio['formats'] = [];
  let dtmfPt: number | undefined;
  let cnPt: number | undefined;
  for (const p of String(audio.payloads ?? '')
    .trim()
    .split(/\s+/)) {
    const pt = Number(p);
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) continue;
    const name = rtpmap.get(pt);
    if (name === 'TELEPHONE-EVENT/8000') {
      dtmfPt ??= pt;
      continue;
    }
    // Comfort noise at 8 kHz: static 13 (may come without an rtpmap) or a dynamic type.
    if (name === 'CN/8000' || (name === undefined && pt === STATIC_CN_PT)) {
      cnPt ??= pt;
      continue;
    }
    // Static types may come without an rtpmap line (RFC 3551 §6).
    const codec =
      name === 'PCMU/8000' || (name === undefined && pt === 0)
        ? 'PCMU'
        : name === 'PCMA/8000' || (name === undefined && pt === 8)
          ? 'PCMA'
          : undefined;
    formats.push({ pt, codec });
  }
  const dir = (audio.direction ?? session.direction ?? 'sendrecv') as Direction;
  // An old-style hold (RFC 2543) puts 0.0.0.0 in c=.
  const direction: Direction = ip === '0.0.0.0' ? 'inactive' : dir;
  const crypto = secure ? pickCrypto(audio.crypto ?? []) : 'none';
  return { host: ip, port: audio.port, formats, dtmfPt, direction, cnPt, secure, crypto };
}

const mirror: Record<Direction, Direction> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

type SrtpError = 'srtp_off' | 'srtp_required' | 'no_crypto' | 'mki' | 'srtp_mismatch';

/**
 * The far end's stream as we will use it: the first of its codecs that we speak, and its
 * SRTP key. `weOffered`: reading an answer to our offer (RTP/SAVP iff we offered it, and
 * the crypto tag must be ours) rather than an offer (the policy decides).
 */
function negotiate(
  text: string,
  local: LocalMedia,
  weOffered = false,
): MediaParams | ParseError | SrtpError | 'no_codec' {
  const parsed = parseAudio(text);
  if (typeof parsed === 'string') return parsed;
  const policy = local.srtp ?? 'optional';
  let srtp: MediaParams['srtp'];
  if (weOffered) {
    if (parsed.secure !== offersSrtp(local)) return 'srtp_mismatch';
  } else if (parsed.secure && (policy === 'off' || local.sdesKey === undefined)) return 'srtp_off';
  else if (!parsed.secure && policy === 'mandatory') return 'srtp_required';
  if (parsed.secure) {
    if (parsed.crypto === 'mki') return 'mki';
    if (parsed.crypto === 'none' || (weOffered && parsed.crypto.tag !== OFFER_TAG)) return 'no_crypto';
    srtp = { tag: parsed.crypto.tag, remoteKey: parsed.crypto.key };
  }
  const chosen = parsed.formats.find((f) => f.codec !== undefined && local.codecs.includes(f.codec));
  if (!chosen?.codec) return 'no_codec';
  return {
    srtp,
    codec: chosen.codec,
    payloadType: chosen.pt,
    dtmfPayloadType: parsed.dtmfPt,
    remoteHost: parsed.host,
    remotePort: parsed.port,
    direction: parsed.direction,
    ...(parsed.cnPt !== undefined ? { cnPayloadType: parsed.cnPt } : {}),
  };
}

/** RFC 3264 §6: answer an offer, choosing the first of the offerer's codecs we speak. */
export function answerOffer(offer: string, local: LocalMedia): AnswerResult {
  const negotiated = negotiate(offer, local);
  const media =
    typeof negotiated === 'string' || local.telephoneEvent !== false
      ? negotiated
      : { ...negotiated, dtmfPayloadType: undefined };
  if (media === 'no_audio') return { ok: false, status: 488, reason: 'No usable audio stream' };
  if (media === 'bad_port') return { ok: false, status: 488, reason: 'Bad media port' };
  if (media === 'bad_address') return { ok: false, status: 488, reason: 'Bad connection address' };
  if (media === 'no_codec') return { ok: false, status: 488, reason: 'No common codec' };
  if (media === 'bad_protocol')
    return { ok: false, status: 488, reason: 'Unsupported media protocol', srtp: true };
  if (typeof media === 'string') return { ok: false, status: 488, reason: SRTP_REASONS[media], srtp: true };
  const sdp = describe(
    local,
    [{ codec: media.codec, pt: media.payloadType }],
    media.dtmfPayloadType,
    mirror[media.direction],
    media.cnPayloadType,
    media.srtp ? { tag: media.srtp.tag, key: local.sdesKey! } : undefined,
  );
  return { ok: true, sdp, media };
}

const SRTP_REASONS: Record<SrtpError, string> = {
  srtp_off: 'SRTP not enabled',
  srtp_required: 'SRTP required',
  no_crypto: 'No supported crypto suite',
  mki: 'SRTP MKI not supported',
  srtp_mismatch: 'Media protocol differs from the offer',
};

/** Reads the answer to our offer (RFC 3264 §7); undefined when it is unusable. */
export function readAnswer(answer: string, local: LocalMedia): MediaParams | undefined {
  const media = checkAnswer(answer, local);
  return 'reason' in media ? undefined : media;
}

/** readAnswer with the reason an answer is unusable (for the warn line). */
export function checkAnswer(
  answer: string,
  local: LocalMedia,
): MediaParams | { reason: string; srtp: boolean } {
  const media = negotiate(answer, local, true);
  if (typeof media !== 'string') return media;
  const srtp = media in SRTP_REASONS || media === 'bad_protocol';
  return { reason: srtp ? (SRTP_REASONS[media as SrtpError] ?? 'Unsupported media protocol') : media, srtp };
}
