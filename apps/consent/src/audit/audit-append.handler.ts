import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuditRecordData } from '@tessera/platform-audit';
import { chainHash, GENESIS_HASH } from './audit-chain';

/** Advisory lock key of the audit chain (arbitrary, fixed; held to the end of the appending transaction). */
export const AUDIT_CHAIN_LOCK = 7_265_101;

/**
 * Appends one audit record to the chain, inside the consumer's transaction (which also writes the
 * inbox row). The transaction-scoped advisory lock serializes appenders across partitions and
 * replicas, so the last row read under it is the chain's head until this transaction commits;
 * records of one transaction group chain onto each other (the head is remembered per transaction).
 * `seq` is assigned here (head + 1), so the chain has no gaps; the column's sequence is not used.
 */
@Injectable()
export class AuditAppendHandler {
  private readonly heads = new WeakMap<EntityManager, { seq: number; hash: string }>();

  async append(eventId: string, record: AuditRecordData, tx: EntityManager): Promise<void> {
    let head = this.heads.get(tx);
    if (head === undefined) {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_CHAIN_LOCK]);
      const [last] = await tx.query<Array<{ seq: string; hash: string }>>(
        'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1',
      );
      head = last === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(last.seq), hash: last.hash };
    }
    // Under the lock the next position is the head's + 1: no gaps, no sequence round trip.
    const seq = head.seq + 1;
    const prevHash = head.hash;
    const hash = chainHash(prevHash, { seq, eventId, record });
    const inserted = await tx.query<unknown[]>(
      `INSERT INTO audit_events (seq, event_id, recorded_at, type, subtype, action, outcome, client_id, institution_id,
         purpose, break_glass, patients, entities, record, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15, $16)
       ON CONFLICT (event_id) DO NOTHING
       RETURNING seq`,
      [
        seq,
        eventId,
        record.recordedAt,
        record.type,
        record.subtype,
        record.action,
        record.outcome,
        record.agent.clientId,
        record.agent.institutionId,
        record.purposeOfUse ?? null,
        record.breakGlass,
        record.patients,
        JSON.stringify(record.entities),
        JSON.stringify(record),
        prevHash,
        hash,
      ],
    );
    // A repeat of a stored event (another group's inbox) leaves the head where it was.
    this.heads.set(tx, inserted.length > 0 ? { seq, hash } : head);
  }
}
