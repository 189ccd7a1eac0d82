#!/usr/bin/env node
// The installed `agentline` command (package.json "bin"): runs the compiled CLI that
// `npm run build` writes to dist/, so it needs no TypeScript tooling at run time.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('agentline: dist/ is not built: run `npm run build` (needs the dev dependencies) first');
  process.exit(1);
}
await import(main.href);
