/**
 * deploy/Dockerfile, checked without a Docker engine (none runs on the CI machine) and without
 * hadolint (not packaged for Debian): our structural lint (dockerfile-lint.ts) over the real
 * file, and over broken variants to show each rule bites. hadolint runs too when installed, and
 * the image is built when an engine and the base image are at hand.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/config.ts';
import { lintDockerfile, parseDockerfile, type LintContext } from './dockerfile-lint.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOCKERFILE = path.join(ROOT, 'deploy', 'Dockerfile');
const TEXT = readFileSync(DOCKERFILE, 'utf8');

const defaults = configSchema.parse({});
const build = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
  compilerOptions: { rootDir: string; outDir: string };
};
const ctx: LintContext = {
  exists: (f) => existsSync(path.join(ROOT, f)),
  ignored: readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#')),
  sipPort: defaults.sipPort,
  httpPort: defaults.httpPort,
  rtpRange: `${defaults.rtpPorts.min}-${defaults.rtpPorts.max}`,
  // Where tsconfig.build.json puts src/cli/main.ts.
  main: `${build.compilerOptions.outDir}/cli/main.js`,
};

describe('deploy/Dockerfile', () => {
  it('passes our structural lint', () => {
    expect(build.compilerOptions.rootDir).toBe('src');
    expect(existsSync(path.join(ROOT, 'src', 'cli', 'main.ts'))).toBe(true);
    expect(lintDockerfile(TEXT, ctx)).toEqual([]);
    expect(parseDockerfile(TEXT).map((s) => s.name)).toEqual(['deps', 'build', 'runtime']);
  });

  describe('the lint bites on broken variants', () => {
    const variants: { name: string; edit: (t: string) => string; problem: RegExp }[] = [
      {
        name: 'single stage',
        edit: (t) => t.slice(t.lastIndexOf('FROM ${NODE_IMAGE} AS runtime')),
        problem: /not multi-stage/,
      },
      {
        name: 'latest tag',
        edit: (t) => t.replace('node:20-bookworm-slim', 'node:latest'),
        problem: /latest tag/,
      },
      {
        name: 'untagged image',
        edit: (t) => t.replace('node:20-bookworm-slim', 'node'),
        problem: /has no tag/,
      },
      { name: 'root user', edit: (t) => t.replace('USER 10001:10001', 'USER root'), problem: /runs as root/ },
      { name: 'no user', edit: (t) => t.replace('USER 10001:10001\n', ''), problem: /no USER/ },
      {
        name: 'no healthcheck',
        edit: (t) => t.replace(/HEALTHCHECK[^\n]*\\\n[^\n]*\n/, ''),
        problem: /0 HEALTHCHECKs/,
      },
      {
        name: 'curl healthcheck',
        edit: (t) => t.replace(/CMD \["node", "-e", [^\n]*/, 'CMD curl -f http://127.0.0.1:8080/healthz'),
        problem: /curl\/wget/,
      },
      {
        name: 'a download',
        edit: (t) =>
          t.replace('RUN npm run build', 'RUN curl -fsSL https://x.example/i.sh | sh && npm run build'),
        problem: /RUN downloads/,
      },
      {
        name: 'shell-form entrypoint',
        edit: (t) => t.replace('ENTRYPOINT ["node", "dist/cli/main.js"]', 'ENTRYPOINT node dist/cli/main.js'),
        problem: /shell form/,
      },
      {
        name: 'demo in production',
        edit: (t) => t.replace('CMD ["start"]', 'CMD ["start", "--demo"]'),
        problem: /demo company/,
      },
      {
        name: 'missing RTP range',
        edit: (t) => t.replace(' 20000-29999/udp', ''),
        problem: /EXPOSE lacks 20000-29999\/udp/,
      },
      { name: 'no volume', edit: (t) => t.replace(/VOLUME [^\n]*\n/, ''), problem: /not a VOLUME/ },
      {
        name: 'missing COPY source',
        edit: (t) => t.replace('COPY bin ./bin', 'COPY binaries ./bin'),
        problem: /COPY binaries: not in the build context/,
      },
      {
        name: 'COPY --from an unknown stage',
        edit: (t) => t.replace('--from=deps', '--from=dependencies'),
        problem: /names no earlier stage/,
      },
      {
        name: 'runtime installs',
        edit: (t) => t.replace('USER 10001:10001', 'RUN npm ci --omit=dev\nUSER 10001:10001'),
        problem: /runtime stage installs/,
      },
    ];
    for (const v of variants)
      it(v.name, () => {
        const text = v.edit(TEXT);
        expect(text).not.toBe(TEXT);
        expect(lintDockerfile(text, ctx).join('\n')).toMatch(v.problem);
      });
    it('host node_modules in the context', () => {
      expect(
        lintDockerfile(TEXT, { ...ctx, ignored: ctx.ignored.filter((l) => l !== 'node_modules') }),
      ).toEqual(['.dockerignore does not exclude node_modules']);
    });
  });

  const hadolint = spawnSync('hadolint', ['--version']).status === 0;
  it.runIf(hadolint)('passes hadolint', () => {
    execFileSync('hadolint', [DOCKERFILE], { stdio: 'pipe' });
  });

  const engine =
    spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0 &&
    spawnSync('docker', ['image', 'inspect', parseDockerfile(TEXT)[0]!.image], { stdio: 'ignore' }).status ===
      0;
  it.runIf(engine)(
    'builds (a Docker engine and the base image are at hand)',
    () => {
      execFileSync('docker', ['build', '-f', DOCKERFILE, '-t', 'agentline:test', ROOT], { stdio: 'pipe' });
    },
    900_000,
  );
});
