import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/ (issue 12): every import points down, and no module reaches itself
 * through its imports. Tests (`*.test.ts`) are not part of the graph.
 *
 *   cli                      the command line: starts the server
 *   server.ts                composes everything below
 *   http                     the REST API and console
 *   ivr                      service IVR, the agent's in-call menu
 *   acd      trunks  app     queues and distribution · trunk registration · number routing
 *   diag     sim             diagnostics number · the test phone
 *   call                     legs, dialling, prompts, dial routing
 *   sip  media  store        protocol, audio, persistence (store beside: usable from call up)
 *   config  util             leaves
 *
 * A layer may import itself and what its `may` lists (written out, not derived, so a new arrow
 * is a decision made here). `sip/message` is the SIP vocabulary (URIs, identity): acd may use it
 * without going past call to the UA or transports.
 */
const UNDER_HTTP = ['ivr', 'acd', 'trunks', 'app', 'diag', 'call', 'sip', 'media', 'store', 'config', 'util'];
const LAYERS: Record<string, readonly string[]> = {
  util: [],
  config: ['util'],
  store: ['util'],
  sip: ['util'],
  media: ['util'],
  call: ['sip', 'media', 'store', 'util'],
  diag: ['call', 'sip', 'media', 'store', 'util'],
  sim: ['call', 'sip', 'media', 'util'],
  trunks: ['call', 'sip', 'media', 'store', 'util'],
  app: ['call', 'sip', 'media', 'store', 'util'],
  acd: ['call', 'sip/message', 'media', 'store', 'util'],
  ivr: ['acd', 'call', 'sip/message', 'media', 'store', 'util'],
  http: UNDER_HTTP,
  server: ['http', ...UNDER_HTTP],
  cli: ['server', 'http', 'sim', ...UNDER_HTTP],
};

/**
 * The media port (issue 13): above media, calls see media through `media/media-session.ts`
 * only, so the sessions can live elsewhere (worker threads) without the call layer noticing.
 * These are the implementation's insides. Only the composition root picks an implementation,
 * and the test phone (sim) is a far end with an RTP stack of its own, not the server's media.
 */
const MEDIA_INSIDES = [
  'media/local/',
  'media/rtp/',
  'media/srtp/',
  'media/bridge.ts',
  'media/player.ts',
  'media/media-clock.ts',
  'media/port-pool.ts',
  'media/tones.ts',
  'media/frame-source.ts',
];
const MAY_BUILD_MEDIA = ['server', 'sim'];

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The layer a file (path under src/) belongs to: its top folder, `server` for server.ts. */
function layerOf(file: string): string {
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : file.replace(/\.ts$/, '');
}

function allowed(from: string, to: string): boolean {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a === b) return true;
  return (LAYERS[a] ?? []).some((l) => l === b || to.startsWith(`${l}/`) || to === `${l}.ts`);
}

/** Relative imports of every module (static, type-only, `import()` and re-exports alike). */
function buildGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const path of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(SRC, resolve(dirname(path), name)));
    graph.set(relative(SRC, path), [...new Set(targets)].sort());
  }
  return graph;
}

/** Strongly connected components with more than one module, or a module importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

describe('module layers (src/)', () => {
  const graph = buildGraph();

  it('resolves every relative import to a module in src/', () => {
    const missing = [...graph].flatMap(([from, tos]) =>
      tos.filter((to) => to.endsWith('.ts') && !graph.has(to)).map((to) => `${from} -> ${to}`),
    );
    expect(missing).toEqual([]);
  });

  it('has no circle', () => {
    const found = cycles(graph).map((scc) => scc.join(' <-> '));
    expect(found, `import circles:\n  ${found.join('\n  ')}`).toEqual([]);
  });

  it('has every arrow pointing down the layers', () => {
    const upward = [...graph]
      .flatMap(([from, tos]) => tos.filter((to) => !allowed(from, to)).map((to) => `${from} -> ${to}`))
      .sort();
    expect(upward, `imports against the layers (see LAYERS):\n  ${upward.join('\n  ')}`).toEqual([]);
  });

  it('reaches media only through its port above the media layer', () => {
    const inside = [...graph]
      .filter(([from]) => layerOf(from) !== 'media' && !MAY_BUILD_MEDIA.includes(layerOf(from)))
      .flatMap(([from, tos]) =>
        tos.filter((to) => MEDIA_INSIDES.some((m) => to.startsWith(m))).map((to) => `${from} -> ${to}`),
      )
      .sort();
    expect(inside, `imports past the media port (media/media-session.ts):\n  ${inside.join('\n  ')}`).toEqual(
      [],
    );
  });

  it('places every folder of src/ in a layer', () => {
    const unplaced = [...new Set([...graph.keys()].map(layerOf))].filter((l) => !(l in LAYERS));
    expect(unplaced).toEqual([]);
  });
});
