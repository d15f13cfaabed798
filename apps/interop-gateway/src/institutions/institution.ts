import { z } from 'zod';
import { isSupportedHl7Charset } from '@tessera/hl7v2';
import { isAddressRule } from './sender-address.policy';

/**
 * The exchange names its own identifier systems under `urn:tessera:` (the enterprise id
 * `urn:tessera:enterprise-id`, the mapper's `urn:tessera:aa:<institution>:<authority>` for an
 * authority nobody registered, `urn:tessera:institution`, …). No institution may register one as an
 * assigning authority or send a patient identifier in one: the MPI reads an identifier in the
 * enterprise-id system as a claim to be that person. RFC 8141: the `urn` scheme and the namespace id
 * compare case-insensitively.
 */
export const EXCHANGE_SYSTEM_PREFIX = 'urn:tessera:';

/** True for an identifier system in the exchange's own namespace (see EXCHANGE_SYSTEM_PREFIX). */
export function isExchangeIdentifierSystem(system: string): boolean {
  return system.slice(0, EXCHANGE_SYSTEM_PREFIX.length).toLowerCase() === EXCHANGE_SYSTEM_PREFIX;
}

/** A client-certificate common name as an institution registers it (compared exactly). */
const certificateName = z.string().min(1).max(200);

/**
 * A registered institution (a tenant of the exchange): its feeds' MSH-4 codes, the identifier
 * systems of its patient ids by assigning authority, and its feed settings — including how its
 * feeds prove who sends them (a client certificate name, or the source addresses of its own port).
 */
export const institutionSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lowercase letters, digits and -'),
    name: z.string().min(1).max(200),
    sendingFacilities: z.array(z.string().min(1).max(180)).min(1),
    assigningAuthorities: z
      .array(
        z.object({
          namespace: z.string().min(1),
          system: z
            .string()
            .regex(/^(urn:oid:[0-2](\.\d+)+|urn:[a-z0-9-]+:.+|https?:\/\/.+)$/, 'a URI or urn:oid:')
            .refine(
              (system) => !isExchangeIdentifierSystem(system),
              `${EXCHANGE_SYSTEM_PREFIX}… systems are reserved for the exchange's own identifiers (the enterprise id among them): register the system your hospital assigns its patient numbers under (its ISO OID as urn:oid:, or its URI)`,
            ),
          default: z.boolean().default(false),
        }),
      )
      .min(1)
      .refine((list) => list.filter((a) => a.default).length <= 1, 'at most one default assigning authority'),
    feed: z
      .object({
        ackMode: z.enum(['original', 'enhanced', 'message']).default('message'),
        defaultCharset: z
          .string()
          .default('UNICODE UTF-8')
          .refine((c) => isSupportedHl7Charset(c), 'an HL7 table 0211 character set the gateway supports'),
        /** A port of this institution's own (in addition to the shared MLLP port); only its facilities may send there. */
        port: z.number().int().min(1).max(65535).optional(),
        /** On its own port: TLS, and a client certificate signed by MLLP_TLS_CA_FILE is required. */
        tls: z.boolean().default(false),
        /**
         * Subject CNs of the client certificates that identify this institution, on its TLS port and
         * on a TLS shared port (MLLP_SHARED_TLS). Default: the institution id.
         */
        certificateNames: z.array(certificateName).min(1).optional(),
        /** Source addresses or CIDR blocks (IPv4/IPv6) allowed to connect to its own plain port. */
        allowedAddresses: z
          .array(z.string().refine(isAddressRule, 'an IPv4/IPv6 address or CIDR block, e.g. 10.20.0.0/16'))
          .default([]),
      })
      .refine((feed) => !feed.tls || feed.port !== undefined, {
        message: "tls needs a port of the institution's own",
        path: ['tls'],
      })
      .refine((feed) => feed.allowedAddresses.length === 0 || feed.port !== undefined, {
        message: "allowedAddresses apply to a port of the institution's own: set port",
        path: ['allowedAddresses'],
      }),
    active: z.boolean().default(true),
  })
  .transform(withFeedDefaults);

export type Institution = z.output<typeof institutionSchema>;
export type InstitutionInput = z.input<typeof institutionSchema>;

/**
 * Fills the feed settings added after an institution was first stored: its certificate names
 * default to its id, its allow-list to none. Applied to every document read from the registry.
 */
export function withFeedDefaults<T extends { readonly id: string; readonly feed: object }>(
  institution: T,
): Omit<T, 'feed'> & { feed: T['feed'] & { certificateNames: string[]; allowedAddresses: string[] } } {
  const feed = institution.feed as { certificateNames?: string[]; allowedAddresses?: string[] };
  return {
    ...institution,
    feed: {
      ...institution.feed,
      certificateNames: feed.certificateNames ?? [institution.id],
      allowedAddresses: feed.allowedAddresses ?? [],
    },
  };
}

/** The system of a PID-3 identifier's assigning authority, or its default (never guessed). */
export function identifierSystemFor(institution: Institution, namespace: string): string | undefined {
  const match = institution.assigningAuthorities.find((a) => a.namespace === namespace);
  if (match !== undefined) return match.system;
  if (namespace === '')
    return (institution.assigningAuthorities.find((a) => a.default) ?? institution.assigningAuthorities[0])
      ?.system;
  return undefined;
}
