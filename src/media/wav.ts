/**
 * WAV (RIFF) reading and writing for prompts and test recordings.
 *
 * Reads mono 8 kHz files in PCM 16-bit (format 1), A-law (format 6) or μ-law
 * (format 7), also inside WAVE_FORMAT_EXTENSIBLE (0xFFFE, sub-format in the first two
 * bytes of the GUID), into Int16Array. Anything else is rejected with an AppError
 * `invalid_input` naming what was found. Writes PCM 16-bit mono WAV.
 */

import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { AppError } from '../util/errors.ts';
import { alawDecode, ulawDecode } from './codec/g711.ts';

const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_ULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

function fail(message: string, source: string): never {
  throw new AppError('invalid_input', `${source}: ${message}`);
}

/** Decodes a WAV file held in `data` into 16-bit samples. `source` names it in errors. */
export function parseWav(data: Buffer, source = 'wav'): Int16Array {
  if (
    data.length < 12 ||
    data.toString('latin1', 0, 4) !== 'RIFF' ||
    data.toString('latin1', 8, 12) !== 'WAVE'
  ) {
    fail('not a RIFF/WAVE file', source);
  }
  let format = -1;
  let channels = 0;
  let rate = 0;
  let bits = 0;
  let dataOff = -1;
  let dataLen = 0;
  let off = 12;
  while (off + 8 <= data.length) {
    const id = data.toString('latin1', off, off + 4);
    const size = data.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > data.length) fail('truncated fmt chunk', source);
      format = data.readUInt16LE(body);
      channels = data.readUInt16LE(body + 2);
      rate = data.readUInt32LE(body + 4);
      bits = data.readUInt16LE(body + 14);
      if (format === FORMAT_EXTENSIBLE) {
        if (size < 40 || body + 26 > data.length) fail('truncated extensible fmt chunk', source);
        format = data.readUInt16LE(body + 24);
      }
    } else if (id === 'data') {
      dataOff = body;
      // Streamed writers leave size 0 or 0xffffffff: take what is there.
      dataLen = Math.min(size === 0 ? data.length - body : size, data.length - body);
      break;
    }
    off = body + size + (size & 1);
  }
  if (format < 0) fail('no fmt chunk', source);
  if (dataOff < 0) fail('no data chunk', source);
  if (channels !== 1) fail(`${channels} channels, need mono`, source);
  if (rate !== 8000) fail(`${rate} Hz, need 8000 Hz`, source);
  if (format === FORMAT_PCM) {
    if (bits !== 16) fail(`PCM ${bits}-bit, need 16-bit`, source);
    const n = dataLen >> 1;
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) out[i] = data.readInt16LE(dataOff + 2 * i);
    return out;
  }
  if (format === FORMAT_ALAW || format === FORMAT_ULAW) {
    if (bits !== 8) fail(`G.711 with ${bits} bits per sample, need 8`, source);
    const decode = format === FORMAT_ALAW ? alawDecode : ulawDecode;
    const out = new Int16Array(dataLen);
    for (let i = 0; i < dataLen; i++) out[i] = decode(data[dataOff + i]!);
    return out;
  }
  return fail(`format ${format} not supported (need PCM 16-bit, A-law or μ-law)`, source);
}

/** Reads and decodes a WAV file synchronously (start-up prompt loading, tests). */
export function readWav(path: string): Int16Array {
  return parseWav(readFileSync(path), path);
}

/** Reads and decodes a WAV file. */
export async function readWavFile(path: string): Promise<Int16Array> {
  return parseWav(await readFile(path), path);
}

/** Encodes samples as a PCM 16-bit mono WAV. */
export function encodeWav(samples: Int16Array, sampleRate = 8000): Buffer {
  const dataLen = samples.length * 2;
  const out = Buffer.alloc(44 + dataLen);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + dataLen, 4);
  out.write('WAVE', 8, 'latin1');
  out.write('fmt ', 12, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(FORMAT_PCM, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(dataLen, 40);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, 44 + 2 * i);
  return out;
}

/** Writes samples to a PCM 16-bit mono WAV file. */
export async function writeWavFile(path: string, samples: Int16Array, sampleRate = 8000): Promise<void> {
  await writeFile(path, encodeWav(samples, sampleRate));
}
