import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { call, useServer } from './helpers.ts';

/** Issue 11: the company setting `minPinLength` applies to PINs set through the API. */
describe('PIN rules in the API (minPinLength)', () => {
  let server: Server;
  useServer((s) => (server = s));

  it('is a company setting, 4–8, default 4', async () => {
    const r = await call<{ minPinLength: number }>(server, 'GET', '/api/v1/companies/1/settings');
    expect(r.body.minPinLength).toBe(4);
    for (const bad of [3, 9, 5.5, '6']) {
      expect(
        (await call(server, 'PATCH', '/api/v1/companies/1/settings', { minPinLength: bad })).status,
      ).toBe(400);
    }
    const ok = await call<{ minPinLength: number }>(server, 'PATCH', '/api/v1/companies/1/settings', {
      minPinLength: 6,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.minPinLength).toBe(6);
  });

  it('refuses a shorter PIN on reset and on create (400 weak_pin); accepts a long enough one', async () => {
    await call(server, 'PATCH', '/api/v1/companies/1/settings', { minPinLength: 6 });
    const short = await call(server, 'POST', '/api/v1/agents/1001/pin', { pin: '73915' });
    expect(short.status).toBe(400);
    expect(short.body.error?.code).toBe('weak_pin');
    expect(short.body.error?.message).toMatch(/too short \(6\+ digits\)/);
    expect(await server.store.directory.verifyPin('1001', '2580')).toBe(true); // unchanged
    expect((await call(server, 'POST', '/api/v1/agents/1001/pin', { pin: '739152' })).status).toBe(204);
    expect(await server.store.directory.verifyPin('1001', '739152')).toBe(true);

    const agent = { companyId: 1, login: '1009', name: 'N', shortNumber: '209', contact: '+79000000009' };
    expect((await call(server, 'POST', '/api/v1/agents', { ...agent, pin: '7391' })).status).toBe(400);
    expect((await call(server, 'POST', '/api/v1/agents', { ...agent, pin: '739152' })).status).toBe(201);
    await call(server, 'PATCH', '/api/v1/companies/1/settings', { minPinLength: 4 });
  });
});
