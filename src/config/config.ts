import { availableParallelism, hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseCidr, type Cidr } from '../util/advertise.ts';
import { parseDbUrl } from '../util/db-url.ts';

/**
 * Start-up configuration: every flag also as AGENTLINE_<FLAG> (e.g.
 * AGENTLINE_SIP_PORT). Flags win over the environment; defaults last.
 */
export const configSchema = z.object({
  sipHost: z.string().min(1).default('0.0.0.0'),
  sipPort: z.coerce.number().int().min(0).max(65535).default(5060),
  rtpPorts: z
    .string()
    .regex(/^\d+-\d+$/, 'expected MIN-MAX, e.g. 20000-29999')
    .default('20000-29999')
    .transform((s, ctx) => {
      const [min, max] = s.split('-').map(Number) as [number, number];
      if (min < 1024 || max > 65534 || max - min < 3)
        ctx.addIssue({
          code: 'custom',
          message: 'RTP range must be within 1024-65534 and hold at least 2 ports',
        });
      return { min, max };
    }),
  httpHost: z.string().min(1).optional(),
  httpPort: z.coerce.number().int().min(0).max(65535).default(8080),
  db: z
    .string()
    .min(1)
    .default('./data/agentline.db')
    .superRefine((v, ctx) => {
      // A URL the store cannot open is a configuration error at start, not a crash later.
      try {
        parseDbUrl(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  trunk: z
    .string()
    .regex(
      /^sips?:[^:;]+(:\d+)?(;transport=(udp|tcp|tls))?$/i,
      'expected sip:HOST[:PORT][;transport=udp|tcp|tls] or sips:HOST[:PORT]',
    )
    .optional(),
  /** A proxy in front of several nodes (Kamailio): every out-of-dialog request goes through it. */
  outboundProxy: z
    .string()
    .regex(/^sip:[^:;@]+(:\d+)?(;transport=(udp|tcp))?$/i, 'expected sip:HOST[:PORT][;transport=udp|tcp]')
    .optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  adminToken: z.string().min(8).optional(),
  /** Bearer token for `/metrics`; unset leaves it open. */
  metricsToken: z.string().min(8).optional(),
  /** Address written into SDP and Contact when we listen on 0.0.0.0. */
  advertise: z.string().optional(),
  /** Networks (IPv4 CIDRs, comma-separated) whose peers see our local address, not --advertise. */
  localNets: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const nets: Cidr[] = [];
      for (const part of s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const net = parseCidr(part);
        if (net) nets.push(net);
        else ctx.addIssue({ code: 'custom', message: `"${part}" is not an IPv4 CIDR, e.g. 192.168.0.0/16` });
      }
      return nets;
    }),
  promptDir: z.string().optional(),
  /**
   * Answer the diagnostic numbers 9000–9002 (readback, echo, ring). Off by default: they answer
   * anyone and stream audio to whatever address an unauthenticated offer names. Unset, they
   * follow `--demo`.
   */
  diagnostics: z.boolean().optional(),
  /** Resource limits (issue 11); 0 turns a cap off. */
  tcpMaxConnections: z.coerce.number().int().min(0).default(1000),
  tcpMaxPerSource: z.coerce.number().int().min(0).default(20),
  tcpIdleSeconds: z.coerce.number().min(0).default(120),
  inviteRate: z.coerce.number().min(0).default(10),
  inviteBurst: z.coerce.number().int().min(1).default(20),
  trustedInviteRate: z.coerce.number().min(0).default(100),
  maxCalls: z.coerce.number().int().min(0).default(0),
  /** An answered, unheld leg with no RTP for this long is hung up as dead (issue 10); 0 off. */
  rtpTimeoutSeconds: z.coerce.number().min(0).default(30),
  /**
   * This node's name among the nodes sharing one PostgreSQL (issue 15): its heartbeat row, the
   * node its calls and holds belong to. Default `hostname-pid`.
   */
  nodeId: z
    .string()
    .min(1)
    .max(100)
    .default(() => `${hostname()}-${process.pid}`),
  /** RTP in this many worker threads (issue 13), one per core by default; 0: on the main thread. */
  mediaWorkers: z.coerce
    .number()
    .int()
    .min(0)
    .max(64)
    .default(() => Math.min(64, availableParallelism())),
  /** RFC 4028 session interval we offer and grant at most; 0 off; else at least Min-SE (90 s). */
  sessionExpiresSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .default(1800)
    .refine((v) => v === 0 || v >= 90, 'must be 0 (off) or at least 90 (RFC 4028 Min-SE)'),
  /** Digest algorithms the registrar offers, in order; MD5 only by default (RFC 8760 adds SHA-256). */
  sipAuthAlgorithms: z
    .string()
    .default('MD5')
    .transform((s, ctx) => {
      const list = s.split(',').map((a) => a.trim().toUpperCase());
      if (list.some((a) => a !== 'MD5' && a !== 'SHA-256') || new Set(list).size !== list.length)
        ctx.addIssue({ code: 'custom', message: 'expected MD5, SHA-256 or both, e.g. SHA-256,MD5' });
      return list as ('MD5' | 'SHA-256')[];
    }),
  /** Seed the demo company (published PINs) into an empty database: `--demo`, never by default. */
  demo: z.boolean().default(false),
  /** Accept hotline/service calls from 127.0.0.0/8 and ::1 besides trunks and registered phones (tests, demo). */
  allowLoopbackCallers: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** DTMF tone detection on received audio: `auto` on legs whose SDP has no telephone-event. */
  inbandDtmf: z.enum(['always', 'auto', 'off']).default('auto'),
  /** SIP over TLS (RFC 3261 §26): our certificate chain and key (PEM); both given, we listen on --tls-port. */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  tlsPort: z.coerce.number().int().min(0).max(65535).default(5061),
  /** CA certificates (PEM) that TLS peers are verified against instead of the system's. */
  tlsCa: z.string().min(1).optional(),
  /** Call recordings (WAV); unset: a `recordings` folder beside the database. */
  recordingsDir: z.string().min(1).optional(),
});

export type Config = z.infer<typeof configSchema>;

/** A bad flag or variable: the operator must fix the command line (exit code 2, no restart helps). */
export class ConfigError extends Error {}

export const FLAGS = [
  'sip-host',
  'sip-port',
  'rtp-ports',
  'http-host',
  'http-port',
  'db',
  'trunk',
  'sip-auth-algorithms',
  'log-level',
  'admin-token',
  'metrics-token',
  'advertise',
  'local-nets',
  'prompt-dir',
  'tcp-max-connections',
  'tcp-max-per-source',
  'tcp-idle-seconds',
  'invite-rate',
  'invite-burst',
  'trusted-invite-rate',
  'max-calls',
  'rtp-timeout-seconds',
  'media-workers',
  'session-expires-seconds',
  'allow-loopback-callers',
  'inband-dtmf',
  'tls-cert',
  'tls-key',
  'tls-port',
  'tls-ca',
  'recordings-dir',
  'outbound-proxy',
  'node-id',
] as const;

/** Flags that take no value (`--demo`); as variables `1`/`true`/`yes` or `0`/`false`/`no`. */
export const BOOLEAN_FLAGS = ['demo', 'diagnostics'] as const;

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(FLAGS.map((f) => [f, { type: 'string' as const }])),
      ...Object.fromEntries(BOOLEAN_FLAGS.map((f) => [f, { type: 'boolean' as const }])),
    },
    strict: true,
    allowPositionals: false,
  });
  const raw: Record<string, unknown> = {};
  for (const flag of FLAGS) {
    const envName = `AGENTLINE_${flag.toUpperCase().replace(/-/g, '_')}`;
    const value = (values as Record<string, string | undefined>)[flag] ?? env[envName];
    if (value !== undefined && value !== '') raw[camel(flag)] = value;
  }
  for (const flag of BOOLEAN_FLAGS) {
    const envName = `AGENTLINE_${flag.toUpperCase().replace(/-/g, '_')}`;
    const value =
      (values as Record<string, boolean | undefined>)[flag] ?? envBoolean(flag, envName, env[envName]);
    if (value !== undefined) raw[camel(flag)] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const msg = parsed.error.issues
      .map((i) => `--${i.path.join('.').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}: ${i.message}`)
      .join('; ');
    throw new ConfigError(`invalid configuration: ${msg}`);
  }
  return parsed.data;
}

function envBoolean(flag: string, name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(
    `invalid configuration: --${flag} (${name}): expected 1/true/yes/on or 0/false/no/off, got "${value}"`,
  );
}
