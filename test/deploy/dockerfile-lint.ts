/**
 * A structural lint for deploy/Dockerfile, for machines with no Docker engine and no hadolint
 * (not packaged for Debian): what hadolint and a reviewer would insist on for this image, read
 * from the parsed instructions. Returns the problems found (empty: clean).
 */
import path from 'node:path';

export interface Instruction {
  op: string;
  args: string;
  line: number;
}
export interface Stage {
  image: string;
  name: string;
  body: Instruction[];
}

/** Dockerfile syntax: `#` comment lines (also inside a continuation), `\` continues a line. */
export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') return;
    const m = /^(\S+)\s*(.*)$/.exec(full)!;
    instructions.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: start });
  });
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      const image = m[1]!.replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_, a?: string, b?: string) => args.get(a ?? b ?? '') ?? '',
      );
      stages.push({ image, name: m[2] ?? String(stages.length), body: [] });
    } else if (stages.length === 0) {
      if (ins.op !== 'ARG') throw new Error(`line ${ins.line}: ${ins.op} before the first FROM`);
      const [name, value = ''] = ins.args.split('=');
      args.set(name!, value);
    } else {
      stages.at(-1)!.body.push(ins);
    }
  }
  return stages;
}

export interface LintContext {
  /** Does this path exist in the build context (the repository root)? */
  exists(file: string): boolean;
  /** .dockerignore lines. */
  ignored: string[];
  /** What the runtime stage must expose and run. */
  sipPort: number;
  httpPort: number;
  rtpRange: string;
  main: string;
}

const execForm = (args: string): string[] | null => {
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null;
  } catch {
    return null;
  }
};

export function lintDockerfile(text: string, ctx: LintContext): string[] {
  const problems: string[] = [];
  const stages = parseDockerfile(text);
  if (stages.length < 2) return ['not multi-stage: build and runtime must be separate stages'];
  const runtime = stages.at(-1)!;
  const all = (op: string, stage?: Stage): Instruction[] =>
    (stage ? [stage] : stages).flatMap((s) => s.body.filter((i) => i.op === op));
  const runs = (s: Stage): string =>
    all('RUN', s)
      .map((i) => i.args)
      .join('\n');

  for (const s of stages) {
    if (!/^[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/.test(s.image))
      problems.push(`stage ${s.name}: base image ${s.image || '(empty)'} has no tag`);
    else if (s.image.endsWith(':latest')) problems.push(`stage ${s.name}: base image uses the latest tag`);
  }
  if (new Set(stages.map((s) => s.name)).size !== stages.length) problems.push('two stages share a name');

  if (
    !stages
      .slice(0, -1)
      .some((s) => /\bnpm ci\b(?![^\n]*--omit=dev)[^\n]*[\s\S]*npm run build\b/.test(runs(s)))
  )
    problems.push('no build stage runs npm ci (with dev dependencies) and npm run build');
  if (!stages.slice(0, -1).some((s) => /\bnpm ci\b[^\n]*--omit=dev/.test(runs(s))))
    problems.push('no stage installs the production dependencies (npm ci --omit=dev)');
  if (/\b(npm (ci|install)|apt-get install)\b/.test(runs(runtime)))
    problems.push('the runtime stage installs packages: it should only copy from earlier stages');
  for (const ins of all('COPY')) {
    const from = /--from=(\S+)/.exec(ins.args)?.[1];
    if (from !== undefined) {
      const stage = stages.findIndex((s) => s.name === from);
      const self = stages.findIndex((s) => s.body.includes(ins));
      if (stage < 0 || stage >= self)
        problems.push(`line ${ins.line}: COPY --from=${from} names no earlier stage`);
      continue;
    }
    const parts = ins.args.replace(/--\S+\s+/g, '').split(/\s+/);
    for (const src of parts.slice(0, -1)) {
      const rel = src.replace(/^\.\//, '');
      if (!ctx.exists(rel)) problems.push(`line ${ins.line}: COPY ${src}: not in the build context`);
      if (ctx.ignored.includes(rel))
        problems.push(`line ${ins.line}: COPY ${src}: excluded by .dockerignore`);
    }
  }
  if (!ctx.ignored.includes('node_modules')) problems.push('.dockerignore does not exclude node_modules');

  const user = all('USER', runtime).at(-1)?.args.trim();
  if (!user) problems.push('the runtime stage has no USER: it would run as root');
  else if (/^(root|0)$/.test(user.split(':')[0]!)) problems.push(`the runtime stage runs as ${user}`);

  const checks = all('HEALTHCHECK', runtime);
  if (checks.length !== 1) problems.push(`the runtime stage has ${checks.length} HEALTHCHECKs, want 1`);
  for (const c of checks) {
    const cmd = /^(?:--\S+\s+)*CMD\s+(.*)$/.exec(c.args)?.[1];
    if (!cmd) problems.push('HEALTHCHECK has no CMD');
    else {
      if (!cmd.includes('/healthz')) problems.push('HEALTHCHECK does not ask /healthz');
      if (/\b(curl|wget)\b/.test(cmd))
        problems.push('HEALTHCHECK uses curl/wget, which the slim image lacks');
      if (execForm(cmd)?.[0] !== 'node') problems.push('HEALTHCHECK is not node in exec form');
    }
  }

  for (const ins of all('RUN')) {
    if (/\b(curl|wget)\b/.test(ins.args)) problems.push(`line ${ins.line}: RUN downloads with curl/wget`);
    if (/apt-get install/.test(ins.args)) {
      if (!/--no-install-recommends/.test(ins.args))
        problems.push(`line ${ins.line}: apt-get install without --no-install-recommends`);
      if (!/rm -rf \/var\/lib\/apt\/lists/.test(ins.args))
        problems.push(`line ${ins.line}: apt lists left in the layer`);
    }
  }
  for (const ins of all('ADD'))
    if (/https?:\/\//.test(ins.args)) problems.push(`line ${ins.line}: ADD of a URL`);

  const exposed = all('EXPOSE', runtime).flatMap((i) => i.args.split(/\s+/));
  for (const want of [`${ctx.sipPort}/udp`, `${ctx.sipPort}/tcp`, `${ctx.rtpRange}/udp`])
    if (!exposed.includes(want)) problems.push(`EXPOSE lacks ${want}`);
  if (!exposed.includes(`${ctx.httpPort}`) && !exposed.includes(`${ctx.httpPort}/tcp`))
    problems.push(`EXPOSE lacks ${ctx.httpPort}`);

  const env = all('ENV', runtime)
    .map((i) => i.args)
    .join(' ');
  const db = /AGENTLINE_DB=(\S+)/.exec(env)?.[1];
  const volumes = all('VOLUME', runtime).flatMap((i) => execForm(i.args) ?? i.args.split(/\s+/));
  if (!db) problems.push('the runtime stage does not set AGENTLINE_DB');
  else if (!volumes.includes(path.posix.dirname(db)))
    problems.push(`the database directory ${path.posix.dirname(db)} is not a VOLUME`);

  const entry = all('ENTRYPOINT', runtime).at(-1);
  const cmd = all('CMD', runtime).at(-1);
  const argv = [
    ...(entry ? (execForm(entry.args) ?? ['(shell form)']) : []),
    ...(cmd ? (execForm(cmd.args) ?? ['(shell form)']) : []),
  ];
  if (argv.includes('(shell form)'))
    problems.push('ENTRYPOINT/CMD in shell form: sh would be PID 1 and keep SIGTERM from node');
  else if (argv.slice(0, 3).join(' ') !== `node ${ctx.main} start`)
    problems.push(`the image runs ${argv.join(' ')}, not node ${ctx.main} start`);
  if (argv.includes('--demo')) problems.push('the image seeds the demo company (--demo)');
  const stop = all('STOPSIGNAL', runtime).at(-1)?.args ?? 'SIGTERM';
  if (stop !== 'SIGTERM') problems.push(`STOPSIGNAL ${stop}: the server drains on SIGTERM`);
  return problems;
}
