import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { anonymous, call, useServer } from './helpers.ts';

interface Agent {
  login: string;
  name: string;
  state: string;
  stateSince: string | null;
  contact: string;
  shortNumber: string;
  departments: { department: string; priority: number }[];
}

const NEW_AGENT = {
  companyId: 1,
  login: '1005',
  name: 'Ольга',
  shortNumber: '205',
  contact: '+79000000005',
  pin: '4826',
  departments: [{ department: '101', priority: 2 }],
};

describe('agents API', () => {
  let server: Server;
  useServer((s) => (server = s));

  it('401 without a token', async () => {
    expect((await anonymous(server, 'GET', '/api/v1/agents')).status).toBe(401);
    expect((await anonymous(server, 'POST', '/api/v1/agents/1001/state')).status).toBe(401);
  });

  describe('reading', () => {
    it('lists agents with login, name, state, stateSince, contact', async () => {
      const r = await call<{ agents: Agent[] }>(server, 'GET', '/api/v1/agents');
      expect(r.status).toBe(200);
      expect(r.body.agents.map((a) => a.login)).toEqual(['1001', '1002', '1003', '1004']);
      for (const a of r.body.agents)
        expect(Object.keys(a)).toEqual(
          expect.arrayContaining(['login', 'name', 'state', 'stateSince', 'contact']),
        );
    });
    it('filters by department', async () => {
      const r = await call<{ agents: Agent[] }>(server, 'GET', '/api/v1/agents?department=102');
      expect(r.body.agents.map((a) => a.login)).toEqual(['1002', '1003', '1004']);
      expect((await call(server, 'GET', '/api/v1/agents?department=x')).status).toBe(400);
    });
    it('says who is a supervisor (the demo: 1004); a patch sets and clears the flag', async () => {
      const r = await call<{ agents: (Agent & { supervisor: boolean })[] }>(server, 'GET', '/api/v1/agents');
      expect(r.body.agents.filter((a) => a.supervisor).map((a) => a.login)).toEqual(['1004']);
      const on = await call<{ supervisor: boolean }>(server, 'PATCH', '/api/v1/agents/1001', {
        supervisor: true,
      });
      expect(on.body.supervisor).toBe(true);
      expect((await call(server, 'PATCH', '/api/v1/agents/1001', { supervisor: 'yes' })).status).toBe(400);
      const off = await call<{ supervisor: boolean }>(server, 'PATCH', '/api/v1/agents/1001', {
        supervisor: false,
      });
      expect(off.body.supervisor).toBe(false);
    });
    it('reads one; 400 for a login that is not digits; 404 for an unknown one', async () => {
      expect((await call<Agent>(server, 'GET', '/api/v1/agents/1001')).body).toMatchObject({
        login: '1001',
        state: 'logged_out',
        contact: '+79000000001',
      });
      const bad = await call(server, 'GET', '/api/v1/agents/abc');
      expect(bad.status).toBe(400);
      expect(bad.body.error?.code).toBe('invalid_login');
      expect((await call(server, 'GET', '/api/v1/agents/9999')).status).toBe(404);
    });
  });

  describe('creating, changing, deleting', () => {
    it('creates an agent with an initial PIN and never returns it or its hash', async () => {
      const r = await call<Agent>(server, 'POST', '/api/v1/agents', NEW_AGENT);
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        login: '1005',
        state: 'logged_out',
        departments: [{ department: '101', priority: 2 }],
      });
      const text =
        JSON.stringify(r.body) + JSON.stringify((await call(server, 'GET', '/api/v1/agents')).body);
      expect(text).not.toMatch(/pin|4826|hash/i);
      expect(await server.store.directory.verifyPin('1005', '4826')).toBe(true);
    });
    it('409 for a login that is taken', async () => {
      const r = await call(server, 'POST', '/api/v1/agents', { ...NEW_AGENT, shortNumber: '299' });
      expect(r.status).toBe(409);
    });
    it('400 for a weak PIN, a bad contact, a missing field, an unknown department or company', async () => {
      /** NEW_AGENT under a free login and short number, with `patch` over it. */
      const create1006 = (patch: Record<string, unknown>) =>
        call(server, 'POST', '/api/v1/agents', { ...NEW_AGENT, login: '1006', shortNumber: '206', ...patch });
      const weak = await create1006({ pin: '1111' });
      expect(weak.status).toBe(400);
      expect(weak.body.error?.code).toBe('weak_pin');
      expect((await create1006({ contact: 'phone' })).status).toBe(400);
      expect((await create1006({ pin: undefined })).status).toBe(400);
      expect((await create1006({ departments: [{ department: '777', priority: 1 }] })).status).toBe(400);
      expect((await create1006({ companyId: 77 })).status).toBe(400);
    });
    it('changes name, contact and departments', async () => {
      const r = await call<Agent>(server, 'PATCH', '/api/v1/agents/1005', {
        name: 'Ольга П.',
        contact: 'sip:olga',
        departments: [{ department: '102', priority: 1 }],
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        name: 'Ольга П.',
        contact: 'sip:olga',
        departments: [{ department: '102', priority: 1 }],
      });
      expect((await call(server, 'PATCH', '/api/v1/agents/1005', { shortNumber: 'x' })).status).toBe(400);
      expect((await call(server, 'PATCH', '/api/v1/agents/9999', { name: 'N' })).status).toBe(404);
      expect((await call(server, 'PATCH', '/api/v1/agents/1005', { shortNumber: '202' })).status).toBe(409);
    });
    it('resets the PIN (204); refuses a weak or malformed one (400); 404 for an unknown agent', async () => {
      expect((await call(server, 'POST', '/api/v1/agents/1005/pin', { pin: '739164' })).status).toBe(204);
      expect(await server.store.directory.verifyPin('1005', '739164')).toBe(true);
      expect((await call(server, 'POST', '/api/v1/agents/1005/pin', { pin: '1234' })).status).toBe(400);
      expect((await call(server, 'POST', '/api/v1/agents/1005/pin', { pin: '12' })).status).toBe(400);
      expect((await call(server, 'POST', '/api/v1/agents/9999/pin', { pin: '739164' })).status).toBe(404);
    });
    it('refuses to delete a logged-in agent (409), deletes a logged-out one (204)', async () => {
      await call(server, 'POST', '/api/v1/agents/1005/state', { state: 'ready' });
      expect((await call(server, 'DELETE', '/api/v1/agents/1005')).status).toBe(409);
      await call(server, 'POST', '/api/v1/agents/1005/state', { state: 'logged_out' });
      expect((await call(server, 'DELETE', '/api/v1/agents/1005')).status).toBe(204);
      expect((await call(server, 'DELETE', '/api/v1/agents/1005')).status).toBe(404);
    });
  });

  describe('supervisor state change', () => {
    it('moves the agent and records source api with the reason', async () => {
      const r = await call<Agent>(server, 'POST', '/api/v1/agents/1002/state', {
        state: 'ready',
        reason: 'shift start',
      });
      expect(r.status).toBe(200);
      expect(r.body.state).toBe('ready');
      expect(r.body.stateSince).not.toBeNull();
      const nr = await call<Agent>(server, 'POST', '/api/v1/agents/1002/state', { state: 'not_ready' });
      expect(nr.body.state).toBe('not_ready');
      const agent = await server.store.directory.getAgentByLogin('1002');
      const history = await server.store.agentStates.listStateHistory({ agentId: agent?.id });
      expect(history.map((h) => [h.to, h.source, h.reason])).toEqual([
        ['ready', 'api', 'shift start'],
        ['not_ready', 'api', 'supervisor'],
      ]);
    });
    it('409 for a move the state machine refuses', async () => {
      const r = await call(server, 'POST', '/api/v1/agents/1003/state', { state: 'not_ready' });
      expect(r.status).toBe(409);
      expect(r.body.error?.code).toBe('invalid_transition');
      expect(r.body.error?.message).toMatch(/1003 is logged_out/);
    });
    it('force: logs out or sets not ready whatever the state (reason supervisor_*); 400 for another state', async () => {
      await call(server, 'POST', '/api/v1/agents/1002/state', { state: 'ready' });
      const r = await call<Agent>(server, 'POST', '/api/v1/agents/1002/state', {
        state: 'logged_out',
        force: true,
      });
      expect(r.status).toBe(200);
      expect(r.body.state).toBe('logged_out');
      const agent = await server.store.directory.getAgentByLogin('1002');
      const history = await server.store.agentStates.listStateHistory({ agentId: agent?.id });
      expect(history.at(-1)).toMatchObject({ from: 'ready', to: 'logged_out', reason: 'supervisor_logout' });
      const bad = await call(server, 'POST', '/api/v1/agents/1002/state', { state: 'ready', force: true });
      expect(bad.status).toBe(400);
    });
    it('409 with a message naming force for a change while the agent is offered a call', async () => {
      const agent = await server.store.directory.getAgentByLogin('1004');
      await server.agentStates.transition(agent!.id, 'ready', { reason: 't', source: 'api' });
      await server.agentStates.transition(agent!.id, 'offered', { reason: 't', source: 'system' });
      const r = await call(server, 'POST', '/api/v1/agents/1004/state', { state: 'logged_out' });
      expect(r.status).toBe(409);
      expect(r.body.error?.code).toBe('agent_in_call');
      expect(r.body.error?.message).toMatch(/1004 is offered.*force: true/);
    });
    it('400 for a state only calls set, or none; 404 for an unknown agent', async () => {
      expect((await call(server, 'POST', '/api/v1/agents/1003/state', { state: 'busy' })).status).toBe(400);
      expect((await call(server, 'POST', '/api/v1/agents/1003/state', {})).status).toBe(400);
      expect((await call(server, 'POST', '/api/v1/agents/9999/state', { state: 'ready' })).status).toBe(404);
    });
  });
});
