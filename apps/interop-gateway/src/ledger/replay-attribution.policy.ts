/** What decides which institution a stored message is attributed to when it is replayed. */
export interface StoredAttribution {
  readonly channel: string;
  /** The institution the row is attributed to now. */
  readonly institutionId: string | null;
  /** How its sender was authenticated (null: recorded before this was kept, i.e. none). */
  readonly senderAuthentication: string | null;
  /** MSH-4 as sent. */
  readonly sendingFacility: string;
}

/**
 * Senders whose MSH-4 was believed when the message arrived: nothing but the sending facility named
 * the institution (a plain shared port, a loopback development listener). docs/architecture.md
 * "Consent and security": MSH-4 must belong to the institution the connection authenticated as.
 */
const MSH4_BELIEVED: ReadonlySet<string | null> = new Set([null, 'none', 'loopback']);

/**
 * The institution a replay maps the message for. When only MSH-4 named the sender, the facility is
 * looked up again under today's registrations, so a sending facility that was registered to the
 * wrong institution is re-attributed once an operator moved it (docs/identity-corrections.md). A
 * message whose connection proved its institution (TLS client certificate, allow-listed port,
 * access token) stays that institution's: a registration change never makes one institution's
 * connection speak for another. A facility no longer registered keeps the stored attribution.
 */
export function attributionOnReplay(
  row: StoredAttribution,
  institutionOfFacility: (facility: string) => string | undefined,
): string | null {
  if (row.channel !== 'mllp' || !MSH4_BELIEVED.has(row.senderAuthentication)) return row.institutionId;
  return institutionOfFacility(row.sendingFacility) ?? row.institutionId;
}
