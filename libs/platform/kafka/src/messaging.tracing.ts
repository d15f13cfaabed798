import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context, Tracer } from '@opentelemetry/api';
import type { DecodedHeaders } from './record-headers.util';

/** Instrumentation scope of the messaging spans. */
export const MESSAGING_TRACER_NAME = '@tessera/platform-kafka';

/**
 * Messaging semantic-convention attribute names (OpenTelemetry semconv "messaging" and "kafka").
 * Spans carry topic, partition, offset, group and event id/type; never the key or the payload,
 * which may identify a patient.
 */
export const MessagingAttributes = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destinationName: 'messaging.destination.name',
  partitionId: 'messaging.destination.partition.id',
  consumerGroup: 'messaging.consumer.group.name',
  messageId: 'messaging.message.id',
  batchCount: 'messaging.batch.message_count',
  kafkaOffset: 'messaging.kafka.offset',
  cloudEventsId: 'cloudevents.event_id',
  cloudEventsType: 'cloudevents.event_type',
  attempt: 'tessera.messaging.attempt',
} as const;

export function messagingTracer(): Tracer {
  return trace.getTracer(MESSAGING_TRACER_NAME);
}

/** W3C trace context headers (`traceparent`, `tracestate`) of `ctx`, through the global propagator. */
export function traceHeadersOf(ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The remote parent context carried by a record's headers (ROOT when there is none). */
export function traceContextFrom(headers: DecodedHeaders): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}
