import { isIP } from 'node:net';
import sdpTransform from 'sdp-transform';

/**
 * SDP offer/answer for one audio stream (RFC 3264, RFC 4566), parsed and
 * written with sdp-transform. We speak PCMU (0) and PCMA (8), plus RFC 4733
 * telephone-event at whatever payload type the offerer picked.
 */
export type AudioCodec = 'PCMU' | 'PCMA';
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
}

const STATIC_PT: Record<AudioCodec, number> = { PCMU: 0, PCMA: 8 };
const DEFAULT_DTMF_PT = 101;
const STATIC_CN_PT = 13;

export type AnswerResult =
  { ok: true; sdp: string; media: MediaParams } | { ok: false; status: 488 | 400; reason: string };

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
        protocol: 'RTP/AVP',
        payloads: rtp.map((r) => r.payload).join(' '),
        rtp,
        fmtp,
        ptime: 20,
        direction,
      },
    ],
  };
  return sdpTransform.write(session);
}

/** Our offer: every codec we speak and telephone-event 101. */
export function buildOffer(local: LocalMedia): string {
  return describe(
    local,
    local.codecs.map((codec) => ({ codec, pt: STATIC_PT[codec] })),
    local.telephoneEvent === false ? undefined : DEFAULT_DTMF_PT,
    'sendrecv',
    local.comfortNoise === true ? STATIC_CN_PT : undefined,
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
}

type ParseError = 'no_audio' | 'bad_port' | 'bad_address';

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
  return { host: ip, port: audio.port, formats, dtmfPt, direction, cnPt };
}

const mirror: Record<Direction, Direction> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

/** The far end's stream as we will use it: the first of its codecs that we speak. */
function negotiate(text: string, local: LocalMedia): MediaParams | ParseError | 'no_codec' {
  const parsed = parseAudio(text);
  if (typeof parsed === 'string') return parsed;
  const chosen = parsed.formats.find((f) => f.codec !== undefined && local.codecs.includes(f.codec));
  if (!chosen?.codec) return 'no_codec';
  return {
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
  const sdp = describe(
    local,
    [{ codec: media.codec, pt: media.payloadType }],
    media.dtmfPayloadType,
    mirror[media.direction],
    media.cnPayloadType,
  );
  return { ok: true, sdp, media };
}

/** Reads the answer to our offer (RFC 3264 §7). */
export function readAnswer(answer: string, local: LocalMedia): MediaParams | undefined {
  const media = negotiate(answer, local);
  return typeof media === 'string' ? undefined : media;
}
