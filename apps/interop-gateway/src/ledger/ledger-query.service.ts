import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditRecorded } from '@tessera/contracts';
import type { Principal } from '@tessera/platform-auth';
import { decodeHl7Bytes } from '@tessera/hl7v2';
import { OutboxWriter } from '@tessera/platform-outbox';
import { GATEWAY_SOURCE } from '../mapping/canonical-events';
import type { LedgerFilter, LedgerPage } from './ledger-filter';
import { encodeCursor, filterSql } from './ledger-filter';

/** One ledger message in a list: metadata only, never content. */
export interface LedgerListItem {
  readonly id: string;
  readonly receivedAt: string;
  readonly institutionId: string | null;
  readonly sendingFacility: string;
  readonly messageType: string;
  readonly controlId: string;
  readonly channel: string;
  /** How the sender was authenticated (tls-client-certificate, ip-allow-list, loopback, access-token, none); null before it was recorded. */
  readonly senderAuthentication: string | null;
  /** `CN=…`, the peer address or the token's client id; null when nothing was authenticated. */
  readonly senderIdentity: string | null;
  /** Refused because of who sent it (AR 204 at MSH-4): never the original of a resend. */
  readonly senderRefused: boolean;
  readonly state: string;
  readonly stateDetail: string | null;
  readonly ackCode: string | null;
  readonly ackLatencyMs: number | null;
  readonly duplicateControlId: boolean;
  readonly resendCount: number;
  readonly publishedAt: string | null;
  readonly mappedAt: string | null;
  readonly mapperVersion: string | null;
  readonly replays: number;
}

export interface LedgerDetail extends Omit<LedgerListItem, 'replays'> {
  readonly sendingApplication: string;
  readonly hl7Version: string;
  readonly charset: string;
  readonly sizeBytes: number;
  readonly contentSha256: string;
  readonly peer: string;
  readonly partitionKey: string;
  readonly ackMode: string;
  readonly ackErrors: unknown[];
  readonly replays: unknown[];
  /** Who viewed the raw content, newest first (the audit trail itself is on hie.audit). */
  readonly rawAccesses: ReadonlyArray<{ readonly operator: string; readonly at: string }>;
}

export interface RawMessage {
  readonly text: string;
  readonly contentType: string;
}

const LIST_COLUMNS = `id, to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS received_at_text,
  institution_id, sending_facility, message_type, control_id, channel, sender_authentication, sender_identity, sender_refused, state, state_detail, ack_code, ack_latency_ms,
  duplicate_control_id, resend_count, published_at, mapped_at, mapper_version`;

type Row = Record<string, unknown>;

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : null);

function listItem(r: Row): Omit<LedgerListItem, 'replays'> {
  return {
    id: r['id'] as string,
    receivedAt: new Date(r['received_at_text'] as string).toISOString(),
    institutionId: r['institution_id'] as string | null,
    sendingFacility: r['sending_facility'] as string,
    messageType: r['message_type'] as string,
    controlId: r['control_id'] as string,
    channel: r['channel'] as string,
    senderAuthentication: r['sender_authentication'] as string | null,
    senderIdentity: r['sender_identity'] as string | null,
    senderRefused: r['sender_refused'] as boolean,
    state: r['state'] as string,
    stateDetail: r['state_detail'] as string | null,
    ackCode: r['ack_code'] as string | null,
    ackLatencyMs: r['ack_latency_ms'] as number | null,
    duplicateControlId: r['duplicate_control_id'] as boolean,
    resendCount: r['resend_count'] as number,
    publishedAt: iso(r['published_at']),
    mappedAt: iso(r['mapped_at']),
    mapperVersion: r['mapper_version'] as string | null,
  };
}

/** Operators' read side of the message ledger: search, detail, and audited raw access. */
@Injectable()
export class LedgerQueryService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
  ) {}

  /** Newest first, keyset-paginated on (received_at, id): stable while messages keep arriving. */
  async search(
    filter: LedgerFilter,
    page: LedgerPage,
  ): Promise<{ items: LedgerListItem[]; next: string | null }> {
    const { conditions, params } = filterSql(filter);
    if (page.cursor !== undefined) {
      params.push(page.cursor.receivedAt, page.cursor.id);
      conditions.push(`(received_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(page.limit + 1);
    const rows = await this.dataSource.query<Row[]>(
      `SELECT ${LIST_COLUMNS}, jsonb_array_length(replays) AS replay_count
       FROM ledger_messages ${conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`}
       ORDER BY received_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows
      .slice(0, page.limit)
      .map((r) => ({ ...listItem(r), replays: r['replay_count'] as number }));
    const last = rows.length > page.limit ? rows[page.limit - 1] : undefined;
    return {
      items,
      next:
        last === undefined
          ? null
          : encodeCursor({ receivedAt: last['received_at_text'] as string, id: last['id'] as string }),
    };
  }

  async detail(id: string): Promise<LedgerDetail | undefined> {
    const [row] = await this.dataSource.query<Row[]>(
      `SELECT ${LIST_COLUMNS}, sending_application, hl7_version, charset, size_bytes, content_sha256, peer, partition_key,
         ack_mode, ack_errors, replays
       FROM ledger_messages WHERE id = $1`,
      [id],
    );
    if (row === undefined) return undefined;
    const accesses = await this.dataSource.query<Array<{ operator: string; accessed_at: Date }>>(
      `SELECT operator, accessed_at FROM ledger_access_log WHERE ledger_id = $1 ORDER BY accessed_at DESC LIMIT 100`,
      [id],
    );
    return {
      ...listItem(row),
      sendingApplication: row['sending_application'] as string,
      hl7Version: row['hl7_version'] as string,
      charset: row['charset'] as string,
      sizeBytes: row['size_bytes'] as number,
      contentSha256: (row['content_sha256'] as string).trim(),
      peer: row['peer'] as string,
      partitionKey: row['partition_key'] as string,
      ackMode: row['ack_mode'] as string,
      ackErrors: row['ack_errors'] as unknown[],
      replays: row['replays'] as unknown[],
      rawAccesses: accesses.map((a) => ({ operator: a.operator, at: a.accessed_at.toISOString() })),
    };
  }

  /**
   * The raw content of one message (PHI), decoded by its character set. The access is recorded in
   * ledger_access_log and an AuditRecorded event (IHE BALP "read", docs/architecture.md "Consent and
   * security") is enqueued in the same transaction: no raw view without its audit trail.
   */
  async readRaw(id: string, operator: Principal): Promise<RawMessage | undefined> {
    return this.dataSource.transaction(async (tx) => {
      const [row] = await tx.query<
        Array<{ raw: Buffer; charset: string; channel: string; institution_id: string | null }>
      >(`SELECT raw, charset, channel, institution_id FROM ledger_messages WHERE id = $1`, [id]);
      // An interface analyst sees only their own institution's messages (404, not 403: no existence leak).
      if (
        row === undefined ||
        (operator.institutionId !== null && row.institution_id !== operator.institutionId)
      ) {
        return undefined;
      }
      const entity = `ledger-message/${id}`;
      const audit = await this.outbox.enqueue(tx, AuditRecorded, {
        key: entity,
        subject: entity,
        source: GATEWAY_SOURCE,
        data: {
          type: 'operator',
          subtype: 'read',
          action: 'R',
          outcome: '0',
          recordedAt: new Date().toISOString(),
          agent: {
            clientId: operator.clientId,
            institutionId: operator.institutionId,
            roles: [...operator.roles],
          },
          observer: 'interop-gateway',
          purposeOfUse: 'HOPERAT',
          breakGlass: false,
          patients: [],
          entities: [{ type: 'ledger-message', reference: entity }],
          detail: 'raw message content viewed through the ledger operator API',
        },
      });
      await tx.query(
        `INSERT INTO ledger_access_log (id, ledger_id, operator, action, audit_event_id) VALUES ($1, $2, $3, 'read-raw', $4)`,
        [randomUUID(), id, operator.clientId, audit.id],
      );
      return decodeRaw(row.raw, row.charset, row.channel);
    });
  }
}

/** HL7 v2 bytes by their (MSH-18) character set, FHIR JSON as UTF-8; undecodable bytes become U+FFFD. */
export function decodeRaw(raw: Buffer, charset: string, channel: string): RawMessage {
  if (channel === 'http')
    return { text: raw.toString('utf8'), contentType: 'application/fhir+json; charset=utf-8' };
  let text: string;
  try {
    text = decodeHl7Bytes(raw, charset === '' ? 'UNICODE UTF-8' : charset, { onMalformed: 'replace' }).text;
  } catch {
    text = raw.toString('utf8');
  }
  return { text, contentType: 'x-application/hl7-v2+er7; charset=utf-8' };
}
