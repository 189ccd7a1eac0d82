import { describe, expect, it, vi } from 'vitest';
import type { Server } from '../../src/server.ts';
import { anonymous, call, useServer } from './helpers.ts';

describe('numbers API', () => {
  let server: Server;
  useServer((s) => (server = s));

  it('401 without a token', async () => {
    expect((await anonymous(server, 'GET', '/api/v1/numbers')).status).toBe(401);
  });

  it('lists all numbers, or those of one company', async () => {
    const all = await call<{ numbers: { number: string; kind: string }[] }>(server, 'GET', '/api/v1/numbers');
    expect(all.body.numbers.map((n) => n.number)).toEqual(['+74950000001', '+74950000002', '+79262951361']);
    const demo = await call<{ numbers: unknown[] }>(server, 'GET', '/api/v1/numbers?companyId=1');
    expect(demo.body.numbers).toHaveLength(2);
  });

  it('adds, reads, re-routes and removes a hotline', async () => {
    const created = await call(server, 'POST', '/api/v1/numbers', {
      number: '+74950000003',
      kind: 'hotline',
      companyId: 1,
      department: '101',
    });
    expect(created.status).toBe(201);
    expect((await call(server, 'GET', '/api/v1/numbers/+74950000003')).body).toEqual({
      number: '+74950000003',
      kind: 'hotline',
      companyId: 1,
      department: '101',
    });
    const moved = await call(server, 'PATCH', '/api/v1/numbers/%2B74950000003', { department: '102' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ number: '+74950000003', department: '102' });
    expect((await server.store.directory.getNumber('+74950000003'))?.departmentId).toBe(2);
    expect((await call(server, 'DELETE', '/api/v1/numbers/+74950000003')).status).toBe(204);
    expect((await call(server, 'GET', '/api/v1/numbers/+74950000003')).status).toBe(404);
  });

  it('409 for a number that exists', async () => {
    expect(
      (
        await call(server, 'POST', '/api/v1/numbers', {
          number: '+74950000001',
          kind: 'hotline',
          companyId: 1,
          department: '102',
        })
      ).status,
    ).toBe(409);
  });

  it('400: a hotline without a department, letters, an unknown department; 404 for unknown numbers', async () => {
    expect(
      (
        await call(server, 'POST', '/api/v1/numbers', {
          number: '+74950000009',
          kind: 'hotline',
          companyId: 1,
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call(server, 'POST', '/api/v1/numbers', {
          number: 'abc',
          kind: 'hotline',
          companyId: 1,
          department: '101',
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call(server, 'POST', '/api/v1/numbers', {
          number: '+74950000009',
          kind: 'hotline',
          companyId: 1,
          department: '999',
        })
      ).status,
    ).toBe(400);
    expect((await call(server, 'PATCH', '/api/v1/numbers/+70000000000', { department: '101' })).status).toBe(
      404,
    );
    expect((await call(server, 'DELETE', '/api/v1/numbers/+70000000000')).status).toBe(404);
  });
});

describe('SIP accounts API', () => {
  let server: Server;
  useServer((s) => (server = s));

  it('401 without a token', async () => {
    expect((await anonymous(server, 'GET', '/api/v1/sip-accounts')).status).toBe(401);
  });

  it('creates an account with a password, reloads the registrar, never returns a secret', async () => {
    const reload = vi.spyOn(server, 'loadSipCredentials');
    const r = await call(server, 'POST', '/api/v1/sip-accounts', {
      username: 'anna',
      password: 'secret-pass',
      agentLogin: '1001',
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      username: 'anna',
      realm: 'agentline',
      agentLogin: '1001',
      algorithms: ['MD5'],
      srtp: 'optional',
    });
    expect(reload).toHaveBeenCalledTimes(1);
    const list = await call(server, 'GET', '/api/v1/sip-accounts');
    expect(JSON.stringify(list.body)).not.toMatch(/ha1|secret-pass/i);
    expect((await server.store.directory.getSipAccount('anna', 'agentline'))?.agentId).not.toBeNull();
  });

  it('changes the password (reload again), deletes the account (204, reload), then 404', async () => {
    const reload = vi.spyOn(server, 'loadSipCredentials');
    reload.mockClear();
    const before = await server.store.directory.getSipAccount('anna', 'agentline');
    expect(
      (await call(server, 'PATCH', '/api/v1/sip-accounts/anna', { password: 'another-pass' })).status,
    ).toBe(200);
    expect((await server.store.directory.getSipAccount('anna', 'agentline'))?.ha1Md5).not.toBe(
      before?.ha1Md5,
    );
    expect((await call(server, 'DELETE', '/api/v1/sip-accounts/anna')).status).toBe(204);
    expect(reload).toHaveBeenCalledTimes(2);
    expect((await call(server, 'GET', '/api/v1/sip-accounts/anna')).status).toBe(404);
    expect((await call(server, 'DELETE', '/api/v1/sip-accounts/anna')).status).toBe(404);
  });

  it("sets an account's digest algorithms, keeps them across a new password, resets them with null", async () => {
    const r = await call(server, 'POST', '/api/v1/sip-accounts', {
      username: 'gleb',
      password: 'secret-pass',
      algorithms: ['SHA-256', 'MD5'],
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ algorithms: ['SHA-256', 'MD5'] });
    const again = await call(server, 'PATCH', '/api/v1/sip-accounts/gleb', { password: 'other-pass' });
    expect(again.body).toMatchObject({ algorithms: ['SHA-256', 'MD5'] });
    const reset = await call(server, 'PATCH', '/api/v1/sip-accounts/gleb', { algorithms: null });
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ algorithms: ['MD5'] });
    expect((await server.store.directory.getSipAccount('gleb', 'agentline'))?.algorithms).toBeNull();
    for (const algorithms of [[], ['SHA-1'], ['MD5', 'MD5']])
      expect((await call(server, 'PATCH', '/api/v1/sip-accounts/gleb', { algorithms })).status).toBe(400);
  });

  it("sets an account's SRTP policy (kept across a new password); 400 for an unknown one", async () => {
    const r = await call(server, 'POST', '/api/v1/sip-accounts', {
      username: 'dina',
      password: 'secret-pass',
      srtp: 'mandatory',
    });
    expect(r.body).toMatchObject({ srtp: 'mandatory' });
    const again = await call(server, 'PATCH', '/api/v1/sip-accounts/dina', { password: 'other-pass' });
    expect(again.body).toMatchObject({ srtp: 'mandatory' });
    expect((await call(server, 'PATCH', '/api/v1/sip-accounts/dina', { srtp: 'off' })).body).toMatchObject({
      srtp: 'off',
    });
    expect((await server.store.directory.getSipAccount('dina', 'agentline'))?.srtp).toBe('off');
    expect((await call(server, 'PATCH', '/api/v1/sip-accounts/dina', { srtp: 'sdes' })).status).toBe(400);
  });

  it('409 for a taken username; 400 for a short password, a bad username or an unknown agent', async () => {
    await call(server, 'POST', '/api/v1/sip-accounts', { username: 'boris', password: 'secret-pass' });
    expect(
      (await call(server, 'POST', '/api/v1/sip-accounts', { username: 'boris', password: 'secret-pass' }))
        .status,
    ).toBe(409);
    expect(
      (await call(server, 'POST', '/api/v1/sip-accounts', { username: 'vera', password: '123' })).status,
    ).toBe(400);
    expect(
      (await call(server, 'POST', '/api/v1/sip-accounts', { username: 'a b', password: 'secret-pass' }))
        .status,
    ).toBe(400);
    expect(
      (
        await call(server, 'POST', '/api/v1/sip-accounts', {
          username: 'vera',
          password: 'secret-pass',
          agentLogin: '9999',
        })
      ).status,
    ).toBe(400);
  });
});
