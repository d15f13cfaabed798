/**
 * Kafka topics of the exchange (docs/architecture.md "Kafka conventions").
 * Topics are created from this list at platform start, never by broker auto-creation.
 */
export const Topics = {
  inboundHl7v2: 'hie.inbound.hl7v2',
  patient: 'hie.patient',
  encounter: 'hie.encounter',
  observation: 'hie.observation',
  document: 'hie.document',
  mpiLink: 'hie.mpi.link',
  consent: 'hie.consent',
  referral: 'hie.referral',
  audit: 'hie.audit',
} as const;

export type Topic = (typeof Topics)[keyof typeof Topics];

/**
 * Which consumer group reads which topics. Every (topic, group) pair gets its own retry and
 * dead-letter topic, so one group's poison message never disturbs another group.
 */
export const ConsumerGroups = {
  gatewayMapper: { id: 'interop-gateway.mapper', topics: [Topics.inboundHl7v2] },
  mpi: { id: 'mpi', topics: [Topics.patient] },
  registry: {
    id: 'document-registry',
    topics: [Topics.encounter, Topics.document, Topics.observation, Topics.mpiLink],
  },
  consentAudit: { id: 'consent.audit', topics: [Topics.audit] },
  /** The consent service follows links (consents anchored on a source record move with it) and PD1-12. */
  consentLinks: { id: 'consent.links', topics: [Topics.mpiLink] },
  consentPatient: { id: 'consent.patient', topics: [Topics.patient] },
  /** The privacy officer's watch: new records linked onto persons others hold, then queried. */
  consentWatch: { id: 'consent.watch', topics: [Topics.mpiLink, Topics.audit] },
  /** The exchange drops cached consent policies when they change (one group: the cache is shared Redis). */
  exchangeConsentCache: { id: 'exchange.consent-cache', topics: [Topics.consent] },
  /** The exchange's outbound half: clinical events and links → notifications to subscribers. */
  exchangeNotify: {
    id: 'exchange.notify',
    topics: [Topics.encounter, Topics.document, Topics.observation, Topics.mpiLink],
  },
} as const satisfies Record<string, { id: string; topics: readonly Topic[] }>;

export function retryTopic(topic: string, groupId: string): string {
  return `${topic}.${groupId}.retry`;
}

export function deadLetterTopic(topic: string, groupId: string): string {
  return `${topic}.${groupId}.dlq`;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Retention in ms; -1 keeps forever (topics that projections are rebuilt from). */
  readonly retentionMs: number;
}

/**
 * Every topic the platform needs, with retry/DLQ topics derived from the consumer groups.
 * Main topics keep their records forever so any projection can be rebuilt by replay
 * (docs/architecture.md "Replay").
 */
export function allTopicSpecs(
  partitions: number,
  extraGroups: ReadonlyArray<{ id: string; topics: readonly string[] }> = [],
): TopicSpec[] {
  const specs = new Map<string, TopicSpec>();
  for (const name of Object.values(Topics)) specs.set(name, { name, partitions, retentionMs: -1 });
  const groups = [...Object.values(ConsumerGroups), ...extraGroups];
  for (const group of groups) {
    for (const topic of group.topics) {
      const retry = retryTopic(topic, group.id);
      const dlq = deadLetterTopic(topic, group.id);
      specs.set(retry, { name: retry, partitions, retentionMs: 7 * 24 * 3600 * 1000 });
      specs.set(dlq, { name: dlq, partitions, retentionMs: -1 });
    }
  }
  return [...specs.values()];
}
