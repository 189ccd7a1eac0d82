import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Server } from '../../src/server.ts';
import { sha256Hex } from '../../src/store/secrets.ts';
import { SseClient, call, callAs, createUser, eventually, signIn, startServer } from './helpers.ts';

/** Users, roles, tokens, sessions, throttling and the audit log over real HTTP (issue 11). */

const ADMIN = { authorization: 'Bearer test-token-123' };

describe('console sessions', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer();
    await createUser(server, { username: 'Alice', password: 'alice-password-1', role: 'admin' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('signs in with username and password: an HttpOnly, SameSite=Strict cookie, no secret in the body', async () => {
    const r = await callAs<Record<string, unknown>>(server, {}, 'POST', '/api/v1/session', {
      username: 'alice',
      password: 'alice-password-1',
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ kind: 'user', name: 'alice', role: 'admin', companyIds: [] });
    const cookie = r.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^agentline_session=[A-Za-z0-9_-]{43}; /);
    for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200'])
      expect(cookie).toContain(attr);
    expect(cookie).not.toContain('Secure'); // plain http on loopback; https adds it
  });

  it('GET says who you are; DELETE signs out and the cookie stops working', async () => {
    const cookie = await signIn(server, 'alice', 'alice-password-1');
    expect((await callAs(server, { cookie }, 'GET', '/api/v1/session')).body).toMatchObject({
      name: 'alice',
    });
    expect((await callAs(server, { cookie }, 'GET', '/api/v1/agents')).status).toBe(200);
    const out = await callAs(server, { cookie }, 'DELETE', '/api/v1/session');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^agentline_session=; .*Max-Age=0/);
    expect((await callAs(server, { cookie }, 'GET', '/api/v1/session')).status).toBe(401);
    expect((await callAs(server, { cookie }, 'GET', '/api/v1/agents')).status).toBe(401);
  });

  it('wrong password or unknown user: the same 401', async () => {
    const wrong = await callAs(server, {}, 'POST', '/api/v1/session', {
      username: 'alice',
      password: 'nope-nope-nope',
    });
    const unknown = await callAs(server, {}, 'POST', '/api/v1/session', {
      username: 'bob',
      password: 'nope-nope-nope',
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
  });

  it('a cookie-borne change from another origin is refused', async () => {
    const cookie = await signIn(server, 'alice', 'alice-password-1');
    const r = await callAs(
      server,
      { cookie, origin: 'https://evil.example' },
      'POST',
      '/api/v1/agents/1001/state',
      {
        state: 'ready',
      },
    );
    expect(r.status).toBe(403);
    const same = await callAs(
      server,
      { cookie, origin: `http://127.0.0.1:${server.httpPort}` },
      'POST',
      '/api/v1/agents/1001/state',
      { state: 'ready' },
    );
    expect(same.status).toBe(200);
  });

  it('a new password ends the user’s sessions', async () => {
    const { id } = await createUser(server, {
      username: 'carol',
      password: 'carol-password-1',
      role: 'viewer',
    });
    const cookie = await signIn(server, 'carol', 'carol-password-1');
    expect(
      (await call(server, 'PATCH', `/api/v1/users/${id}`, { password: 'carol-password-2' })).status,
    ).toBe(200);
    expect((await callAs(server, { cookie }, 'GET', '/api/v1/session')).status).toBe(401);
    await signIn(server, 'carol', 'carol-password-2');
  });
});

describe('API tokens', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('created with a role and shown once, listed without the secret, revoked at once', async () => {
    const created = await call<{ id: number; secret: string; role: string }>(
      server,
      'POST',
      '/api/v1/tokens',
      {
        name: 'wallboard',
        role: 'viewer',
        companyIds: [1],
      },
    );
    expect(created.status).toBe(201);
    const { id, secret } = created.body;
    expect(secret).toMatch(/^alt_[A-Za-z0-9_-]{43}$/);
    const bearer = { authorization: `Bearer ${secret}` };

    const list = await call<{ tokens: Record<string, unknown>[] }>(server, 'GET', '/api/v1/tokens');
    expect(list.body.tokens).toHaveLength(1);
    expect(list.body.tokens[0]).toMatchObject({
      name: 'wallboard',
      role: 'viewer',
      companyIds: [1],
      createdBy: 'admin-token:admin-token',
    });
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(JSON.stringify(list.body)).not.toContain(sha256Hex(secret));

    expect((await callAs(server, bearer, 'GET', '/api/v1/agents?companyId=1')).status).toBe(200);
    expect(
      (await callAs(server, bearer, 'POST', '/api/v1/agents/1001/state', { state: 'ready' })).status,
    ).toBe(403);
    expect((await callAs(server, bearer, 'GET', '/api/v1/session')).body).toMatchObject({
      kind: 'token',
      name: 'wallboard',
    });
    const used = await call<{ tokens: { lastUsedAt: string | null }[] }>(server, 'GET', '/api/v1/tokens');
    expect(used.body.tokens[0]?.lastUsedAt).not.toBeNull();

    expect((await call(server, 'DELETE', `/api/v1/tokens/${id}`)).status).toBe(204);
    expect((await callAs(server, bearer, 'GET', '/api/v1/agents?companyId=1')).status).toBe(401);
    expect((await call(server, 'DELETE', `/api/v1/tokens/${id}`)).status).toBe(404);
  });

  it('parallel requests with valid tokens are never throttled (only failures count)', async () => {
    const { body } = await call<{ secret: string }>(server, 'POST', '/api/v1/tokens', {
      name: 'busy',
      role: 'viewer',
      companyIds: [1],
    });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        callAs(
          server,
          i % 2 ? ADMIN : { authorization: `Bearer ${body.secret}` },
          'GET',
          '/api/v1/agents?companyId=1',
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(100).fill(200));
  });

  it('the store keeps only SHA-256 hashes of tokens and of the admin token', async () => {
    const { body } = await call<{ secret: string }>(server, 'POST', '/api/v1/tokens', {
      name: 'ci',
      role: 'admin',
    });
    const tokens = await server.store.access.listTokens();
    expect(JSON.stringify(tokens)).not.toContain(body.secret);
    expect(await server.store.auth.getSetting('admin_token')).toBeNull();
  });
});

describe('a fresh database: generated admin token and first admin user, shown once, stored hashed', () => {
  it('prints both once; they work; a restart prints nothing and they still work', async () => {
    const { tempDir } = await import('../../src/store/test-helpers.ts');
    const { dir, cleanup } = tempDir();
    const db = `${dir}/agentline.db`;
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    let server: Server | undefined;
    try {
      server = await startServer({ db, adminToken: undefined });
      const out = lines.join('');
      const token = /admin token \(shown once\): (\S+)/.exec(out)?.[1];
      const password = /console user "admin", password \(shown once\): (\S+)/.exec(out)?.[1];
      expect(token).toBeDefined();
      expect(password).toBeDefined();
      expect(await server.store.auth.getSetting('admin_token_sha256')).toBe(sha256Hex(token ?? ''));
      expect(
        (await callAs(server, { authorization: `Bearer ${token}` }, 'GET', '/api/v1/users')).status,
      ).toBe(200);
      const cookie = await signIn(server, 'admin', password ?? '');
      expect((await callAs(server, { cookie }, 'GET', '/api/v1/users')).status).toBe(200);
      await server.stop();

      lines.length = 0;
      server = await startServer({ db, adminToken: undefined });
      expect(lines.join('')).not.toMatch(/shown once/);
      expect(
        (await callAs(server, { authorization: `Bearer ${token}` }, 'GET', '/api/v1/users')).status,
      ).toBe(200);
      await signIn(server, 'admin', password ?? '');
    } finally {
      spy.mockRestore();
      await server?.stop();
      cleanup();
    }
  });
});

describe('roles and company scope over HTTP', () => {
  let server: Server;
  let b: number;
  let sup: string;
  let viewer: string;
  beforeAll(async () => {
    server = await startServer();
    // Company B with one department, agent and hotline; company A is the demo company (id 1).
    b = (await call<{ id: number }>(server, 'POST', '/api/v1/companies', { name: 'B' })).body.id;
    await call(server, 'POST', `/api/v1/companies/${b}/departments`, { code: '201', name: 'B sales' });
    await call(server, 'POST', '/api/v1/agents', {
      companyId: b,
      login: '2001',
      name: 'B agent',
      shortNumber: '21',
      contact: '+79000002001',
      pin: '4826',
    });
    await server.store.calls.insertCdr({ id: 'cdr-a', startedAt: Date.now() - 60_000, companyId: 1 });
    await server.store.calls.insertCdr({ id: 'cdr-b', startedAt: Date.now() - 60_000, companyId: b });
    await createUser(server, {
      username: 'sup-a',
      password: 'sup-a-password',
      role: 'supervisor',
      companyIds: [1],
    });
    await createUser(server, {
      username: 'view-a',
      password: 'view-a-password',
      role: 'viewer',
      companyIds: [1],
    });
    sup = await signIn(server, 'sup-a', 'sup-a-password');
    viewer = await signIn(server, 'view-a', 'view-a-password');
  });
  afterAll(async () => {
    await server.stop();
  });

  const as = (cookie: string, method: string, path: string, body?: unknown) =>
    callAs(server, { cookie }, method, path, body);

  it("a supervisor of A reads A's board, agents, departments, calls and reports", async () => {
    for (const path of [
      '/api/v1/companies/1',
      '/api/v1/companies/1/settings',
      '/api/v1/companies/1/departments',
      '/api/v1/companies/1/departments/101',
      '/api/v1/agents/1001',
      '/api/v1/agents?companyId=1',
      '/api/v1/calls?companyId=1',
      '/api/v1/calls/live',
      '/api/v1/queues',
      '/api/v1/reports/summary',
      '/api/v1/numbers',
    ])
      expect((await as(sup, 'GET', path)).status, path).toBe(200);
  });

  it("…and gets 403 on B's agents, calls, settings, departments and events", async () => {
    for (const path of [
      `/api/v1/companies/${b}`,
      `/api/v1/companies/${b}/settings`,
      `/api/v1/companies/${b}/departments`,
      `/api/v1/companies/${b}/departments/201`,
      '/api/v1/agents/2001',
      `/api/v1/agents?companyId=${b}`,
      `/api/v1/calls?companyId=${b}`,
      `/api/v1/calls.csv?companyId=${b}`,
      `/api/v1/calls/live?companyId=${b}`,
      `/api/v1/queues?companyId=${b}`,
      `/api/v1/reports/summary?companyId=${b}`,
      `/api/v1/numbers?companyId=${b}`,
      `/api/v1/events?companyId=${b}`,
    ])
      expect((await as(sup, 'GET', path)).status, path).toBe(403);
    expect((await as(sup, 'POST', '/api/v1/agents/2001/state', { state: 'ready' })).status).toBe(403);
    const force = { state: 'logged_out', force: true };
    expect((await as(sup, 'POST', '/api/v1/agents/2001/state', force)).status).toBe(403);
    expect((await as(sup, 'POST', `/api/v1/calls/x/hangup?companyId=${b}`)).status).toBe(403);
    expect(
      (await as(sup, 'PATCH', `/api/v1/companies/${b}/settings`, { allowedDestinations: ['*'] })).status,
    ).toBe(403);
  });

  it("a call's journey: A's for the supervisor of A, B's is unknown to them (404)", async () => {
    expect((await as(sup, 'GET', '/api/v1/calls/cdr-a')).status).toBe(200);
    expect((await as(sup, 'GET', '/api/v1/calls/cdr-b')).status).toBe(404);
    expect((await call(server, 'GET', '/api/v1/calls/cdr-b')).status).toBe(200);
  });

  it('lists without a company show only A', async () => {
    const companies = await as(sup, 'GET', '/api/v1/companies');
    expect((companies.body as { companies: { id: number }[] }).companies.map((c) => c.id)).toEqual([1]);
    const agents = (await as(sup, 'GET', '/api/v1/agents')).body as { agents: { companyId: number }[] };
    expect(agents.agents.length).toBe(4);
    expect(agents.agents.every((a) => a.companyId === 1)).toBe(true);
    const calls = (await as(sup, 'GET', '/api/v1/calls')).body as { calls: { id: string }[] };
    expect(calls.calls.map((c) => c.id)).toEqual(['cdr-a']);
    const csv = await fetch(`http://127.0.0.1:${server.httpPort}/api/v1/calls.csv`, {
      headers: { cookie: sup },
    });
    expect(await csv.text()).not.toContain('cdr-b');
  });

  it("the event stream without a company carries only A's events", async () => {
    const { status, client } = await SseClient.open(server, '/api/v1/events', { cookie: sup });
    try {
      expect(status).toBe(200);
      await eventually(() => client.comments.includes('connected'));
      await call(server, 'POST', '/api/v1/agents/2001/state', { state: 'ready' });
      await call(server, 'POST', '/api/v1/agents/1003/state', { state: 'ready' });
      await eventually(() => client.of('agent').length >= 1, 2000, 'A event');
      expect(client.of<{ login: string }>('agent').map((e) => e.login)).toEqual(['1003']);
    } finally {
      await client.close();
    }
  });

  it("a supervisor changes A's agents' state; cannot create users, tokens, SIP accounts, numbers or companies", async () => {
    expect((await as(sup, 'POST', '/api/v1/agents/1001/state', { state: 'ready' })).status).toBe(200);
    for (const [path, body] of [
      ['/api/v1/users', { username: 'x', password: 'xxxxxxxxxxxx', role: 'admin' }],
      ['/api/v1/tokens', { name: 'x', role: 'admin' }],
      ['/api/v1/sip-accounts', { username: 'trunk', password: 'secret-pw' }],
      ['/api/v1/numbers', { number: '+74950000099', kind: 'hotline', companyId: 1, department: '101' }],
      ['/api/v1/companies', { name: 'C' }],
      ['/api/v1/companies/1/departments', { code: '199', name: 'x' }],
      ['/api/v1/agents/1001/pin', { pin: '4826' }],
    ] as const)
      expect((await as(sup, 'POST', path, body)).status, path).toBe(403);
    for (const path of ['/api/v1/users', '/api/v1/tokens', '/api/v1/audit', '/api/v1/sip-accounts'])
      expect((await as(sup, 'GET', path)).status, path).toBe(403);
    expect((await as(sup, 'PATCH', '/api/v1/companies/1/settings', { ringSeconds: 30 })).status).toBe(403);
    expect((await as(sup, 'DELETE', '/api/v1/agents/1004')).status).toBe(403);
  });

  it('a viewer reads A and changes nothing', async () => {
    expect((await as(viewer, 'GET', '/api/v1/agents/1001')).status).toBe(200);
    expect((await as(viewer, 'GET', '/api/v1/agents/2001')).status).toBe(403);
    expect((await as(viewer, 'POST', '/api/v1/agents/1001/state', { state: 'not_ready' })).status).toBe(403);
    expect((await as(viewer, 'POST', '/api/v1/calls/x/hangup')).status).toBe(403);
  });

  it('a supervisor may end live calls of A: an unknown (or ended) one is a 404', async () => {
    expect((await as(sup, 'POST', '/api/v1/calls/cdr-a/hangup')).status).toBe(404);
    expect((await as(sup, 'POST', '/api/v1/calls/x/hangup?companyId=1')).status).toBe(404);
  });

  it('every change is an audit row (who, what, when), readable by admins only', async () => {
    const { body } = await call<{ entries: Record<string, unknown>[] }>(
      server,
      'GET',
      '/api/v1/audit?limit=1000',
    );
    const rows = body.entries;
    expect(
      rows.find((r) => r.actor === 'sup-a' && r.route === '/api/v1/agents/:login/state' && r.status === 200),
    ).toMatchObject({ actorKind: 'user', method: 'POST', params: { login: '1001' }, source: '127.0.0.1' });
    expect(rows.find((r) => r.actor === 'sup-a' && r.route === '/api/v1/users')).toMatchObject({
      status: 403,
    });
    expect(rows.find((r) => r.route === '/api/v1/agents' && r.method === 'POST')).toMatchObject({
      actorKind: 'admin-token',
      status: 201,
    });
    expect(rows.filter((r) => r.route === '/api/v1/session' && r.actor === 'sup-a')).toHaveLength(1);
    expect(typeof rows[0]?.at).toBe('string');
    expect(JSON.stringify(rows)).not.toMatch(/password|4826/);
    // Reads are not changes.
    expect(rows.some((r) => r.method === 'GET')).toBe(false);
  });
});

describe('throttling of failed sign-ins and wrong tokens', () => {
  let server: Server;
  const logLines: string[] = [];
  beforeAll(async () => {
    const logger = pino(
      { level: 'trace' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString());
          done();
        },
      }),
    );
    // The window is long enough that no test run can outlast it.
    server = await startServer({ logger, authThrottle: { failures: 10, windowMs: 3600_000 } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('300 wrong tokens at once: 10 are evaluated, the rest get 429 with Retry-After; then the right token too', async () => {
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        callAs(server, { authorization: `Bearer wrong-token-${i}` }, 'GET', '/api/v1/agents'),
      ),
    );
    const by = (s: number) => results.filter((r) => r.status === s);
    expect(by(401).length).toBeLessThanOrEqual(10);
    expect(by(429).length).toBeGreaterThanOrEqual(290);
    expect(by(401).length + by(429).length).toBe(300);
    const retry = Number(by(429)[0]?.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(3600);
    // The source is blocked, not the guess: a right answer would otherwise tell a guess apart.
    expect((await callAs(server, ADMIN, 'GET', '/api/v1/agents')).status).toBe(429);
    // …and sign-ins from it are blocked as well.
    expect(
      (await callAs(server, {}, 'POST', '/api/v1/session', { username: 'admin', password: 'x' })).status,
    ).toBe(429);
    expect(logLines.join('')).toContain('authentication throttled');
  });

  it('no secret in any log line', () => {
    const all = logLines.join('');
    expect(all).not.toContain('wrong-token-');
    expect(all).not.toContain('test-token-123');
  });
});

describe('throttling of parallel sign-ins', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer({ authThrottle: { failures: 10, windowMs: 3600_000 } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('100 wrong passwords at once: at most 10 are evaluated (the slot is taken before the hash is checked)', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        callAs(server, {}, 'POST', '/api/v1/session', { username: 'admin', password: `parallel-guess-${i}` }),
      ),
    );
    expect(results.filter((r) => r.status === 401).length).toBeLessThanOrEqual(10);
    expect(results.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(90);
  });
});

describe('throttling of sign-ins', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer({ authThrottle: { failures: 10, windowMs: 3600_000 } });
    await createUser(server, { username: 'dave', password: 'dave-password-1', role: 'viewer' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('after 10 wrong passwords the 11th attempt is 429, even with the right password', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await callAs(server, {}, 'POST', '/api/v1/session', {
        username: 'dave',
        password: `guess-${i}-guess`,
      });
      statuses.push(r.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    const right = await callAs(server, {}, 'POST', '/api/v1/session', {
      username: 'dave',
      password: 'dave-password-1',
    });
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
