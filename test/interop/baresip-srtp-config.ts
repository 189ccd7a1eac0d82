/**
 * A headless baresip 1.0.0 config for interop tests (INTEROP.md): no sound card, a WAV in
 * (aufile), WAV dumps of what it sent and received (sndfile), ctrl_tcp for commands, and
 * optionally SRTP with SDES (`srtp.so`, account `;mediaenc=srtp-mand`). Written to be reused
 * by other baresip tests (TLS + SRTP): the account line is built from the options.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeWav } from '../../src/media/wav.ts';
import { toneRatio } from '../../src/media/goertzel.ts';
import { LOOPBACK } from './tools.ts';

const RATE = 8000;
const FRAME = 160; // 20 ms

export interface BaresipPorts {
  /** SIP over UDP and TCP; baresip also takes TLS at sip+1. */
  sip: number;
  ctrl: number;
  rtpMin: number;
  rtpMax: number;
}

export interface BaresipOptions {
  /** 8 kHz mono s16 WAV it sends (aufile; the call ends at its end). */
  sourceWav: string;
  /** Where sndfile writes dump-…-enc.wav (sent) and dump-…-dec.wav (received); must exist. */
  dumpDir: string;
  /** SRTP: `srtp-mand` offers RTP/SAVP and takes nothing else; `srtp` is best effort. */
  mediaenc?: 'srtp' | 'srtp-mand';
  /** The account's address-of-record (default `<sip:interop@127.0.0.1>`). */
  aor?: string;
  /** More account parameters (`;auth_pass=…;outbound="sip:…"`), appended as given. */
  accountParams?: string;
  /** `regint`; 0 (default) = no REGISTER. */
  regint?: number;
  /** answermode (default manual: ctrl_tcp `accept` answers). */
  answermode?: 'manual' | 'auto';
  /** Extra config lines (e.g. `sip_certificate …` for TLS). */
  extraConfig?: string[];
}

/** Writes `config`, `accounts` and `contacts` into `dir`. */
export function writeBaresipConfig(dir: string, ports: BaresipPorts, o: BaresipOptions): void {
  const config = [
    'poll_method\t\tepoll',
    `sip_listen\t\t${LOOPBACK}:${ports.sip}`,
    'call_local_timeout\t30',
    'call_max_calls\t\t1',
    // No sound card: aubridge is a do-nothing device (player side); audio comes from the WAV.
    'audio_player\t\taubridge,nil',
    'audio_alert\t\taubridge,nil',
    `audio_source\t\taufile,${o.sourceWav}`,
    'ausrc_format\t\ts16',
    'auplay_format\t\ts16',
    'auenc_format\t\ts16',
    'audec_format\t\ts16',
    `rtp_ports\t\t${ports.rtpMin}-${ports.rtpMax}`,
    'rtp_timeout\t\t10',
    'module_path\t\t/usr/lib/baresip/modules',
    'module\t\t\tg711.so',
    'module\t\t\taufile.so',
    'module\t\t\taubridge.so',
    ...(o.mediaenc ? ['module\t\t\tsrtp.so'] : []),
    'module\t\t\tsndfile.so',
    'module_tmp\t\taccount.so',
    // menu registers the commands (dial, accept, hangup, quit) that ctrl_tcp runs.
    'module_app\t\tmenu.so',
    'module_app\t\tctrl_tcp.so',
    `ctrl_tcp_listen\t\t${LOOPBACK}:${ports.ctrl}`,
    `snd_path\t\t${o.dumpDir}`,
    ...(o.extraConfig ?? []),
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'config'), config);
  // PCMU only, so that both directions are G.711 μ-law.
  const params = [
    `regint=${o.regint ?? 0}`,
    `answermode=${o.answermode ?? 'manual'}`,
    'audio_codecs=pcmu',
    ...(o.mediaenc ? [`mediaenc=${o.mediaenc}`] : []),
  ];
  const account = `${o.aor ?? `<sip:interop@${LOOPBACK}>`};${params.join(';')}${o.accountParams ?? ''}\n`;
  writeFileSync(path.join(dir, 'accounts'), account);
  writeFileSync(path.join(dir, 'contacts'), '');
}

/** 8 kHz mono s16 WAV: `toneMs` of a sine at −12 dBFS, then silence (aufile ends the call at EOF). */
export function toneWav(freq: number, toneMs: number, totalMs: number): Buffer {
  const n = (RATE * totalMs) / 1000;
  const toneN = (RATE * toneMs) / 1000;
  const s = new Int16Array(n);
  for (let i = 0; i < toneN; i++) s[i] = Math.round(8192 * Math.sin((2 * Math.PI * freq * i) / RATE));
  return encodeWav(s, RATE);
}

/** How many 20 ms frames carry `freq` (≥ 90 % of their energy, not silence). */
export function toneFrameCount(samples: Int16Array, freq: number): { withTone: number; frames: number } {
  let withTone = 0;
  let frames = 0;
  for (let off = 0; off + FRAME <= samples.length; off += FRAME) {
    let energy = 0;
    for (let i = off; i < off + FRAME; i++) energy += samples[i]! * samples[i]!;
    const rms = Math.sqrt(energy / FRAME);
    frames++;
    if (rms > 1000 && toneRatio(samples, freq, RATE, off, FRAME) > 0.9) withTone++;
  }
  return { withTone, frames };
}
