import { z } from 'zod';
import { type Api, type RouteDoc, errorSchema } from './api.ts';
import { SESSION_COOKIE } from './auth.ts';

type JsonSchema = Record<string, unknown>;

const ERRORS: Record<number, string> = {
  400: 'Invalid request (validation failed)',
  401: 'Not signed in: no or a wrong bearer token or session cookie',
  403: 'Signed in, but not allowed for this role or company',
  429: 'Too many failed sign-ins or wrong tokens from this address (see Retry-After)',
  404: 'Not found',
  409: 'Conflict (taken, in use, or a refused state change)',
};

/**
 * OpenAPI 3.1 from the same zod schemas that validate the requests
 * (`z.toJSONSchema`; schemas with a `meta({ id })` become components).
 */
export function buildOpenApi(api: Api, version: string): Record<string, unknown> {
  const components: Record<string, JsonSchema> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const text = JSON.stringify(
      z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }),
    );
    const json = JSON.parse(text.replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    const { $defs, $schema: _schema, ...rest } = json;
    for (const [id, def] of Object.entries($defs ?? {})) components[id] ??= def;
    return rest;
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of api.routes) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[r.method.toLowerCase()] = operation(r, convert, components);
  }
  convert(errorSchema, 'output');

  return {
    openapi: '3.1.0',
    info: {
      title: 'AgentLine admin API',
      version,
      description:
        'Companies, departments, agents, numbers, SIP accounts, settings, agent state, calls, reports and live events; ' +
        'console users, API tokens and the audit log. Roles: admin (everything), supervisor (its companies: board, ' +
        'calls, reports, agent state changes, read of departments and agents), viewer (read-only of its companies).',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { session: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token or the --admin-token' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description: 'Set by POST /api/v1/session (the console)',
        },
      },
    },
  };
}

function operation(
  r: RouteDoc,
  convert: (s: z.ZodType, io: 'input' | 'output') => JsonSchema,
  components: Readonly<Record<string, JsonSchema>>,
): Record<string, unknown> {
  const parameters: unknown[] = [];
  for (const [where, schema] of [
    ['path', r.params],
    ['query', r.query],
  ] as const) {
    if (!schema) continue;
    let json = convert(schema, 'input') as {
      $ref?: string;
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    // A query schema with a `meta({ id })` comes back as a reference: its parameters are the component's.
    if (json.$ref !== undefined) json = components[json.$ref.replace('#/components/schemas/', '')] ?? json;
    for (const [name, s] of Object.entries(json.properties ?? {})) {
      parameters.push({
        name,
        in: where,
        required: where === 'path' || (json.required ?? []).includes(name),
        schema: s,
        ...(typeof s.description === 'string' ? { description: s.description } : {}),
      });
    }
  }
  const responses: Record<string, unknown> = {};
  if (r.status === 204) responses['204'] = { description: 'Done' };
  else {
    const type = r.produces ?? 'application/json';
    responses[String(r.status)] = {
      description: 'Success',
      content: {
        [type]: { schema: r.response && type === 'application/json' ? convert(r.response, 'output') : {} },
      },
    };
  }
  for (const [code, description] of Object.entries(r.statuses ?? {}))
    responses[code] = {
      description,
      content:
        code < '300' && r.produces
          ? { [r.produces]: { schema: {} } }
          : { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  const errors = [
    400,
    ...(r.public ? [] : [401, 403, 429]),
    ...(r.params ? [404] : []),
    ...(r.method !== 'GET' ? [409] : []),
  ];
  for (const code of errors) {
    responses[String(code)] = {
      description: ERRORS[code],
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return {
    tags: [r.tag],
    summary: r.summary,
    ...(r.public ? {} : { description: `Roles: ${r.roles.join(', ')}.` }),
    operationId: operationId(r),
    ...(r.public ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(r.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: convert(r.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** `GET /api/v1/companies/:id/settings` → `getCompaniesByIdSettings`. */
function operationId(r: RouteDoc): string {
  const parts = r.url
    .replace(/^\/api\/v1\//, '')
    .split('/')
    .map((p) => (p.startsWith(':') ? `By${cap(p.slice(1))}` : p.split(/[.-]/).map(cap).join('')));
  return r.method.toLowerCase() + parts.join('');
}
