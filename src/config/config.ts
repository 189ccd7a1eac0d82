import { parseArgs } from 'node:util';
import { z } from 'zod';

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
  db: z.string().min(1).default('./data/agentline.db'),
  trunk: z
    .string()
    .regex(/^sips?:[^:;]+(:\d+)?(;transport=(udp|tcp))?$/i, 'expected sip:HOST[:PORT][;transport=udp|tcp]')
    .optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  adminToken: z.string().min(8).optional(),
  /** Address written into SDP and Contact when we listen on 0.0.0.0. */
  advertise: z.string().optional(),
  promptDir: z.string().optional(),
  /** Accept hotline/service calls from 127.0.0.0/8 and ::1 besides trunks and registered phones (tests, demo). */
  allowLoopbackCallers: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});

export type Config = z.infer<typeof configSchema>;

const FLAGS = [
  'sip-host',
  'sip-port',
  'rtp-ports',
  'http-host',
  'http-port',
  'db',
  'trunk',
  'log-level',
  'admin-token',
  'advertise',
  'prompt-dir',
  'allow-loopback-callers',
] as const;

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(FLAGS.map((f) => [f, { type: 'string' as const }])),
    strict: true,
    allowPositionals: false,
  });
  const raw: Record<string, unknown> = {};
  for (const flag of FLAGS) {
    const envName = `AGENTLINE_${flag.toUpperCase().replace(/-/g, '_')}`;
    const value = (values as Record<string, string | undefined>)[flag] ?? env[envName];
    if (value !== undefined && value !== '') raw[camel(flag)] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const msg = parsed.error.issues
      .map((i) => `--${i.path.join('.').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}: ${i.message}`)
      .join('; ');
    throw new Error(`invalid configuration: ${msg}`);
  }
  return parsed.data;
}
