import { RetryHeaders, truncateErrorMessage } from './record-headers.util';
import type { DecodedHeaders } from './record-headers.util';

export interface RetrySettings {
  /** Delivery attempts (including the first) before a record goes to its dead-letter topic. */
  readonly attempts: number;
  /** Delay before the second attempt; doubles for each further attempt. */
  readonly backoffMs: number;
  /** Upper bound of one delay. */
  readonly maxBackoffMs?: number;
}

export type FailureKind = 'handler' | 'validation' | 'unknown-type' | 'envelope';

/** Where a record first arrived: the main topic partition and offset. */
export interface RecordOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** Delivery state of a record: from the retry headers, or attempt 1 at its own position. */
export interface DeliveryState {
  readonly attempt: number;
  readonly origin: RecordOrigin;
  /** Epoch ms; 0 when the record may be handled at once. */
  readonly notBefore: number;
}

/** Delay before attempt `nextAttempt` (2, 3, …): backoff × 2^(nextAttempt − 2), capped. */
export function backoffDelayMs(nextAttempt: number, settings: RetrySettings): number {
  const exponent = Math.max(0, nextAttempt - 2);
  const delay = settings.backoffMs * 2 ** exponent;
  return Math.min(delay, settings.maxBackoffMs ?? 60 * 60 * 1000);
}

export type FailureDecision =
  | { readonly action: 'retry'; readonly nextAttempt: number; readonly notBefore: number }
  | { readonly action: 'dead-letter'; readonly attempts: number };

/**
 * What to do with a record whose attempt failed. Data that is malformed (envelope, schema, unknown
 * type) goes to the DLQ at once: retrying cannot fix it. A handler failure is retried until
 * `attempts` deliveries were made.
 */
export function decideOnFailure(
  kind: FailureKind,
  attempt: number,
  settings: RetrySettings,
  now: number,
): FailureDecision {
  if (kind !== 'handler' || attempt >= settings.attempts) return { action: 'dead-letter', attempts: attempt };
  const nextAttempt = attempt + 1;
  return { action: 'retry', nextAttempt, notBefore: now + backoffDelayMs(nextAttempt, settings) };
}

function parseNonNegativeInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Reads the delivery state of a consumed record. A record on a main topic (no retry headers) is
 * attempt 1 at its own position; a record on a retry topic carries its origin in headers.
 */
export function readDeliveryState(headers: DecodedHeaders, position: RecordOrigin): DeliveryState {
  const attempt = parseNonNegativeInt(headers[RetryHeaders.attempt]);
  const originalTopic = headers[RetryHeaders.originalTopic];
  const originalPartition = parseNonNegativeInt(headers[RetryHeaders.originalPartition]);
  const originalOffset = headers[RetryHeaders.originalOffset];
  if (attempt === undefined || attempt < 1 || originalTopic === undefined || originalPartition === undefined || originalOffset === undefined) {
    return { attempt: 1, origin: position, notBefore: 0 };
  }
  return {
    attempt,
    origin: { topic: originalTopic, partition: originalPartition, offset: originalOffset },
    notBefore: parseNonNegativeInt(headers[RetryHeaders.notBefore]) ?? 0,
  };
}

export interface ForwardInput {
  readonly consumerGroup: string;
  readonly origin: RecordOrigin;
  /** Retry: the attempt number of the next delivery. DLQ: the number of attempts made. */
  readonly attempt: number;
  readonly notBefore?: number;
  readonly kind: FailureKind;
  readonly errorMessage: string;
  readonly failedAt: number;
}

/**
 * Headers of a record forwarded to a retry or dead-letter topic: the original headers (CloudEvents
 * attributes and trace context travel on) with the previous retry headers replaced.
 */
export function buildForwardHeaders(original: DecodedHeaders, input: ForwardInput): Record<string, string> {
  const headers: Record<string, string> = {};
  const ours = new Set<string>(Object.values(RetryHeaders));
  for (const [name, value] of Object.entries(original)) if (!ours.has(name)) headers[name] = value;
  headers[RetryHeaders.attempt] = String(input.attempt);
  headers[RetryHeaders.originalTopic] = input.origin.topic;
  headers[RetryHeaders.originalPartition] = String(input.origin.partition);
  headers[RetryHeaders.originalOffset] = input.origin.offset;
  headers[RetryHeaders.error] = truncateErrorMessage(input.errorMessage);
  headers[RetryHeaders.errorKind] = input.kind;
  headers[RetryHeaders.consumerGroup] = input.consumerGroup;
  headers[RetryHeaders.failedAt] = new Date(input.failedAt).toISOString();
  if (input.notBefore !== undefined) headers[RetryHeaders.notBefore] = String(input.notBefore);
  return headers;
}
