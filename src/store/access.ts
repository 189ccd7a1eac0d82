/**
 * Start-up of access control (issue 11): the admin bearer token and the first console user.
 * The composition root calls these once the store is open and prints what they return.
 */
import type { AccessStore, AuthStore } from './store.ts';
import { newPassword, newSecret, sha256Hex } from './secrets.ts';

const ADMIN_TOKEN_KEY = 'admin_token_sha256';

/**
 * The SHA-256 of the admin token: of `--admin-token` when given, else the one stored, else of
 * a new token that is returned (`generated`) to be shown once. Only the hash is ever stored.
 */
export async function resolveAdminToken(
  auth: AuthStore,
  configured: string | undefined,
): Promise<{ sha256: string; generated?: string }> {
  if (configured) return { sha256: sha256Hex(configured) };
  const stored = await auth.getSetting(ADMIN_TOKEN_KEY);
  if (stored) return { sha256: stored };
  const generated = newSecret();
  const sha256 = sha256Hex(generated);
  await auth.setSetting(ADMIN_TOKEN_KEY, sha256);
  return { sha256, generated };
}

export const FIRST_ADMIN = 'admin';

/**
 * A database without any console user gets one: `admin` with a random password, returned
 * to be shown once (it is stored only as a scrypt hash). Null when users exist.
 */
export async function ensureFirstAdmin(
  access: AccessStore,
  at: number,
): Promise<{ username: string; password: string } | null> {
  if ((await access.listUsers()).length) return null;
  const password = newPassword();
  await access.createUser({ username: FIRST_ADMIN, password, role: 'admin' }, at);
  return { username: FIRST_ADMIN, password };
}
