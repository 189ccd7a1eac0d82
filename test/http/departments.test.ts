import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { anonymous, call, useServer } from './helpers.ts';

interface Department {
  id: number;
  code: string;
  name: string;
  strategy: string;
  maxWaitSeconds: number;
}

describe('departments API', () => {
  let server: Server;
  useServer((s) => (server = s));

  it('401 without a token', async () => {
    expect((await anonymous(server, 'GET', '/api/v1/companies/1/departments')).status).toBe(401);
  });

  it('lists the demo departments', async () => {
    const r = await call<{ departments: Department[] }>(server, 'GET', '/api/v1/companies/1/departments');
    expect(r.status).toBe(200);
    expect(r.body.departments.map((d) => d.code)).toEqual(['101', '102']);
  });

  it('creates, reads, changes and deletes a department by its code', async () => {
    const created = await call<Department>(server, 'POST', '/api/v1/companies/1/departments', {
      code: '103',
      name: 'Billing',
      strategy: 'round_robin',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      code: '103',
      name: 'Billing',
      strategy: 'round_robin',
      maxWaitSeconds: 600,
    });
    expect((await call<Department>(server, 'GET', '/api/v1/companies/1/departments/103')).body.name).toBe(
      'Billing',
    );
    const changed = await call<Department>(server, 'PATCH', '/api/v1/companies/1/departments/103', {
      maxWaitSeconds: 120,
      overflow: { kind: 'department', code: '101' },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.maxWaitSeconds).toBe(120);
    expect((await call(server, 'DELETE', '/api/v1/companies/1/departments/103')).status).toBe(204);
    expect((await call(server, 'GET', '/api/v1/companies/1/departments/103')).status).toBe(404);
  });

  it('409 for a code the company already has', async () => {
    const r = await call(server, 'POST', '/api/v1/companies/1/departments', { code: '101', name: 'Again' });
    expect(r.status).toBe(409);
    expect(r.body.error?.code).toBe('conflict');
  });

  it('400 for a bad code, a missing name, an unknown strategy or field', async () => {
    expect(
      (await call(server, 'POST', '/api/v1/companies/1/departments', { code: '1', name: 'X' })).status,
    ).toBe(400);
    expect((await call(server, 'POST', '/api/v1/companies/1/departments', { code: '104' })).status).toBe(400);
    expect(
      (
        await call(server, 'POST', '/api/v1/companies/1/departments', {
          code: '104',
          name: 'X',
          strategy: 'random',
        })
      ).status,
    ).toBe(400);
    expect(
      (await call(server, 'PATCH', '/api/v1/companies/1/departments/101', { companyId: 2 })).status,
    ).toBe(400);
    expect((await call(server, 'GET', '/api/v1/companies/1/departments/1x1')).status).toBe(400);
  });

  it('404 for an unknown company or department', async () => {
    expect((await call(server, 'GET', '/api/v1/companies/99/departments')).status).toBe(404);
    expect(
      (await call(server, 'POST', '/api/v1/companies/99/departments', { code: '101', name: 'X' })).status,
    ).toBe(404);
    expect((await call(server, 'PATCH', '/api/v1/companies/1/departments/999', { name: 'X' })).status).toBe(
      404,
    );
    expect((await call(server, 'DELETE', '/api/v1/companies/1/departments/999')).status).toBe(404);
  });

  it('refuses to delete a department a hotline rings (409)', async () => {
    const r = await call(server, 'DELETE', '/api/v1/companies/1/departments/101');
    expect(r.status).toBe(409);
    expect(r.body.error?.message).toMatch(/\+74950000001/);
  });
});
