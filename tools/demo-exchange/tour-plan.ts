import type { DemoMessage } from '../demo-feed/demo-feed.builder';

/** A synthetic person of the demo feed known at two hospitals, one of which sent a document. */
export interface TourPerson {
  readonly personId: string;
  /** The hospital that sent a document about them (it records the patient's consent). */
  readonly holder: { readonly institution: string; readonly localId: string };
  /** Another hospital that knows them (its clinician asks). */
  readonly asker: { readonly institution: string; readonly localId: string };
}

/** The first of `tourCandidates` (feed order, so deterministic for a seed). */
export function pickTourPerson(
  feed: readonly DemoMessage[],
  holder: string,
  asker: string,
): TourPerson | undefined {
  return tourCandidates(feed, holder, asker)[0];
}

/**
 * The persons the tour may follow, in feed order: each has an MDM^T02 document from `holder` and
 * a message from `asker`. Whether the MPI linked their two records (the synthetic corruption may
 * leave them as a possible match for review) is for the tour to ask.
 */
export function tourCandidates(feed: readonly DemoMessage[], holder: string, asker: string): TourPerson[] {
  const found: TourPerson[] = [];
  const localIds = new Map<string, Map<string, string>>();
  for (const m of feed) {
    if (m.personId === undefined || m.localId === undefined || m.localId === '') continue;
    const byInstitution = localIds.get(m.personId) ?? new Map<string, string>();
    if (!byInstitution.has(m.institution)) byInstitution.set(m.institution, m.localId);
    localIds.set(m.personId, byInstitution);
  }
  for (const m of feed) {
    if (m.institution !== holder || m.messageType !== 'MDM^T02' || m.personId === undefined) continue;
    if (m.expectedAck !== 'AA' && m.expectedAck !== 'CA') continue;
    const known = localIds.get(m.personId);
    const askerId = known?.get(asker);
    const holderId = known?.get(holder);
    if (askerId !== undefined && holderId !== undefined && !found.some((p) => p.personId === m.personId)) {
      found.push({
        personId: m.personId,
        holder: { institution: holder, localId: holderId },
        asker: { institution: asker, localId: askerId },
      });
    }
  }
  return found;
}

/** The opt-out the holding hospital records for the patient: no regional sharing (FHIR R4 Consent). */
export function optOutConsent(system: string, value: string, recordedBy: string): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { identifier: { system, value } },
    organization: [{ reference: `Organization/${recordedBy}` }],
    policyRule: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }],
    },
    provision: { type: 'deny' },
  };
}
