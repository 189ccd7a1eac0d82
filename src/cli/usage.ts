import { readFileSync } from 'node:fs';
import { BOOLEAN_FLAGS, FLAGS } from '../config/config.ts';

/**
 * `agentline --help` and `--version`. The flag list is built from the
 * configuration's own flag lists, so a flag cannot be accepted and missing
 * from the help; a flag without a line here still shows (and a test fails).
 */
export const FLAG_HELP: Readonly<Record<string, { arg?: string; text: string }>> = {
  'sip-host': { arg: 'HOST', text: 'SIP listen address, UDP and TCP (default 0.0.0.0)' },
  'sip-port': { arg: 'PORT', text: 'SIP port, UDP and TCP (default 5060)' },
  'rtp-ports': {
    arg: 'MIN-MAX',
    text: 'RTP port range; a leg takes an even port, RTCP the next (default 20000-29999)',
  },
  'http-host': { arg: 'HOST', text: 'HTTP listen address (default: as --sip-host)' },
  'http-port': { arg: 'PORT', text: 'admin API, console, /healthz, /metrics (default 8080)' },
  db: {
    arg: 'URL',
    text: 'database: a SQLite file, file:/path or :memory: (default ./data/agentline.db), or postgres://user[:password]@host[:port]/db',
  },
  trunk: { arg: 'URI', text: 'outbound gateway for phone numbers, e.g. sip:10.0.0.1:5060;transport=tcp' },
  'outbound-proxy': {
    arg: 'URI',
    text: 'proxy in front of the nodes (Kamailio), e.g. sip:10.0.0.5:5060: calls, REGISTERs and OPTIONS go through it',
  },
  'tls-cert': {
    arg: 'FILE',
    text: 'SIP over TLS: our certificate chain, PEM (with --tls-key: listen on --tls-port)',
  },
  'tls-key': { arg: 'FILE', text: 'SIP over TLS: the private key of --tls-cert, PEM' },
  'tls-port': { arg: 'PORT', text: 'SIP over TLS listen port (default 5061)' },
  'tls-ca': {
    arg: 'FILE',
    text: 'CA certificates (PEM) TLS trunks and phones are verified against (default: system CAs)',
  },
  'log-level': { arg: 'LEVEL', text: 'fatal, error, warn, info, debug, trace or silent (default info)' },
  'admin-token': {
    arg: 'TOKEN',
    text: 'admin bearer token for /api/ (default: generated once, stored, printed)',
  },
  advertise: { arg: 'ADDRESS', text: 'address put in SDP and Contact when listening on 0.0.0.0' },
  'local-nets': {
    arg: 'CIDRS',
    text: 'comma-separated IPv4 networks whose peers get our local address instead of --advertise',
  },
  'prompt-dir': { arg: 'DIR', text: 'prompt audio (default: the prompts/ shipped with AgentLine)' },
  'metrics-token': { arg: 'TOKEN', text: 'bearer token /metrics asks for (default: /metrics is open)' },
  'tcp-max-connections': { arg: 'N', text: 'SIP TCP connections at most, 0 no cap (default 1000)' },
  'tcp-max-per-source': { arg: 'N', text: 'SIP TCP connections per source address, 0 no cap (default 20)' },
  'tcp-idle-seconds': { arg: 'S', text: 'close a SIP TCP connection idle this long (default 120)' },
  'invite-rate': { arg: 'N', text: 'new calls per second per source address, then 503 (default 10)' },
  'invite-burst': {
    arg: 'N',
    text: 'INVITEs a source may send at once before the rate applies (default 20)',
  },
  'trusted-invite-rate': { arg: 'N', text: 'the rate for trunks and registered phones (default 100)' },
  'rtp-timeout-seconds': {
    arg: 'S',
    text: 'hang up an answered call leg that sent no RTP this long, unless on hold; 0 off (default 30)',
  },
  'recordings-dir': {
    arg: 'DIR',
    text: 'where call recordings (WAV) are written (default: a recordings folder beside the database)',
  },
  'node-id': {
    arg: 'NAME',
    text: 'this node among the nodes sharing one PostgreSQL (default hostname-pid)',
  },
  'media-workers': {
    arg: 'N',
    text: 'run RTP in N worker threads (both legs of a bridge in one); 0 on the main thread (default: one per core)',
  },
  'session-expires-seconds': {
    arg: 'S',
    text: 'SIP session timer (RFC 4028) offered and granted at most, refreshed at half; 0 off (default 1800)',
  },
  'max-calls': { arg: 'N', text: 'concurrent call legs at most, then 503; 0 only the RTP range (default 0)' },
  'sip-auth-algorithms': {
    arg: 'LIST',
    text: 'digest algorithms REGISTER offers, e.g. SHA-256,MD5 (default MD5)',
  },
  'allow-loopback-callers': {
    arg: 'true|false',
    text: 'accept hotline and service calls from loopback besides trunks and registered phones (default true)',
  },
  'inband-dtmf': {
    arg: 'always|auto|off',
    text: 'detect DTMF tones in the audio: auto = on legs whose SDP has no telephone-event (default auto)',
  },
  diagnostics: { text: 'answer the diagnostic numbers 9000-9002 (default: as --demo)' },
  demo: { text: 'seed the demo company (published PIN 2580) into an empty database; never in production' },
};

const envName = (flag: string): string => `AGENTLINE_${flag.toUpperCase().replace(/-/g, '_')}`;

function flagLines(): string[] {
  const rows = [...FLAGS, ...BOOLEAN_FLAGS].map((flag) => {
    const help = FLAG_HELP[flag];
    return {
      left: `--${flag}${help?.arg ? ` ${help.arg}` : ''}`,
      text: help?.text ?? '',
      env: envName(flag),
    };
  });
  const width = Math.max(...rows.map((r) => r.left.length)) + 2;
  return rows.map((r) => `  ${r.left.padEnd(width)}${r.text} [${r.env}]`);
}

export function usage(): string {
  return [
    'usage: agentline start [flags]                    run the server',
    '       agentline backup <dest-file> [--db FILE]   online copy of the database, safe while the server runs',
    '       agentline demo                             a simulated day over loopback SIP (about a minute)',
    '       agentline --help | --version',
    '',
    'start flags (each also as the environment variable in brackets; flags win):',
    ...flagLines(),
    '',
    'Exit codes: 0 stopped cleanly (SIGTERM/SIGINT drain live calls with BYE), 1 failed at run time,',
    '2 bad command line or configuration (restarting will not help).',
    '',
  ].join('\n');
}

export function version(): string {
  // src/cli and dist/cli are both two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
