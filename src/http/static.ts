import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HttpError } from './errors.ts';

/** The console's build output (`npm run build:web`). */
export const DEFAULT_WEB_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'web',
  'dist',
);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * Serves the web console: `/` is `index.html`, `/assets/*` the hashed bundles
 * Vite writes (cached for a year). Nothing else is read from disk, and a path
 * can never leave `root`.
 */
export function staticRoutes(app: FastifyInstance, root = DEFAULT_WEB_ROOT): void {
  const send = async (reply: FastifyReply, file: string, cache: string): Promise<FastifyReply> => {
    const full = path.resolve(root, file);
    if (!full.startsWith(root + path.sep)) throw new HttpError(404, 'not_found', 'no such file');
    const info = await stat(full).catch(() => null);
    if (!info?.isFile()) {
      if (file === 'index.html') {
        throw new HttpError(
          503,
          'console_not_built',
          'the web console is not built: run `npm run build:web`',
        );
      }
      throw new HttpError(404, 'not_found', 'no such file');
    }
    return reply
      .header('content-type', TYPES[path.extname(full)] ?? 'application/octet-stream')
      .header('cache-control', cache)
      .header('x-content-type-options', 'nosniff')
      .send(await readFile(full));
  };

  // The console's files hold no data: the page signs in before it asks for any.
  const config = { auth: 'public' } as const;
  app.get('/', { config }, async (_req, reply) => send(reply, 'index.html', 'no-cache'));
  app.get('/index.html', { config }, async (_req, reply) => send(reply, 'index.html', 'no-cache'));
  app.get<{ Params: { '*': string } }>('/assets/*', { config }, async (req, reply) =>
    send(reply, path.posix.join('assets', req.params['*']), 'public, max-age=31536000, immutable'),
  );
  app.get('/favicon.svg', { config }, async (_req, reply) =>
    send(reply, 'favicon.svg', 'public, max-age=86400'),
  );
}
