import { z } from 'zod';

/**
 * CloudEvents 1.0 in Kafka binary mode: attributes travel as `ce_*` headers, the record value is
 * the JSON `data`. See https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md §3.2.
 * `schemaversion` is an extension attribute: the payload schema version lives in the envelope, not
 * in the topic name (docs/architecture.md "Kafka conventions").
 */
export const CloudEventHeaders = {
  id: 'ce_id',
  specversion: 'ce_specversion',
  type: 'ce_type',
  source: 'ce_source',
  time: 'ce_time',
  subject: 'ce_subject',
  schemaversion: 'ce_schemaversion',
  contentType: 'content-type',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

export interface CloudEventAttributes {
  readonly id: string;
  readonly specversion: '1.0';
  readonly type: string;
  readonly source: string;
  readonly time: string;
  readonly subject?: string;
  readonly schemaversion: number;
  readonly datacontenttype: 'application/json';
}

export interface CloudEvent<T> extends CloudEventAttributes {
  readonly data: T;
}

/** A versioned event type: its CloudEvents `type`, the topic it travels on and the schema of its data. */
export interface EventDefinition<T> {
  readonly type: string;
  readonly version: number;
  readonly topic: string;
  readonly schema: z.ZodType<T>;
}

/** The payload type of an event definition. */
export type DataOf<D> = D extends EventDefinition<infer T> ? T : never;

export function defineEvent<S extends z.ZodType>(
  type: string,
  version: number,
  topic: string,
  schema: S,
): EventDefinition<z.output<S>> {
  return { type, version, topic, schema: schema as unknown as z.ZodType<z.output<S>> };
}

export class EventValidationError extends Error {
  constructor(
    readonly eventType: string,
    readonly issues: ReadonlyArray<{ path: string; message: string }>,
  ) {
    super(
      `Event ${eventType} failed validation: ` +
        issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; '),
    );
    this.name = 'EventValidationError';
  }
}

/** Validates data against an event definition; the error names paths and problems, never values. */
export function validateEventData<T>(definition: EventDefinition<T>, data: unknown): T {
  const result = definition.schema.safeParse(data);
  if (!result.success) {
    throw new EventValidationError(
      definition.type,
      result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    );
  }
  return result.data;
}

const headerSchema = z.object({
  [CloudEventHeaders.id]: z.string().min(1),
  [CloudEventHeaders.specversion]: z.literal('1.0'),
  [CloudEventHeaders.type]: z.string().min(1),
  [CloudEventHeaders.source]: z.string().min(1),
  [CloudEventHeaders.time]: z.string().min(1),
});

/** Reads CloudEvents attributes from Kafka headers (already decoded to strings). */
export function attributesFromHeaders(
  headers: Readonly<Record<string, string | undefined>>,
): CloudEventAttributes {
  const parsed = headerSchema.safeParse(headers);
  if (!parsed.success) {
    throw new EventValidationError(
      '(envelope)',
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    );
  }
  const subject = headers[CloudEventHeaders.subject];
  return {
    id: headers[CloudEventHeaders.id] as string,
    specversion: '1.0',
    type: headers[CloudEventHeaders.type] as string,
    source: headers[CloudEventHeaders.source] as string,
    time: headers[CloudEventHeaders.time] as string,
    ...(subject === undefined ? {} : { subject }),
    schemaversion: Number(headers[CloudEventHeaders.schemaversion] ?? '1'),
    datacontenttype: 'application/json',
  };
}

export function attributesToHeaders(attributes: CloudEventAttributes): Record<string, string> {
  const headers: Record<string, string> = {
    [CloudEventHeaders.id]: attributes.id,
    [CloudEventHeaders.specversion]: attributes.specversion,
    [CloudEventHeaders.type]: attributes.type,
    [CloudEventHeaders.source]: attributes.source,
    [CloudEventHeaders.time]: attributes.time,
    [CloudEventHeaders.schemaversion]: String(attributes.schemaversion),
    [CloudEventHeaders.contentType]: attributes.datacontenttype,
  };
  if (attributes.subject !== undefined) headers[CloudEventHeaders.subject] = attributes.subject;
  return headers;
}
