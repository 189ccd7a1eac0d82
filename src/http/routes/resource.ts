import { z } from 'zod';
import type { Api, RouteSpec } from '../api.ts';

type Schema = z.ZodType;
/** What every route of a resource shares, filled in by `resource()`. */
type Fixed = 'method' | 'url' | 'tag' | 'response' | 'status';

/**
 * The REST shape most resources share: a collection (`GET` lists under `plural`, `POST`
 * creates: 201) at `item`'s path without its last `/:param`, and the item addressed by
 * `params` (`GET`, `PATCH`, `DELETE`: 204), each answering `schema`. A route gives only what
 * is its own (summary, access, body, handler); one of another shape stays `api.route`.
 */
export function resource<P extends Schema>(
  api: Api,
  tag: string,
  item: string,
  params: P,
  schema: Schema,
  plural = tag,
) {
  const url = item.slice(0, item.lastIndexOf('/'));
  return {
    list<LP extends Schema | undefined = undefined, Q extends Schema | undefined = undefined>(
      spec: Omit<RouteSpec<LP, Q, undefined>, Fixed>,
    ): void {
      const response = z.object({ [plural]: z.array(schema) });
      api.route({ ...spec, url, tag, method: 'GET', response });
    },
    create<B extends Schema, LP extends Schema | undefined = undefined>(
      spec: Omit<RouteSpec<LP, undefined, B>, Fixed> & { response?: Schema },
    ): void {
      api.route({ response: schema, ...spec, url, tag, method: 'POST', status: 201 });
    },
    get(spec: Omit<RouteSpec<P, undefined, undefined>, Fixed | 'params'>): void {
      api.route({ ...spec, url: item, tag, method: 'GET', params, response: schema });
    },
    patch<B extends Schema>(spec: Omit<RouteSpec<P, undefined, B>, Fixed | 'params'>): void {
      api.route({ ...spec, url: item, tag, method: 'PATCH', params, response: schema });
    },
    delete(spec: Omit<RouteSpec<P, undefined, undefined>, Fixed | 'params'>): void {
      api.route({ ...spec, url: item, tag, method: 'DELETE', params, status: 204 });
    },
  };
}
