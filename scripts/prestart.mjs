// `npm start` runs this first (package.json "prestart"). On a development install it builds
// what is missing or older than its sources: dist/ with tsc, web/dist with Vite — so that
// `npm ci && npm start` on a fresh clone does every step. On a production install
// (`npm ci --omit=dev`, no tsc or Vite) it never builds: it starts the tree as it was built, and
// fails with a clear message only when there is nothing built to start.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'package.json'));

const PARTS = [
  {
    name: 'server (dist/)',
    output: 'dist/cli/main.js',
    sources: ['src', 'tsconfig.json', 'tsconfig.build.json'],
    tool: 'typescript',
    script: 'build:server',
  },
  {
    name: 'web console (web/dist/)',
    output: 'web/dist/index.html',
    sources: ['web/src', 'web/public', 'web/index.html', 'web/vite.config.ts', 'web/tsconfig.json'],
    tool: 'vite',
    script: 'build:web',
  },
];

/** Newest modification time under `p` (0 when absent); tests are not part of the build. */
function newest(p) {
  const s = statSync(p, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return p.endsWith('.test.ts') ? 0 : s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((f) => newest(path.join(p, f))));
}

function installed(pkg) {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

function run(script) {
  // npm sets npm_execpath to its own CLI when it runs a script; use the same npm.
  const npm = process.env.npm_execpath;
  const [cmd, args] = npm ? [process.execPath, [npm, 'run', script]] : ['npm', ['run', script]];
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

for (const part of PARTS) {
  const built = statSync(path.join(ROOT, part.output), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = Math.max(...part.sources.map((s) => newest(path.join(ROOT, s))));
  if (built && built >= sources) continue;
  if (installed(part.tool)) {
    run(part.script);
  } else if (built) {
    console.warn(
      `prestart: the ${part.name} looks older than its sources, but ${part.tool} is not installed ` +
        '(a production install): starting the tree as it was built',
    );
  } else {
    console.error(
      `prestart: the ${part.name} is not built and ${part.tool} is not installed: ` +
        'build it with `npm ci && npm run build` first (then `npm ci --omit=dev` may drop the tools)',
    );
    process.exit(1);
  }
}
