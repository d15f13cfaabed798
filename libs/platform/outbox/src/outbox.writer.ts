import { context, SpanKind, trace } from '@opentelemetry/api';
import type { EntityManager } from 'typeorm';
import { validateEventData } from '@tessera/contracts';
import type { CloudEventAttributes, EventDefinition } from '@tessera/contracts';
import {
  buildEventAttributes,
  buildRecordHeaders,
  MessagingAttributes,
  messagingTracer,
  OUTBOX_TABLE,
  traceHeadersOf,
} from '@tessera/platform-kafka';
import type { PublishInput } from '@tessera/platform-kafka';

export type EnqueueInput<T> = PublishInput<T>;

/**
 * Writes events to the transactional outbox (docs/architecture.md "Kafka conventions": a service that
 * changes its own database publishes through a row in the same transaction; the relay sends it).
 */
export class OutboxWriter {
  /**
   * Validates `input.data` and inserts an outbox row through `manager`, which must be the caller's
   * transaction. The event id, CloudEvents headers and the trace context are fixed now, so a
   * re-publish after a relay crash carries the same `ce_id` and consumers' inboxes dedupe it.
   */
  async enqueue<T>(manager: EntityManager, definition: EventDefinition<T>, input: EnqueueInput<T>): Promise<CloudEventAttributes> {
    const data = validateEventData(definition, input.data);
    const attributes = buildEventAttributes(definition, input);
    // A short PRODUCER ("create") span: the consumer's span becomes its child, as with direct publish.
    const span = messagingTracer().startSpan(`${definition.topic} publish`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        [MessagingAttributes.system]: 'kafka',
        [MessagingAttributes.operationType]: 'create',
        [MessagingAttributes.operationName]: 'outbox enqueue',
        [MessagingAttributes.destinationName]: definition.topic,
        [MessagingAttributes.messageId]: attributes.id,
        [MessagingAttributes.cloudEventsType]: definition.type,
      },
    });
    try {
      const traceHeaders = traceHeadersOf(trace.setSpan(context.active(), span));
      const headers = buildRecordHeaders(attributes, traceHeaders);
      await manager.query(
        `INSERT INTO ${OUTBOX_TABLE} (event_id, event_type, topic, "key", headers, payload, traceparent)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)`,
        [
          attributes.id,
          attributes.type,
          definition.topic,
          input.key,
          JSON.stringify(headers),
          JSON.stringify(data),
          traceHeaders.traceparent ?? null,
        ],
      );
      return attributes;
    } finally {
      span.end();
    }
  }
}
