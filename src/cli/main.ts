#!/usr/bin/env node
import { ConfigError, loadConfig } from '../config/config.ts';
import { Server } from '../server.ts';
import { usage, version } from './usage.ts';

/** Exit code for a bad command line or configuration: restarting (systemd, Docker) cannot help. */
const EXIT_USAGE = 2;

async function start(argv: string[]): Promise<void> {
  const config = loadConfig(argv, process.env);
  const server = new Server(config);
  await server.start();
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    server.log.info({ signal }, 'shutting down');
    // Hard deadline: exit within 5 s whatever happens (issue contract).
    setTimeout(() => process.exit(0), 4500).unref();
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        server.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `--help`/`-h` or `--version`/`-v` anywhere before a `--` (so `npm start -- --help` works too). */
const asks = (args: string[], ...flags: string[]): boolean => {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => flags.includes(a));
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const [command, ...rest] = args;
  if (command === 'version' || asks(args, '--version', '-v')) {
    console.log(version());
    return;
  }
  if (command === 'help' || asks(args, '--help', '-h')) {
    process.stdout.write(usage());
    return;
  }
  switch (command) {
    case 'start':
      return start(rest);
    case 'backup': {
      const { runBackup } = await import('./backup.ts');
      const r = await runBackup(rest, process.env);
      console.log(`backed up ${r.source} to ${r.dest} (${r.pages} pages, ${r.bytes} bytes, integrity ok)`);
      return;
    }
    case 'demo': {
      const { runDemo } = await import('./demo.ts');
      await runDemo();
      process.exit(0);
      return;
    }
    default:
      console.error(
        command === undefined ? 'agentline: no command given' : `agentline: unknown command '${command}'`,
      );
      process.stderr.write(usage());
      process.exitCode = EXIT_USAGE;
  }
}

/** node:util parseArgs' errors for an unknown flag, a missing value or a stray argument. */
const isArgError = (err: unknown): boolean =>
  err instanceof TypeError && String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_');

main().catch((err: unknown) => {
  if (err instanceof ConfigError || isArgError(err)) {
    console.error(`agentline: ${(err as Error).message}`);
    console.error('(agentline --help lists the commands and flags)');
    process.exit(EXIT_USAGE);
  }
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
