import type {
  Coding,
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Observation,
  Resource,
} from '@medplum/fhirtypes';
import type { DataOf } from '@tessera/contracts';
import type { DocumentPublished, EncounterUpserted, ObservationReported } from '@tessera/contracts';
import { labelsOf } from '@tessera/consent-policy';
import type { LabelingRules } from '@tessera/consent-policy';

/** What the notifier needs of one canonical clinical event (hie.encounter / hie.document / hie.observation). */
export interface ClinicalEvent {
  readonly eventId: string;
  readonly kind: 'encounter' | 'document' | 'result';
  readonly institutionId: string;
  readonly system: string;
  readonly value: string;
  /** When the event was produced (CloudEvents time): the start of the notification's latency. */
  readonly eventTime: string;
  /** HL7 v2 trigger of an encounter event (A01, A03, A08 …), when it came from v2. */
  readonly trigger?: string;
  readonly items: readonly ClinicalItem[];
}

export interface ClinicalItem {
  readonly resourceType: 'Encounter' | 'DocumentReference' | 'DiagnosticReport' | 'Observation';
  readonly id: string;
  /** The resource as the registry indexes it, with its security labels in meta.security. */
  readonly resource: Resource;
  readonly labels: readonly Coding[];
}

type Labeled = Encounter | DocumentReference | DiagnosticReport | Observation;

function item(resource: Labeled, rules: LabelingRules): ClinicalItem | undefined {
  if (resource.id === undefined) return undefined;
  const { securityLabels } = labelsOf(resource, resource.meta?.security ?? [], rules);
  return {
    resourceType: resource.resourceType,
    id: resource.id,
    resource: { ...resource, meta: { ...resource.meta, security: [...securityLabels] } } as Resource,
    labels: securityLabels,
  };
}

function present<T>(value: T | undefined): value is T {
  return value !== undefined;
}

export function encounterEvent(
  eventId: string,
  eventTime: string,
  data: DataOf<typeof EncounterUpserted>,
  rules: LabelingRules,
): ClinicalEvent {
  return {
    eventId,
    kind: 'encounter',
    institutionId: data.institutionId,
    system: data.patientSystem,
    value: data.localPatientId,
    eventTime,
    ...(data.triggerEvent === undefined ? {} : { trigger: data.triggerEvent }),
    items: [item(data.encounter, rules)].filter(present),
  };
}

export function documentEvent(
  eventId: string,
  eventTime: string,
  data: DataOf<typeof DocumentPublished>,
  rules: LabelingRules,
): ClinicalEvent {
  return {
    eventId,
    kind: 'document',
    institutionId: data.institutionId,
    system: data.patientSystem,
    value: data.localPatientId,
    eventTime,
    items: [item(data.document, rules)].filter(present),
  };
}

/**
 * A result message: one item per DiagnosticReport; standalone Observations (no report) are items
 * of their own. A report is as sensitive as its most sensitive result (the registry's rule), so a
 * report carries its results' labels too.
 */
export function resultEvent(
  eventId: string,
  eventTime: string,
  data: DataOf<typeof ObservationReported>,
  rules: LabelingRules,
): ClinicalEvent {
  const observations = new Map(data.observations.map((o) => [o.id, item(o, rules)]));
  const inReports = new Set<string>();
  const reports = data.reports.map((report) => {
    const own = item(report, rules);
    if (own === undefined) return undefined;
    const resultLabels = (report.result ?? [])
      .map((r) => r.reference?.replace(/^Observation\//, ''))
      .filter(present)
      .flatMap((id) => {
        inReports.add(id);
        return observations.get(id)?.labels ?? [];
      });
    const labels = dedupe([...own.labels, ...resultLabels]);
    return {
      ...own,
      labels,
      resource: { ...own.resource, meta: { ...own.resource.meta, security: labels } },
    };
  });
  const standalone = data.observations
    .filter((o) => o.id !== undefined && !inReports.has(o.id))
    .map((o) => observations.get(o.id));
  return {
    eventId,
    kind: 'result',
    institutionId: data.institutionId,
    system: data.patientSystem,
    value: data.localPatientId,
    eventTime,
    items: [...reports, ...standalone].filter(present),
  };
}

function dedupe(labels: readonly Coding[]): Coding[] {
  const seen = new Map<string, Coding>();
  for (const label of labels) seen.set(`${label.system ?? ''}|${label.code ?? ''}`, label);
  return [...seen.values()];
}
