import type { Role } from '../store/store.ts';
import type { Principal } from './auth.ts';
import { HttpError } from './errors.ts';

/**
 * Who may call a route besides an admin. The default is nobody: a route open to
 * supervisors or viewers says so and says how its company is found, so a new route
 * is admin-only until someone decides otherwise.
 * - `admin`: admins only;
 * - `signed-in`: anyone signed in (their own session);
 * - `read`: admins, supervisors and viewers, within their companies;
 * - `supervise`: admins and supervisors, within their companies.
 */
export type AccessLevel = 'admin' | 'signed-in' | 'read' | 'supervise';

export const ROLES_OF: Record<AccessLevel, readonly Role[]> = {
  admin: ['admin'],
  'signed-in': ['admin', 'supervisor', 'viewer'],
  read: ['admin', 'supervisor', 'viewer'],
  supervise: ['admin', 'supervisor'],
};

/**
 * The companies a request may see. An admin sees all (unless the request narrows
 * itself with `?companyId=`); a supervisor or viewer sees their own. Lists filter
 * with `allows`, stores that take one company get `only`.
 */
export class Scope {
  private constructor(
    readonly principal: Principal,
    /** Null: every company. */
    private readonly ids: ReadonlySet<number> | null,
  ) {}

  static of(principal: Principal): Scope {
    return new Scope(principal, principal.role === 'admin' ? null : new Set(principal.companyIds));
  }

  get isAdmin(): boolean {
    return this.principal.role === 'admin';
  }

  allows(companyId: number | null | undefined): boolean {
    if (this.ids === null) return true;
    return companyId !== null && companyId !== undefined && this.ids.has(companyId);
  }

  /** 403 unless the company is in scope. */
  require(companyId: number | null | undefined): void {
    if (!this.allows(companyId)) throw forbidden();
  }

  /** This scope narrowed to `companyId` when one is asked for (403 if it is not in scope). */
  narrow(companyId: number | undefined): Scope {
    if (companyId === undefined) return this;
    this.require(companyId);
    return new Scope(this.principal, new Set([companyId]));
  }

  /** The companies in scope; undefined: every company. */
  get companyIds(): readonly number[] | undefined {
    return this.ids === null ? undefined : [...this.ids];
  }

  /** The one company in scope, if there is exactly one (what a store query can filter on). */
  get only(): number | undefined {
    if (this.ids === null || this.ids.size !== 1) return undefined;
    return this.ids.values().next().value;
  }
}

export function forbidden(message = 'not allowed for your role or companies'): HttpError {
  return new HttpError(403, 'forbidden', message);
}
