/**
 * The one family of expected failures. `code` is stable (HTTP maps it to a
 * status and returns it as `{ error: { code, message } }`); `cause` keeps the
 * underlying error for logs.
 *
 * Codes used so far:
 * - `invalid_input`       — a value failed validation (details in `details`)
 * - `not_found`           — the named entity does not exist
 * - `conflict`            — a unique value is already taken (login, code, number …)
 * - `invalid_reference`   — a foreign key points nowhere
 * - `invalid_transition`  — a state machine refused the move
 * - `closed`              — the component was closed
 */
export class AppError extends Error {
  readonly code: string;
  readonly details: unknown;

  constructor(code: string, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
  }
}

/** True when `err` is an AppError (with the given code, if one is given). */
export function isAppError(err: unknown, code?: string): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}
