import { z } from 'zod';
import { isIP } from 'node:net';
import { AppError } from '../util/errors.ts';
import {
  CALL_OUTCOMES,
  DISTRIBUTION_STRATEGIES,
  INBAND_DTMF_MODES,
  NUMBER_FORMATS,
  NUMBER_FROM,
  NUMBER_KINDS,
  RECORDING_MODES,
  SIP_DIGEST_ALGORITHMS,
  SRTP_POLICIES,
} from './vocabulary.ts';

/** Input validators shared by every Store implementation. */

export const E164 = /^\+[1-9][0-9]{6,14}$/;
export const SIP_USER = /^sip:[A-Za-z0-9._~!$&'()*+,;=%-]+(@[A-Za-z0-9.:[\]-]+)?$/;

export const contactSchema = z
  .string()
  .refine(
    (s) => E164.test(s) || SIP_USER.test(s),
    'an E.164 number (+79000000001) or a SIP user (sip:alice)',
  );
export const loginSchema = z.string().regex(/^[0-9]{1,12}$/, '1–12 digits');
export const supervisorSchema = z.boolean();
export const shortNumberSchema = z.string().regex(/^[0-9]{2,6}$/, '2–6 digits');
export const departmentCodeSchema = z.string().regex(/^[0-9]{3}$/, 'exactly 3 digits');
export const nameSchema = z.string().trim().min(1).max(200);
export const idSchema = z.number().int().positive();

// The vocabulary's enumerations as schemas (declared once in vocabulary.ts).
export const srtpPolicySchema = z.enum(SRTP_POLICIES);
export const inbandDtmfSchema = z.enum(INBAND_DTMF_MODES);
export const numberFromSchema = z.enum(NUMBER_FROM);
export const numberFormatSchema = z.enum(NUMBER_FORMATS);
export const digestAlgorithmSchema = z.enum(SIP_DIGEST_ALGORITHMS);
export const numberKindSchema = z.enum(NUMBER_KINDS);
export const callOutcomeSchema = z.enum(CALL_OUTCOMES);

export const agentDepartmentsSchema = z
  .array(z.object({ departmentId: idSchema, priority: z.number().int().min(1).max(100) }))
  .max(100)
  .refine((a) => new Set(a.map((d) => d.departmentId)).size === a.length, 'a department appears twice');

export const overflowSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('department'), code: departmentCodeSchema }),
    z.object({ kind: z.literal('hangup') }),
  ])
  .nullable();

export const departmentFieldsSchema = z.object({
  code: departmentCodeSchema,
  name: nameSchema,
  strategy: z.enum(DISTRIBUTION_STRATEGIES),
  maxWaitSeconds: z.number().int().min(0).max(86_400),
  maxQueueLength: z.number().int().min(0).max(10_000),
  overflow: overflowSchema,
  greeting: z.string().min(1).max(500).nullable(),
  recording: z
    .enum(RECORDING_MODES)
    .nullable()
    .describe("Call recording here: `off`, `all`, `on_demand`; null: the company's setting"),
});

export const numberRouteSchema = z
  .object({
    number: z.string().regex(/^\+?[0-9]{2,20}$/, 'digits, optionally with a leading +'),
    kind: numberKindSchema,
    companyId: idSchema.nullable(),
    departmentId: idSchema.nullable(),
  })
  .refine((r) => r.kind === 'service' || (r.companyId !== null && r.departmentId !== null), {
    message: 'a hotline needs a company and a department',
  });

/** Parses or throws `AppError('invalid_input')` naming `what`. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new AppError('invalid_input', `invalid ${what}: ${z.prettifyError(r.error)}`, {
      cause: r.error,
      details: r.error.issues,
    });
  }
  return r.data;
}

/**
 * `sip:HOST[:PORT][;transport=udp|tcp|tls]` or `sips:HOST[:PORT]` (TLS, RFC 5630)
 * with an IP literal host (we never resolve names at call time). sips: over UDP
 * is a contradiction and refused.
 */
export const trunkUriSchema = z
  .string()
  .regex(
    /^(sip:(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(;transport=(udp|tcp|tls))?|sips:(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(;transport=(tcp|tls))?)$/i,
    'sip:IP[:PORT][;transport=udp|tcp|tls] or sips:IP[:PORT]',
  );

/** An IPv4/IPv6 address, or one with a /prefix. */
export const ipOrCidrSchema = z.string().refine((s) => {
  const [ip, bits, more] = s.split('/');
  if (more !== undefined || !ip) return false;
  const v = isIP(ip);
  if (v === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (v === 4 ? 32 : 128);
}, 'an IP address or CIDR (10.0.0.0/8)');

export const trunkFieldsSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1–64 letters, digits, . _ -'),
  uri: trunkUriSchema,
  username: z.string().min(1).max(128).nullable(),
  password: z.string().min(1).max(256).nullable(),
  realm: z.string().min(1).max(256).nullable(),
  register: z.boolean(),
  priority: z.number().int().min(0).max(1000),
  inbound: z.array(ipOrCidrSchema).max(100),
  companies: z.array(idSchema).max(1000),
  numberFrom: numberFromSchema,
  numberFormat: numberFormatSchema,
  inbandDtmf: inbandDtmfSchema,
  qualifySeconds: z.number().int().min(0).max(3600),
  srtp: srtpPolicySchema,
});
