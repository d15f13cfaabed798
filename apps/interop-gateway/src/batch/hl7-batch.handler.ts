import { Injectable } from '@nestjs/common';
import { decodeHl7Bytes, parseHl7, splitHl7Batch } from '@tessera/hl7v2';
import { IngestHandler } from '../ingest/ingest.handler';
import type { AuthenticatedSender } from '../ingest/sender.types';

export interface BatchMessageResult {
  /** 1-based position of the message in the file. */
  readonly index: number;
  readonly controlId: string;
  readonly ackCode: string;
  readonly ledgerId: string;
  readonly duplicate: boolean;
  /** ERR-8 texts of the ACK (what is wrong and where; never patient data). */
  readonly errors: readonly string[];
  /** The ACK message text, decoded by its MSH-18. */
  readonly ack: string;
}

export interface BatchResult {
  readonly messages: number;
  readonly accepted: number;
  readonly notAccepted: number;
  readonly warnings: readonly string[];
  readonly results: readonly BatchMessageResult[];
}

/**
 * HL7 v2 batch files (FHS/BHS … BTS/FTS, Chapter 2 §2.10.3) uploaded over HTTP: every message goes
 * through exactly the MLLP ingest path (same checks, ledger, durability before the answer, same
 * dedupe), in file order — they share group commits, so a large file costs few transactions.
 */
@Injectable()
export class Hl7BatchHandler {
  constructor(private readonly ingest: IngestHandler) {}

  /** `sender`: the uploading institution's token (its messages only; others are answered AR). */
  async ingestFile(bytes: Buffer, peer: string, sender: AuthenticatedSender): Promise<BatchResult> {
    const split = splitHl7Batch(bytes);
    const results = await Promise.all(
      split.messages.map(async (message, i): Promise<BatchMessageResult> => {
        const result = await this.ingest.ingest(message, { peer, channel: 'http', sender });
        const ack =
          result.ack === undefined
            ? ''
            : decodeHl7Bytes(result.ack, 'UNICODE UTF-8', { onMalformed: 'replace' }).text;
        const parsed = ack === '' ? undefined : parseHl7(ack);
        return {
          index: i + 1,
          controlId: parsed?.first('MSA')?.value(2) ?? '',
          ackCode: result.ackCode ?? '',
          ledgerId: result.ledgerId,
          duplicate: result.duplicate,
          errors: (parsed?.all('ERR') ?? []).map((err) => err.value(8)).filter((t) => t !== ''),
          ack,
        };
      }),
    );
    const warnings = [...split.warnings];
    if (split.declaredMessageCount !== undefined && split.declaredMessageCount !== split.messages.length) {
      warnings.push(
        `The trailers declare ${split.declaredMessageCount} messages; the file holds ${split.messages.length}.`,
      );
    }
    const accepted = results.filter((r) => r.ackCode === 'AA' || r.ackCode === 'CA').length;
    return { messages: results.length, accepted, notAccepted: results.length - accepted, warnings, results };
  }
}
