import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { startServer } from './helpers.ts';

/**
 * Deny by default (issue 11): every route of the OpenAPI document, its path written
 * every way a router or a proxy might read differently, with every method, answers
 * 401 without a token and with a wrong one — never 2xx, never a hint of what exists.
 */

interface Doc {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

/** Values for the path parameters (all exist in the demo company, so a bypass would answer 2xx). */
const PARAMS: Record<string, string> = {
  id: '1',
  code: '101',
  login: '1001',
  number: '+74950000001',
  username: 'agent1001',
  name: 'carrier',
  rid: '1',
};

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** One request with the path sent byte for byte as given (fetch would normalise it). */
function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? undefined : '{}';
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        agent: false,
        path,
        headers: {
          ...headers,
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
        },
      },
      (res) => {
        // A leak may be an endless event stream: do not wait for its end.
        if (res.statusCode !== 401) {
          res.destroy();
          return resolve({ status: res.statusCode ?? 0, body: '' });
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `/api/v1/agents/1001` → the spellings of the same path an attacker would try. */
export function variants(path: string): string[] {
  const segments = path.split('/').slice(1);
  const encodeFirst = (s: string): string =>
    s.length ? `%${s.charCodeAt(0).toString(16).padStart(2, '0')}${s.slice(1)}` : s;
  const encodeAll = (s: string): string =>
    [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');
  return [
    path,
    '/' + segments.map(encodeFirst).join('/'),
    '/' + segments.map(encodeAll).join('/'),
    path.replace('/api/', '/%61pi/'),
    path.toUpperCase(),
    path.replace('/api/', '/API/'),
    '/' + path,
    path.replace('/api/v1/', '/api//v1/'),
    path.replace(/\/([^/]*)$/, '//$1'),
    path + '/',
    path + '?x=1',
    path + '/.',
    path.replace('/api/', '/./api/'),
    path.replace('/api/v1/', '/api/v2/../v1/'),
    path + '%00',
    path + ';',
  ];
}

describe('every route is private unless it says it is public', () => {
  let server: Server;
  let doc: Doc;
  beforeAll(async () => {
    // The walk sends thousands of wrong tokens: raise the throttle here (its own test is in access.test.ts).
    server = await startServer({ authThrottle: { failures: 1_000_000, windowMs: 60_000 } });
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Doc;
  });
  afterAll(async () => {
    await server.stop();
  });

  const walk = async (headers: Record<string, string>): Promise<string[]> => {
    const leaks: string[] = [];
    let count = 0;
    for (const [template, ops] of Object.entries(doc.paths)) {
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
        const v = PARAMS[name];
        if (v === undefined) throw new Error(`no test value for {${name}}`);
        return encodeURIComponent(v);
      });
      for (const method of METHODS) {
        // A public operation (the document, signing in) answers however it is spelled: that is its job.
        const op = ops[method === 'HEAD' ? 'get' : method.toLowerCase()];
        if (op?.security?.length === 0) continue;
        for (const p of variants(path)) {
          count++;
          const r = await raw(server.httpPort, method, p, headers).catch((err: Error) => {
            throw new Error(`${method} ${p}: ${err.message}`);
          });
          if (r.status !== 401) leaks.push(`${method} ${p} → ${r.status} ${r.body.slice(0, 80)}`);
          else if (method !== 'HEAD')
            expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'unauthorized' } });
        }
      }
    }
    expect(count).toBeGreaterThan(1000);
    return leaks;
  };

  it('the document lists the routes, and only the document itself says it is public', () => {
    const publicOps = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.security?.length === 0)
        .map(([m]) => `${m} ${p}`),
    );
    expect(publicOps.sort()).toEqual(['get /api/v1/openapi.json', 'post /api/v1/session']);
    expect(Object.keys(doc.paths).length).toBeGreaterThanOrEqual(20);
  });

  it('without a token: 401 for every route, method and spelling', async () => {
    expect(await walk({})).toEqual([]);
  });

  it('with a wrong token: 401 for every route, method and spelling', async () => {
    expect(await walk({ authorization: 'Bearer wrong-token-456' })).toEqual([]);
  });

  it('a wrong token in the query is no token, on any route', async () => {
    for (const path of ['/api/v1/agents', '/api/v1/events', '/api/v1/companies/1/settings']) {
      const r = await raw(server.httpPort, 'GET', `${path}?token=wrong-token-456`, {});
      expect(r.status).toBe(401);
    }
  });

  it('an unknown path tells nothing without a token: 401, not 404, and no echo of the path', async () => {
    for (const path of ['/api/v1/nope', '/api/v9/agents', '/nope', '/api/v1/agents/1001/nope']) {
      const r = await raw(server.httpPort, 'GET', path, {});
      expect(r.status).toBe(401);
      expect(r.body).not.toContain('nope');
    }
  });

  it('the public routes stay public: /healthz, the console page, /metrics (no metrics token set)', async () => {
    for (const path of ['/healthz', '/', '/metrics']) {
      const r = await raw(server.httpPort, 'GET', path, {});
      expect(r.status).toBe(200);
    }
  });

  it('the right token still works on the encoded spelling (same route, same rule)', async () => {
    const r = await raw(server.httpPort, 'GET', '/%61pi/v1/agents/1001', {
      authorization: 'Bearer test-token-123',
    });
    expect(r.status).toBe(200);
  });
});

describe('/metrics with --metrics-token', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer({ metricsToken: 'metrics-secret-789' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('needs that token: none or the admin token is 401, the metrics token is 200', async () => {
    expect((await raw(server.httpPort, 'GET', '/metrics', {})).status).toBe(401);
    expect((await raw(server.httpPort, 'GET', '/%6detrics', {})).status).toBe(401);
    expect(
      (await raw(server.httpPort, 'GET', '/metrics', { authorization: 'Bearer test-token-123' })).status,
    ).toBe(401);
    const ok = await fetch(`http://127.0.0.1:${server.httpPort}/metrics`, {
      headers: { authorization: 'Bearer metrics-secret-789' },
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# TYPE agentline_legs gauge');
  });
});
