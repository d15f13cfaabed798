import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import { OutboxWriter } from '@tessera/platform-outbox';
import { LOGGER } from '@tessera/platform-service';
import { MAPPER_VERSION } from '@tessera/v2-fhir';
import { InstitutionRegistry } from '../institutions/institution.registry';
import { enqueueCanonicalEvents } from './canonical-events';
import type { MappingDecision, StoredHl7Message } from './mapping-outcome.policy';
import { decideMapping } from './mapping-outcome.policy';

/** A replay's entry in ledger_messages.replays. */
export interface ReplayRecord {
  readonly at: string;
  readonly by: string;
  readonly mapperVersion: string;
  readonly outcome: 'mapped' | 'failed';
  readonly detail: string | null;
  readonly events: number;
}

export interface AppliedMapping {
  readonly state: 'mapped' | 'failed';
  readonly detail: string | null;
  readonly mapperVersion: string;
  readonly eventIds: readonly string[];
}

/**
 * The use case "map a stored message into canonical events" (docs/architecture.md "The path of
 * one message", step 3), shared by the hie.inbound.hl7v2 consumer and the operators' replay. The
 * events and the ledger state are written in the caller's transaction: with the consumer's inbox
 * row, or with the replay record.
 */
@Injectable()
export class MapMessageHandler {
  constructor(
    private readonly institutions: InstitutionRegistry,
    private readonly outbox: OutboxWriter,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Decides how `message` maps with the current mapper and registration. Never throws for the message's content. */
  decide(message: StoredHl7Message): MappingDecision {
    const institution =
      message.institutionId === null ? undefined : this.institutions.get(message.institutionId)?.institution;
    try {
      const others =
        institution === undefined
          ? new Set<string>()
          : this.institutions.identifierSystemsOfOthers(institution.id);
      return decideMapping(message, institution, others);
    } catch (error) {
      // A defect of the mapper, not of the message: the same input fails again, so record it
      // (replay once the mapper is fixed) instead of retrying. The error text stays in the log.
      this.logger.error({ err: error, ledgerId: message.ledgerId }, 'mapper failed unexpectedly');
      return {
        status: 'failed',
        mapperVersion: MAPPER_VERSION,
        detail: `Internal mapping error (${(error as Error).name}) in mapper ${MAPPER_VERSION}; the message is kept: replay it once the mapper is fixed.`,
      };
    }
  }

  /** First mapping of a message consumed from hie.inbound.hl7v2. Throws only for transient (database) errors. */
  async mapInbound(message: StoredHl7Message, tx: EntityManager): Promise<AppliedMapping> {
    const applied = await this.apply(tx, message.ledgerId, this.decide(message));
    if (applied.state === 'failed') {
      this.logger.warn({ ledgerId: message.ledgerId, detail: applied.detail }, 'message not mapped');
    }
    return applied;
  }

  /**
   * Enqueues the decision's events and records the outcome on the ledger row; with `replay`, also
   * appends {at, by, mapperVersion, outcome} to its replays.
   */
  async apply(
    tx: EntityManager,
    ledgerId: string,
    decision: MappingDecision,
    replay?: { readonly by: string; readonly at: Date },
  ): Promise<AppliedMapping> {
    const eventIds =
      decision.status === 'mapped' ? await enqueueCanonicalEvents(this.outbox, tx, decision.events) : [];
    const record: ReplayRecord | null =
      replay === undefined
        ? null
        : {
            at: replay.at.toISOString(),
            by: replay.by,
            mapperVersion: decision.mapperVersion,
            outcome: decision.status,
            detail: decision.detail,
            events: eventIds.length,
          };
    await tx.query(
      `UPDATE ledger_messages SET
         state = $2,
         state_detail = $3,
         mapper_version = $4,
         mapped_at = CASE WHEN $2 = 'mapped' THEN now() ELSE mapped_at END,
         published_at = CASE WHEN channel = 'mllp' THEN COALESCE(published_at, now()) ELSE published_at END,
         replays = CASE WHEN $5::jsonb IS NULL THEN replays ELSE replays || jsonb_build_array($5::jsonb) END
       WHERE id = $1`,
      [
        ledgerId,
        decision.status,
        decision.detail,
        decision.mapperVersion,
        record === null ? null : JSON.stringify(record),
      ],
    );
    return {
      state: decision.status,
      detail: decision.detail,
      mapperVersion: decision.mapperVersion,
      eventIds,
    };
  }
}
