import { createHash, randomUUID } from 'node:crypto';
import { HttpStatus, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxWriter } from '@tessera/platform-outbox';
import type { Institution } from '../institutions/institution';
import { InstitutionRegistry } from '../institutions/institution.registry';
import { enqueueCanonicalEvents } from '../mapping/canonical-events';
import { convertBundle, FHIR_INGEST_VERSION, parseBundleJson } from './fhir-bundle.converter';
import { validateBundle } from './fhir-bundle.schema';
import { OperationOutcomeException } from '@tessera/platform-service';

export interface FhirIngestResult {
  readonly ledgerId: string;
  readonly bundleType: 'transaction' | 'message';
  /** True when the same bytes were submitted before: nothing was published again. */
  readonly duplicate: boolean;
  readonly locations: readonly string[];
  readonly events: number;
}

/**
 * The use case behind `POST /fhir`: validate a Bundle from a registered institution, then in ONE
 * transaction store it in the message ledger (channel http, raw = the JSON bytes, deduplicated by
 * SHA-256 so a re-POST is recognised) and enqueue its canonical events through the outbox. An
 * invalid Bundle is answered 400 and not stored; so is one whose patient identifiers are in the
 * exchange's own systems or in a system only another institution registered.
 */
@Injectable()
export class FhirIngestHandler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly institutions: InstitutionRegistry,
  ) {}

  /** `clientId`: the token's client, recorded as the sender's identity (authenticated by access token). */
  async ingest(
    raw: Buffer,
    institution: Institution,
    peer: string,
    clientId: string,
  ): Promise<FhirIngestResult> {
    const json = parseBundleJson(raw);
    if (json === undefined) {
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
        {
          code: 'structure',
          expression: 'Bundle',
          diagnostics: 'The body is not valid JSON (UTF-8): send a FHIR R4 Bundle in JSON.',
        },
      ]);
    }
    const validation = validateBundle(
      json,
      institution,
      this.institutions.identifierSystemsOfOthers(institution.id),
    );
    if (!validation.ok) throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, validation.issues);
    const bundle = validation.bundle;
    const sha256 = createHash('sha256').update(raw).digest('hex');
    const id = randomUUID();
    return this.dataSource.transaction(async (tx) => {
      const converted = convertBundle(bundle, institution, id, sha256, 'access-token');
      const [row] = await tx.query<Array<{ id: string; inserted: boolean }>>(
        `INSERT INTO ledger_messages (id, received_at, institution_id, sending_application, sending_facility, message_type,
           control_id, hl7_version, content_sha256, charset, size_bytes, raw, peer, channel, partition_key, ack_mode, state,
           mapped_at, mapper_version, sender_authentication, sender_identity)
         VALUES ($1, now(), $2, 'FHIR', $3, $4, $5, 'FHIR R4', $6, 'UTF-8', $7, $8, $9, 'http', $10, 'original', 'mapped', now(), $11,
           'access-token', $12)
         ON CONFLICT (institution_id, sending_facility, control_id, content_sha256) WHERE NOT sender_refused
           DO UPDATE SET resend_count = ledger_messages.resend_count + 1
         RETURNING id, (xmax = 0) AS inserted`,
        [
          id,
          institution.id,
          `fhir:${institution.id}`,
          `FHIR^${bundle.type}`,
          bundle.submissionId,
          sha256,
          raw.length,
          raw,
          peer,
          converted.partitionKey,
          FHIR_INGEST_VERSION,
          clientId,
        ],
      );
      if (row === undefined || !row.inserted) {
        return {
          ledgerId: row?.id ?? id,
          bundleType: bundle.type,
          duplicate: true,
          locations: converted.locations,
          events: 0,
        };
      }
      const eventIds = await enqueueCanonicalEvents(this.outbox, tx, converted.events);
      return {
        ledgerId: id,
        bundleType: bundle.type,
        duplicate: false,
        locations: converted.locations,
        events: eventIds.length,
      };
    });
  }
}
