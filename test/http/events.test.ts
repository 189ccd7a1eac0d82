import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { SseClient, call, createUser, eventually, listenerCounts, signIn, startServer } from './helpers.ts';

interface AgentEvent {
  login: string;
  companyId: number;
  from: string;
  to: string;
  source: string;
  reason: string;
}

describe('live events (SSE)', () => {
  let server: Server;
  const clients: SseClient[] = [];
  const open = async (
    path: string,
    headers: Record<string, string> = { authorization: 'Bearer test-token-123' },
  ) => {
    const r = await SseClient.open(server, path, headers);
    clients.push(r.client);
    return r;
  };

  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.stop();
  });

  it('401 without credentials; a token in the query is no credential, not even the right one', async () => {
    expect((await open('/api/v1/events', {})).status).toBe(401);
    expect((await open('/api/v1/events?token=wrong', {})).status).toBe(401);
    expect((await open('/api/v1/events?token=test-token-123', {})).status).toBe(401);
    expect((await open('/api/v1/events', { cookie: 'agentline_session=forged' })).status).toBe(401);
  });

  it('400 for a bad companyId', async () => {
    expect((await open('/api/v1/events?companyId=x')).status).toBe(400);
  });

  it('streams agent state changes (header token)', async () => {
    const { status, client, contentType } = await open('/api/v1/events?companyId=1');
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    await eventually(() => client.comments.includes('connected'), 2000, 'connected comment');
    await call(server, 'POST', '/api/v1/agents/1001/state', { state: 'ready', reason: 'shift' });
    await eventually(() => client.of('agent').length > 0, 2000, 'agent event');
    expect(client.of<AgentEvent>('agent')[0]).toMatchObject({
      login: '1001',
      companyId: 1,
      from: 'logged_out',
      to: 'ready',
      source: 'api',
      reason: 'shift',
    });
  });

  it("takes the console's session cookie (EventSource sends it) and sends heartbeats", async () => {
    await createUser(server, {
      username: 'watcher',
      password: 'watcher-password-1',
      role: 'viewer',
      companyIds: [1],
    });
    const cookie = await signIn(server, 'watcher', 'watcher-password-1');
    const { status, client } = await open('/api/v1/events?heartbeatMs=500', { cookie });
    expect(status).toBe(200);
    await eventually(() => client.comments.filter((c) => c === 'ping').length >= 2, 3000, 'two heartbeats');
  });

  it('is scoped to the company asked for', async () => {
    const other = await server.store.directory.createCompany({ name: 'Other' });
    const { client: otherClient } = await open(`/api/v1/events?companyId=${other.id}`);
    const { client: demoClient } = await open('/api/v1/events?companyId=1');
    const { client: allClient } = await open('/api/v1/events');
    await eventually(
      () =>
        otherClient.comments.includes('connected') &&
        demoClient.comments.includes('connected') &&
        allClient.comments.includes('connected'),
    );
    await call(server, 'POST', '/api/v1/agents/1002/state', { state: 'ready' });
    await eventually(
      () => demoClient.of('agent').length === 1 && allClient.of('agent').length === 1,
      2000,
      'events',
    );
    expect(otherClient.events).toEqual([]);
  });

  it('unsubscribes when the client goes away: no listener is left behind', async () => {
    const before = listenerCounts(server);
    const streams = await Promise.all([1, 2, 3].map(() => open('/api/v1/events?companyId=1')));
    await eventually(() => streams.every((s) => s.client.comments.includes('connected')));
    expect(listenerCounts(server)).toEqual({ agentStates: before.agentStates + 3, acd: before.acd + 3 });
    await Promise.all(streams.map((s) => s.client.close()));
    await eventually(
      () =>
        listenerCounts(server).agentStates === before.agentStates &&
        listenerCounts(server).acd === before.acd,
      2000,
      'listeners released',
    );
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^agentline_event_streams 0$/m);
  });

  it('does not hold the server up at shutdown', async () => {
    const { client } = await open('/api/v1/events');
    await eventually(() => client.comments.includes('connected'));
    const t0 = Date.now();
    await server.stop();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(listenerCounts(server).agentStates).toBe(0);
    server = await startServer(); // for afterEach
  });
});
