import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

/**
 * Vitest global setup: builds the web console into web/dist when it is missing
 * or older than its sources, so that `npm test` and `npx vitest run test/browser`
 * serve the console as it is now (`npm start` builds it in `prestart`).
 */
const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

function newest(p: string): number {
  const s = statSync(p, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((f) => newest(path.join(p, f))));
}

export default async function setup(): Promise<void> {
  const built = statSync(path.join(WEB, 'dist', 'index.html'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = Math.max(
    ...['src', 'public', 'index.html', 'vite.config.ts', 'tsconfig.json'].map((f) =>
      newest(path.join(WEB, f)),
    ),
  );
  if (built > sources) return;
  await build({ configFile: path.join(WEB, 'vite.config.ts'), logLevel: 'warn' });
}
