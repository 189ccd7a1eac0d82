import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { apiRoutesOf } from '../../src/http/api.ts';
import { anonymous, startServer } from './helpers.ts';

interface Doc {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
        responses: Record<string, unknown>;
        parameters?: { name: string; in: string; description?: string }[];
      }
    >
  >;
  components: {
    schemas: Record<
      string,
      { properties?: Record<string, { minimum?: number; maximum?: number; enum?: string[] }> }
    >;
  };
}

describe('OpenAPI document', () => {
  let server: Server;
  let doc: Doc;
  beforeAll(async () => {
    server = await startServer();
    const r = await anonymous(server, 'GET', '/api/v1/openapi.json');
    expect(r.status).toBe(200); // no token needed
    doc = r.body as unknown as Doc;
  });
  afterAll(async () => {
    await server.stop();
  });

  it('is OpenAPI 3.1 with bearer security', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(JSON.stringify(doc)).toContain('"scheme":"bearer"');
  });

  it('lists every admin route', () => {
    const ops = Object.entries(doc.paths).flatMap(([p, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`),
    );
    for (const op of [
      'GET /api/v1/companies',
      'POST /api/v1/companies',
      'PATCH /api/v1/companies/{id}',
      'DELETE /api/v1/companies/{id}',
      'GET /api/v1/companies/{id}/settings',
      'PATCH /api/v1/companies/{id}/settings',
      'POST /api/v1/companies/{id}/departments',
      'PATCH /api/v1/companies/{id}/departments/{code}',
      'GET /api/v1/board',
      'GET /api/v1/agents',
      'POST /api/v1/agents',
      'POST /api/v1/agents/{login}/pin',
      'POST /api/v1/agents/{login}/state',
      'POST /api/v1/agents/{login}/monitor',
      'POST /api/v1/numbers',
      'POST /api/v1/sip-accounts',
      'GET /api/v1/calls',
      'GET /api/v1/calls.csv',
      'GET /api/v1/calls/{id}',
      'GET /api/v1/reports/summary',
      'GET /api/v1/events',
    ]) {
      expect(ops).toContain(op);
    }
  });

  it('documents the settings with the same limits the validation uses', () => {
    const patch = doc.components.schemas.CompanySettingsPatch;
    expect(patch?.properties?.ringSeconds).toMatchObject({ minimum: 5, maximum: 300 });
    expect(patch?.properties?.externalTransfer?.enum).toEqual([
      'disabled',
      'release_immediately',
      'release_on_answer',
      'consult',
    ]);
    const op = doc.paths['/api/v1/companies/{id}/settings']?.patch;
    expect(op?.requestBody?.content['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/CompanySettingsPatch',
    });
    expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '404']));
  });

  it('documents the call search paging: page, pageSize and the keyset cursor', () => {
    const params = doc.paths['/api/v1/calls']?.get?.parameters ?? [];
    for (const name of ['page', 'pageSize', 'cursor', 'department'])
      expect(params.find((p) => p.name === name && p.in === 'query')?.description).toBeTruthy();
  });

  it('every query parameter of every route is documented, with a description', () => {
    const routes = apiRoutesOf(server.http);
    expect(routes.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const r of routes) {
      const schema = r.query as { shape?: Record<string, unknown> } | undefined;
      const names = Object.keys(schema?.shape ?? {});
      if (r.query && names.length === 0) missing.push(`${r.method} ${r.url}: a query schema without a shape`);
      const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
      const params = doc.paths[path]?.[r.method.toLowerCase()]?.parameters ?? [];
      for (const name of names) {
        const p = params.find((x) => x.name === name && x.in === 'query');
        if (!p) missing.push(`${r.method} ${r.url} ?${name}: not in the document`);
        else if (!p.description) missing.push(`${r.method} ${r.url} ?${name}: no description`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every $ref points at a component', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (m) => m[1] ?? '',
    );
    expect(refs.length).toBeGreaterThan(10);
    for (const r of refs) expect(doc.components.schemas).toHaveProperty([r]);
  });
});
