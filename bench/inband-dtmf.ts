/**
 * CPU cost of the inband DTMF detector per leg-second: feeds the music on hold and
 * every shipped prompt (speech: the costly case, where the energy check often passes
 * and the extra filters run), then the same amount of silence, as 20 ms μ-law
 * payloads, and prints µs of CPU per second of audio and the share of one core
 * 1000 such legs would take.
 *
 *   npx tsx bench/inband-dtmf.ts [seconds of audio=600]
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ulawEncode } from '../src/media/codec/g711.ts';
import { InbandDtmfDetector } from '../src/media/dtmf/inband.ts';
import { parseWav } from '../src/media/wav.ts';

const SECONDS = Number(process.argv[2] ?? 600);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'prompts');
const files = [
  path.join(root, 'moh.wav'),
  ...['ru', 'en'].flatMap((l) =>
    readdirSync(path.join(root, l))
      .filter((f) => f.endsWith('.wav'))
      .map((f) => path.join(root, l, f)),
  ),
];
const chunks = files.map((f) => parseWav(readFileSync(f), f));
const total = chunks.reduce((n, c) => n + c.length, 0);
const audio = Buffer.alloc(total);
let o = 0;
for (const c of chunks) for (const s of c) audio[o++] = ulawEncode(s);

function run(label: string, source: Buffer): void {
  const det = new InbandDtmfDetector();
  let digits = 0;
  det.onDigit = () => digits++;
  const frames = Math.floor(source.length / 160);
  const need = SECONDS * 50;
  // Warm-up so the JIT has compiled the loops.
  for (let i = 0; i < Math.min(frames, 500); i++)
    det.feedPayload(source.subarray(i * 160, i * 160 + 160), 'PCMU');
  const t0 = process.cpuUsage();
  for (let n = 0; n < need; n++) {
    const i = n % frames;
    det.feedPayload(source.subarray(i * 160, i * 160 + 160), 'PCMU');
  }
  const cpu = process.cpuUsage(t0);
  const us = (cpu.user + cpu.system) / SECONDS;
  console.log(
    `${label}: ${us.toFixed(1)} µs CPU per leg-second (${(((us * 1000) / 1e6) * 100).toFixed(1)} % of a core for 1000 legs), ${digits} digits in ${SECONDS} s`,
  );
}

console.log(
  `inband DTMF detector, ${SECONDS} s of audio per case (${(total / 8000).toFixed(0)} s of prompts/music, looped)`,
);
run('prompts + music', audio);
run('silence', Buffer.alloc(160 * 50, 0xff));
