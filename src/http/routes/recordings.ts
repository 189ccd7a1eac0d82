import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { type Api, idParam } from '../api.ts';
import { found } from './found.ts';

/** A byte range of a file of `size` bytes, inclusive; null: serve it whole; 'unsatisfiable': 416. */
export function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  if (header === undefined) return null;
  // One range only; a list (or another unit) is served whole, as RFC 9110 §14.2 allows.
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    // bytes=-N: the last N bytes.
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** A call's recordings as WAV (issue 14 item 3), for the journey's player and downloads. */
export function recordingRoutes(api: Api, deps: HttpDeps): void {
  const { store } = deps;
  const params = z.object({ id: z.string().min(1).max(100), rid: idParam });

  api.route({
    method: 'GET',
    url: '/api/v1/calls/:id/recordings/:rid',
    tag: 'calls',
    summary:
      "A call's recording: stereo G.711 WAV, the customer left and whoever they talked to right. Range requests (a single `Range: bytes=…`) get 206 with Content-Range.",
    // Seen by whoever may see the call: its company's supervisors and viewers.
    access: {
      level: 'read',
      company: async ({ params: p }) => (await store.calls.getCdr(p.id))?.companyId ?? null,
    },
    params,
    produces: 'audio/wav',
    statuses: {
      206: 'The requested bytes (Content-Range says which)',
      416: 'The range lies outside the file (Content-Range: bytes */size)',
    },
    handler: async ({ params: p, req, reply }) => {
      const rec = await store.recordings.getRecording(p.rid);
      const mine = found(rec && rec.callId === p.id ? rec : null, `no recording ${p.rid} of call ${p.id}`);
      const path = join(deps.recordingsDir, mine.file);
      const size = (await stat(path).catch(() => null))?.size;
      const file = found(size === undefined ? null : { size }, `recording ${p.rid} has no file`);
      const range = byteRange(req.headers.range, file.size);
      if (range === 'unsatisfiable') {
        reply.status(416).header('content-range', `bytes */${file.size}`);
        return { error: { code: 'range_not_satisfiable', message: `the file has ${file.size} bytes` } };
      }
      reply
        .header('content-type', 'audio/wav')
        .header('accept-ranges', 'bytes')
        .header('cache-control', 'private, no-store');
      if (range === null) {
        reply.header('content-length', file.size);
        return createReadStream(path);
      }
      reply
        .status(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
        .header('content-length', range.end - range.start + 1);
      return createReadStream(path, { start: range.start, end: range.end });
    },
  });
}
