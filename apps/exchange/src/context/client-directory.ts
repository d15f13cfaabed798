/**
 * What the exchange needs to know about a registered client beyond its token: the purposes of use
 * it may assert and its rate limit. Bound to the client registry (apps/exchange/src/auth).
 */
export interface ClientPolicy {
  /** Null: the registration restricts no purpose. */
  readonly allowedPurposes: readonly string[] | null;
  /** Requests per second; null: the configured default. */
  readonly rateLimitPerSecond: number | null;
}

export interface ClientDirectory {
  clientPolicy(clientId: string): Promise<ClientPolicy | undefined>;
}

export const CLIENT_DIRECTORY = Symbol('CLIENT_DIRECTORY');
