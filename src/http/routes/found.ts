import { HttpError } from '../errors.ts';

/** `value` when there is one; otherwise a 404 `not_found` saying `message`. */
export function found<T>(value: T | null | undefined, message: string): T {
  if (value === null || value === undefined) throw new HttpError(404, 'not_found', message);
  return value;
}
