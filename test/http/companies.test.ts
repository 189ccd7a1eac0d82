import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { anonymous, call, useServer } from './helpers.ts';

interface Company {
  id: number;
  name: string;
  settings: Record<string, unknown> & { ringSeconds: number };
}

describe('companies and settings API', () => {
  let server: Server;
  useServer((s) => (server = s));

  describe('auth', () => {
    it('refuses a request without a token with 401 and the error shape', async () => {
      const r = await anonymous(server, 'GET', '/api/v1/companies');
      expect(r.status).toBe(401);
      expect(r.body.error?.code).toBe('unauthorized');
    });
    it('refuses a wrong token', async () => {
      expect((await anonymous(server, 'GET', '/api/v1/companies', 'nope')).status).toBe(401);
    });
    it('does not take ?token= outside the event stream', async () => {
      expect((await anonymous(server, 'GET', '/api/v1/companies?token=test-token-123')).status).toBe(401);
    });
    it('answers an unknown API path with a JSON 404', async () => {
      const r = await call(server, 'GET', '/api/v1/nothing');
      expect(r.status).toBe(404);
      expect(r.body.error?.code).toBe('not_found');
    });
  });

  it('lists the demo company with its settings', async () => {
    const r = await call<{ companies: Company[] }>(server, 'GET', '/api/v1/companies');
    expect(r.status).toBe(200);
    expect(r.body.companies[0]).toMatchObject({
      id: 1,
      name: 'Demo',
      settings: { ringSeconds: 20, language: 'ru' },
    });
  });

  it('creates, reads, renames and deletes a company', async () => {
    const created = await call<Company>(server, 'POST', '/api/v1/companies', {
      name: 'Acme',
      settings: { language: 'en' },
    });
    expect(created.status).toBe(201);
    expect(created.body.settings).toMatchObject({ language: 'en', ringSeconds: 20 });
    const id = created.body.id;
    expect((await call<Company>(server, 'GET', `/api/v1/companies/${id}`)).body.name).toBe('Acme');
    const renamed = await call<Company>(server, 'PATCH', `/api/v1/companies/${id}`, { name: 'Acme Ltd' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Acme Ltd');
    expect((await call(server, 'DELETE', `/api/v1/companies/${id}`)).status).toBe(204);
    expect((await call(server, 'GET', `/api/v1/companies/${id}`)).status).toBe(404);
    expect((await call(server, 'DELETE', `/api/v1/companies/${id}`)).status).toBe(404);
  });

  it('validates: empty name, unknown field, bad settings, bad id (400)', async () => {
    const empty = await call(server, 'POST', '/api/v1/companies', { name: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.error?.code).toBe('invalid_body');
    expect(empty.body.error?.message).toMatch(/name/);
    expect((await call(server, 'POST', '/api/v1/companies', { name: 'X', colour: 'red' })).status).toBe(400);
    expect(
      (await call(server, 'POST', '/api/v1/companies', { name: 'X', settings: { ringSeconds: 1 } })).status,
    ).toBe(400);
    const badId = await call(server, 'GET', '/api/v1/companies/abc');
    expect(badId.status).toBe(400);
    expect(badId.body.error?.code).toBe('invalid_params');
    expect((await call(server, 'PATCH', '/api/v1/companies/999', { name: 'Y' })).status).toBe(404);
  });

  it('rejects a body that is not JSON with 400', async () => {
    const r = await call(server, 'POST', '/api/v1/companies', undefined);
    const raw = await fetch(`http://127.0.0.1:${server.httpPort}/api/v1/companies`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-token-123', 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    expect(r.status).toBe(400);
  });

  it('refuses to delete a company whose agents are logged in (409)', async () => {
    await call(server, 'POST', '/api/v1/agents/1004/state', { state: 'ready' });
    const r = await call(server, 'DELETE', '/api/v1/companies/1');
    expect(r.status).toBe(409);
    expect(r.body.error?.code).toBe('conflict');
    await call(server, 'POST', '/api/v1/agents/1004/state', { state: 'logged_out' });
  });

  describe('settings', () => {
    it('reads them', async () => {
      const r = await call<Company['settings']>(server, 'GET', '/api/v1/companies/1/settings');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        externalTransfer: 'release_on_answer',
        announceNumber: 'stay_until_connected',
        wrapUpSeconds: 0,
        breakMinutes: 15,
      });
    });
    it('changes some and keeps the rest; the store has them at once', async () => {
      const r = await call<Company['settings']>(server, 'PATCH', '/api/v1/companies/1/settings', {
        ringSeconds: 30,
        externalTransfer: 'consult',
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ringSeconds: 30, externalTransfer: 'consult', breakMinutes: 15 });
      expect((await server.store.directory.getCompany(1))?.settings.ringSeconds).toBe(30);
    });
    it('validates with the store schema: out of range, unknown key, bad pattern (400)', async () => {
      const low = await call(server, 'PATCH', '/api/v1/companies/1/settings', { ringSeconds: 2 });
      expect(low.status).toBe(400);
      expect(low.body.error?.message).toMatch(/ringSeconds/);
      expect((await call(server, 'PATCH', '/api/v1/companies/1/settings', { colour: 'red' })).status).toBe(
        400,
      );
      expect(
        (await call(server, 'PATCH', '/api/v1/companies/1/settings', { allowedDestinations: ['+7abc'] }))
          .status,
      ).toBe(400);
      expect((await call(server, 'PATCH', '/api/v1/companies/1/settings', { language: 'de' })).status).toBe(
        400,
      );
    });
    it('404 for a company that does not exist', async () => {
      expect((await call(server, 'GET', '/api/v1/companies/999/settings')).status).toBe(404);
      expect(
        (await call(server, 'PATCH', '/api/v1/companies/999/settings', { ringSeconds: 30 })).status,
      ).toBe(404);
    });
  });
});
