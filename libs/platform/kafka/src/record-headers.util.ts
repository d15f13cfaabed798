import { randomUUID } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import { attributesToHeaders } from '@tessera/contracts';
import type { CloudEventAttributes, EventDefinition } from '@tessera/contracts';

/** Headers the platform adds to records it forwards to retry and dead-letter topics. */
export const RetryHeaders = {
  /** On a retry record: the number of the attempt this delivery is. On a DLQ record: attempts made. */
  attempt: 'x-tessera-attempt',
  originalTopic: 'x-tessera-original-topic',
  originalPartition: 'x-tessera-original-partition',
  originalOffset: 'x-tessera-original-offset',
  /** Epoch milliseconds before which a retry record must not be handled. */
  notBefore: 'x-tessera-not-before',
  /** The last error's message, truncated; never the payload. */
  error: 'x-tessera-error',
  /** Why the record failed: handler | validation | unknown-type | envelope. */
  errorKind: 'x-tessera-error-kind',
  consumerGroup: 'x-tessera-consumer-group',
  failedAt: 'x-tessera-failed-at',
} as const;

export type DecodedHeaders = Readonly<Record<string, string>>;

/** Kafka header values are Buffers (or arrays of them when a key repeats); the last value wins. */
export function decodeHeaders(headers: IHeaders | undefined): DecodedHeaders {
  const decoded: Record<string, string> = {};
  if (headers === undefined) return decoded;
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined) continue;
    decoded[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return decoded;
}

export interface EventAttributeInput {
  readonly source: string;
  readonly subject?: string;
  readonly id?: string;
  readonly time?: Date | string;
}

/** CloudEvents 1.0 attributes of a new event (spec §3.1: id, source, specversion, type are required). */
export function buildEventAttributes<T>(definition: EventDefinition<T>, input: EventAttributeInput): CloudEventAttributes {
  const time = input.time === undefined ? new Date() : input.time;
  return {
    id: input.id ?? randomUUID(),
    specversion: '1.0',
    type: definition.type,
    source: input.source,
    time: typeof time === 'string' ? time : time.toISOString(),
    ...(input.subject === undefined ? {} : { subject: input.subject }),
    schemaversion: definition.version,
    datacontenttype: 'application/json',
  };
}

/** Binary-mode record headers: the `ce_*` attributes plus trace context headers (if any). */
export function buildRecordHeaders(
  attributes: CloudEventAttributes,
  traceHeaders: Readonly<Record<string, string>>,
): Record<string, string> {
  return { ...attributesToHeaders(attributes), ...traceHeaders };
}

/** Truncates an error message for a header; the header must stay small and carry no payload. */
export function truncateErrorMessage(message: string, max = 512): string {
  const oneLine = message.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}
