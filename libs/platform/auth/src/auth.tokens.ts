/** DI tokens of the auth module. */

/** Validated AuthSettings (AUTH_ISSUER, AUTH_JWKS_URL). */
export const AUTH_SETTINGS = Symbol('AUTH_SETTINGS');

/**
 * Optional: an app binds this to be told about every refused call (401/403/503), e.g. to write a
 * `security-alert` audit record. Value: a function or an object with `onAuthRejected`.
 */
export const AUTH_REJECTION_LISTENER = Symbol('AUTH_REJECTION_LISTENER');

export interface AuthRejection {
  readonly reason: string;
  readonly status: 401 | 403 | 503;
  /** The `sub` of the token when it could be read from a verified token. */
  readonly clientId?: string;
  /** Request path without the query string. */
  readonly path: string;
  readonly method: string;
}

export type AuthRejectionListener =
  | ((rejection: AuthRejection) => void | Promise<void>)
  | { onAuthRejected(rejection: AuthRejection): void | Promise<void> };
