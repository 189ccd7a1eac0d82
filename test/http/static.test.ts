import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { staticRoutes } from '../../src/http/static.ts';
import { useServer } from './helpers.ts';

describe('web console files', () => {
  describe('served by the server (web/dist, built by the test setup)', () => {
    let server: Server;
    useServer((s) => (server = s));

    it('GET / is the console page, no token needed, with its bundle under /assets', async () => {
      const res = await fetch(`http://127.0.0.1:${server.httpPort}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const js = await fetch(`http://127.0.0.1:${server.httpPort}${script}`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
      expect(js.headers.get('cache-control')).toMatch(/immutable/);
    });
  });

  describe('the handler', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'agentline-web-'));
    const app = Fastify();
    beforeAll(async () => {
      mkdirSync(path.join(root, 'assets'));
      writeFileSync(path.join(root, 'assets', 'a.css'), 'body{}');
      writeFileSync(path.join(tmpdir(), 'agentline-secret.txt'), 'TOP-SECRET-CONTENT');
      staticRoutes(app, root);
      app.setErrorHandler((err: Error & { status?: number; code?: string }, _req, reply) =>
        reply.status(err.status ?? 500).send({ error: { code: err.code, message: err.message } }),
      );
      await app.ready();
    });
    afterAll(async () => {
      await app.close();
      rmSync(root, { recursive: true, force: true });
      rmSync(path.join(tmpdir(), 'agentline-secret.txt'), { force: true });
    });

    it('answers 503 with a hint when the console is not built', async () => {
      const r = await app.inject({ url: '/' });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ error: { code: 'console_not_built' } });
    });
    it('serves assets with their type, 404 for missing ones', async () => {
      expect((await app.inject({ url: '/assets/a.css' })).headers['content-type']).toMatch(/^text\/css/);
      expect((await app.inject({ url: '/assets/b.css' })).statusCode).toBe(404);
    });
    it('never leaves its folder', async () => {
      for (const url of [
        '/assets/../../agentline-secret.txt',
        '/assets/%2e%2e/%2e%2e/agentline-secret.txt',
        '/assets/..%2f..%2fagentline-secret.txt',
      ]) {
        const r = await app.inject({ url });
        expect(r.statusCode).toBe(404);
        expect(r.body).not.toContain('TOP-SECRET-CONTENT');
      }
    });
  });
});
