import { z } from 'zod';
import { AppError } from '../util/errors.ts';
import { COUNTRIES, type Country } from '../util/phone-number.ts';
import type { CompanySettings } from './store.ts';
import {
  ACCEPT_CALL_MODES,
  ANNOUNCE_NUMBER_MODES,
  DELIVER_TO,
  EXTERNAL_TRANSFER_MODES,
  LANGUAGES,
  PRESENTED_CALLER_IDS,
  RECORDING_ANNOUNCEMENTS,
  RECORDING_MODES,
} from './vocabulary.ts';

/** One `allowedDestinations` entry: `agents`, or `+`? digits/`X` then an optional `*`. */
const DESTINATION_PATTERN = /^(agents|\+?[0-9X]+\*?|\+?\*)$/;

/** Field validators without defaults (shared by the full schema and the patch schema). */
const fields = {
  externalTransfer: z.enum(EXTERNAL_TRANSFER_MODES),
  announceNumber: z.enum(ANNOUNCE_NUMBER_MODES),
  ringSeconds: z.number().int().min(5).max(300),
  wrapUpSeconds: z.number().int().min(0).max(3600),
  breakMinutes: z.number().int().min(1).max(480),
  deliverTo: z.enum(DELIVER_TO),
  language: z.enum(LANGUAGES),
  allowedDestinations: z
    .array(z.string().regex(DESTINATION_PATTERN, 'agents, or a pattern like +7* or +7495XXXXXXX'))
    .max(100),
  announceSeconds: z.number().int().min(10).max(600),
  // 8 is the longest PIN SPEC §2 allows: a larger minimum would refuse every PIN.
  minPinLength: z.number().int().min(4).max(8),
  presentedCallerId: z.enum(PRESENTED_CALLER_IDS),
  acceptCall: z.enum(ACCEPT_CALL_MODES),
  // A digit: the prompt says it ("… press" + digit_N).
  acceptKey: z.string().regex(/^[0-9]$/, 'one digit, 0-9'),
  acceptSeconds: z.number().int().min(3).max(60),
  // The dial plan numbers are read in (src/util/phone-number.ts); E164: '+' and 00 only.
  country: z.enum(COUNTRIES as [Country, ...Country[]]),
  timeZone: z.string().max(64).refine(isTimeZone, 'an IANA time zone, like Europe/Moscow'),
  recording: z.enum(RECORDING_MODES),
  recordingAnnouncement: z.enum(RECORDING_ANNOUNCEMENTS),
  recordingRetentionDays: z.number().int().min(1).max(3650),
};

/** SPEC §7 defaults. */
export const DEFAULT_COMPANY_SETTINGS: Readonly<CompanySettings> = Object.freeze({
  externalTransfer: 'release_on_answer',
  announceNumber: 'stay_until_connected',
  ringSeconds: 20,
  wrapUpSeconds: 0,
  breakMinutes: 15,
  deliverTo: 'caller_id',
  language: 'ru',
  allowedDestinations: ['agents', '+7*'],
  announceSeconds: 30,
  minPinLength: 4,
  presentedCallerId: 'customer',
  acceptCall: 'key',
  acceptKey: '1',
  acceptSeconds: 10,
  country: 'RU',
  timeZone: 'Europe/Moscow',
  recording: 'off',
  recordingAnnouncement: 'on',
  recordingRetentionDays: 90,
});

/** Full settings: every field, missing ones take their default; unknown keys are dropped. */
export const companySettingsSchema = z.object({
  externalTransfer: fields.externalTransfer.default(DEFAULT_COMPANY_SETTINGS.externalTransfer),
  announceNumber: fields.announceNumber.default(DEFAULT_COMPANY_SETTINGS.announceNumber),
  ringSeconds: fields.ringSeconds.default(DEFAULT_COMPANY_SETTINGS.ringSeconds),
  wrapUpSeconds: fields.wrapUpSeconds.default(DEFAULT_COMPANY_SETTINGS.wrapUpSeconds),
  breakMinutes: fields.breakMinutes.default(DEFAULT_COMPANY_SETTINGS.breakMinutes),
  deliverTo: fields.deliverTo.default(DEFAULT_COMPANY_SETTINGS.deliverTo),
  language: fields.language.default(DEFAULT_COMPANY_SETTINGS.language),
  allowedDestinations: fields.allowedDestinations.default(() => [
    ...DEFAULT_COMPANY_SETTINGS.allowedDestinations,
  ]),
  announceSeconds: fields.announceSeconds.default(DEFAULT_COMPANY_SETTINGS.announceSeconds),
  minPinLength: fields.minPinLength.default(DEFAULT_COMPANY_SETTINGS.minPinLength),
  presentedCallerId: fields.presentedCallerId.default(DEFAULT_COMPANY_SETTINGS.presentedCallerId),
  acceptCall: fields.acceptCall.default(DEFAULT_COMPANY_SETTINGS.acceptCall),
  acceptKey: fields.acceptKey.default(DEFAULT_COMPANY_SETTINGS.acceptKey),
  acceptSeconds: fields.acceptSeconds.default(DEFAULT_COMPANY_SETTINGS.acceptSeconds),
  country: fields.country.default(DEFAULT_COMPANY_SETTINGS.country),
  timeZone: fields.timeZone.default(DEFAULT_COMPANY_SETTINGS.timeZone),
  recording: fields.recording.default(DEFAULT_COMPANY_SETTINGS.recording),
  recordingAnnouncement: fields.recordingAnnouncement.default(DEFAULT_COMPANY_SETTINGS.recordingAnnouncement),
  recordingRetentionDays: fields.recordingRetentionDays.default(DEFAULT_COMPANY_SETTINGS.recordingRetentionDays),
});

/** Whether the runtime knows `name` as a time zone (Node ships the full ICU data). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** A partial update from the admin API: only known keys, each validated, no defaults filled in. */
export const companySettingsPatchSchema = z.strictObject(fields).partial();

// Keep the zod output and the hand-written interface in step (compile-time check both ways).
type SchemaOutput = z.output<typeof companySettingsSchema>;
const _toInterface = (s: SchemaOutput): CompanySettings => s;
const _fromInterface = (s: CompanySettings): SchemaOutput => s;
void _toInterface;
void _fromInterface;

/** Validates full settings (defaults filled in); throws `AppError('invalid_input')`. */
export function parseCompanySettings(input: unknown): CompanySettings {
  const r = companySettingsSchema.safeParse(input ?? {});
  if (!r.success) throw invalid(r.error);
  return r.data;
}

/** Applies a validated patch to `current`; throws `AppError('invalid_input')`. */
export function mergeCompanySettings(current: CompanySettings, patch: unknown): CompanySettings {
  const r = companySettingsPatchSchema.safeParse(patch ?? {});
  if (!r.success) throw invalid(r.error);
  const defined = Object.fromEntries(Object.entries(r.data).filter(([, v]) => v !== undefined));
  return parseCompanySettings({ ...current, ...defined });
}

/**
 * Whether `number` (digits, optional leading `+`) is allowed by `patterns`.
 * `isCompanyAgent` answers for the `agents` entry (short number or contact of one of the company's agents).
 */
export function destinationAllowed(
  patterns: readonly string[],
  number: string,
  isCompanyAgent: boolean,
): boolean {
  for (const p of patterns) {
    if (p === 'agents') {
      if (isCompanyAgent) return true;
      continue;
    }
    if (patternMatches(p, number)) return true;
  }
  return false;
}

function patternMatches(pattern: string, number: string): boolean {
  const open = pattern.endsWith('*');
  const body = open ? pattern.slice(0, -1) : pattern;
  if (open ? number.length < body.length : number.length !== body.length) return false;
  for (let i = 0; i < body.length; i++) {
    const p = body[i];
    const c = number[i];
    if (p === 'X' ? !(c !== undefined && c >= '0' && c <= '9') : p !== c) return false;
  }
  return open ? /^[0-9]*$/.test(number.slice(body.length)) : true;
}

function invalid(error: z.ZodError): AppError {
  return new AppError('invalid_input', `invalid company settings: ${z.prettifyError(error)}`, {
    cause: error,
    details: error.issues,
  });
}
