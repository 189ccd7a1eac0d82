import type { Server } from '../../src/server.ts';
import { api, startServer } from '../integration/harness.ts';
import { useResource } from '../../src/util/testing.ts';

export { api, startServer, eventually, sleep } from '../integration/harness.ts';

/** Starts a test server before the suite's tests (handing it to `set`) and stops it after them. */
export function useServer(set: (server: Server) => void): void {
  useResource(startServer, (server) => server.stop(), set, 'suite');
}

type Body = { error?: { code: string; message: string } } & Record<string, unknown>;

/** JSON request with the test token; `body` is serialised. */
export async function call<T = Body>(
  server: Server,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  return api<T>(server, path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

/** A request without a token (or with `token`). */
export async function anonymous(
  server: Server,
  method: string,
  path: string,
  token?: string,
): Promise<{ status: number; body: Body }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Body };
}

export interface TestUser {
  username: string;
  password: string;
  role: 'admin' | 'supervisor' | 'viewer';
  companyIds?: number[];
}

/** Creates a console user through the API (with the test admin token). */
export async function createUser(server: Server, user: TestUser): Promise<{ id: number }> {
  const r = await call<{ id: number }>(server, 'POST', '/api/v1/users', user);
  if (r.status !== 201)
    throw new Error(`creating user ${user.username}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Signs in through `POST /api/v1/session`; the `cookie` header value of the session. */
export async function signIn(server: Server, username: string, password: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  await res.text();
  if (res.status !== 200) throw new Error(`sign-in of ${username}: ${res.status}`);
  const cookie = /^(agentline_session=[^;]+)/.exec(setCookie)?.[1];
  if (!cookie) throw new Error('no session cookie');
  return cookie;
}

/** A request with the given headers (a session cookie, another token …); `body` is serialised. */
export async function callAs<T = Body>(
  server: Server,
  headers: Record<string, string>,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Listener counts of the two sources of live events (private fields, read for the leak test). */
export function listenerCounts(server: Server): { agentStates: number; acd: number } {
  const size = (o: object): number => (o as unknown as { listeners: Set<unknown> }).listeners.size;
  return { agentStates: size(server.agentStates), acd: server.acd.listenerCount };
}

export interface SseEvent {
  event: string;
  data: string;
}

/** A Server-Sent Events client on fetch: collects events and comment lines. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  private readonly controller = new AbortController();
  private done: Promise<void> = Promise.resolve();

  static async open(
    server: Server,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; client: SseClient; contentType: string | null }> {
    const client = new SseClient();
    const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
      headers,
      signal: client.controller.signal,
    });
    if (res.ok && res.body) client.done = client.read(res.body);
    else await res.text();
    return { status: res.status, client, contentType: res.headers.get('content-type') };
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
            else if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trim());
          }
          if (data.length) this.events.push({ event, data: data.join('\n') });
        }
      }
    } catch {
      // aborted
    }
  }

  /** Parsed `data` of the events named `event`. */
  of<T>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => JSON.parse(e.data) as T);
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}
