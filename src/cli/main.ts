#!/usr/bin/env node
import { loadConfig } from '../config/config.ts';
import { Server } from '../server.ts';
import { runDemo } from './demo.ts';

const USAGE = `usage: agentline start [--sip-host H] [--sip-port P] [--rtp-ports MIN-MAX] [--http-port P]
                       [--db FILE|:memory:] [--trunk sip:HOST:PORT] [--log-level L] [--admin-token T]
                       [--metrics-token T]
       agentline demo`;

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

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'start':
      return start(rest);
    case 'demo':
      await runDemo();
      process.exit(0);
      return;
    default:
      console.error(USAGE);
      process.exitCode = 2;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
