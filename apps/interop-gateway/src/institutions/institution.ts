import { z } from 'zod';
import { isSupportedHl7Charset } from '@tessera/hl7v2';

/**
 * A registered institution (a tenant of the exchange): its feeds' MSH-4 codes, the identifier
 * systems of its patient ids by assigning authority, and its feed settings.
 */
export const institutionSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lowercase letters, digits and -'),
  name: z.string().min(1).max(200),
  sendingFacilities: z.array(z.string().min(1).max(180)).min(1),
  assigningAuthorities: z
    .array(
      z.object({
        namespace: z.string().min(1),
        system: z.string().regex(/^(urn:oid:[0-2](\.\d+)+|urn:[a-z0-9-]+:.+|https?:\/\/.+)$/, 'a URI or urn:oid:'),
        default: z.boolean().default(false),
      }),
    )
    .min(1)
    .refine((list) => list.filter((a) => a.default).length <= 1, 'at most one default assigning authority'),
  feed: z.object({
    ackMode: z.enum(['original', 'enhanced', 'message']).default('message'),
    defaultCharset: z
      .string()
      .default('UNICODE UTF-8')
      .refine((c) => isSupportedHl7Charset(c), 'an HL7 table 0211 character set the gateway supports'),
    /** A port of this institution's own (in addition to the shared MLLP port); only its facilities may send there. */
    port: z.number().int().min(1).max(65535).optional(),
    /** On its own port: TLS, and a client certificate signed by MLLP_TLS_CA_FILE is required. */
    tls: z.boolean().default(false),
  })
  .refine((feed) => !feed.tls || feed.port !== undefined, { message: 'tls needs a port of the institution\'s own', path: ['tls'] }),
  active: z.boolean().default(true),
});

export type Institution = z.output<typeof institutionSchema>;
export type InstitutionInput = z.input<typeof institutionSchema>;

/** The system of a PID-3 identifier's assigning authority, or its default (never guessed). */
export function identifierSystemFor(institution: Institution, namespace: string): string | undefined {
  const match = institution.assigningAuthorities.find((a) => a.namespace === namespace);
  if (match !== undefined) return match.system;
  if (namespace === '') return (institution.assigningAuthorities.find((a) => a.default) ?? institution.assigningAuthorities[0])?.system;
  return undefined;
}
