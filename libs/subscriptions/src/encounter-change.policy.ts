import type { Encounter } from '@medplum/fhirtypes';
import type { NotificationTopicCode } from './topics';

/** What the classification needs to remember of the last version of an encounter. */
export interface EncounterSnapshot {
  readonly status: string;
  readonly classCode: string;
  readonly locationKey?: string;
}

/**
 * Encounter.class codes (v3 ActCode) that make an inpatient stay. Tessera's v2 mapping sends
 * PV1-2 = I as IMP (libs/v2-fhir, IG ConceptMap PatientClass[EncounterClass]); ACUTE and NONAC
 * are the ActCode specialisations of IMP.
 */
export const INPATIENT_CLASSES: ReadonlySet<string> = new Set(['IMP', 'ACUTE', 'NONAC']);
/** Emergency (ActCode EMER; v2 PV1-2 = E). */
export const EMERGENCY_CLASS = 'EMER';

/**
 * Encounter.status values of a visit that has begun and not ended (FHIR R4 encounter-status):
 * 'planned' (A05 pre-admit, A14 pending) has not started; 'onleave' is still an open stay.
 */
const OPEN_STATUSES: ReadonlySet<string> = new Set(['arrived', 'triaged', 'in-progress', 'onleave']);
/** v2.5.1 ch.3 cancellations: A11 cancel admit/visit, A12 cancel transfer, A13 cancel discharge. */
const CANCELLATION_TRIGGERS: ReadonlySet<string> = new Set(['A11', 'A12', 'A13']);
/**
 * v2.5.1 ch.3.3.9 / 3.3.10: A09 patient departing and A10 patient arriving are *tracking* events
 * (a temporary move, e.g. to radiology), not transfers (A02).
 */
const TRACKING_TRIGGERS: ReadonlySet<string> = new Set(['A09', 'A10']);

export function encounterSnapshot(encounter: Encounter): EncounterSnapshot {
  const locationKey = currentLocationKey(encounter);
  return {
    status: encounter.status,
    classCode: encounter.class?.code ?? '',
    ...(locationKey !== undefined ? { locationKey } : {}),
  };
}

/**
 * The location the person is at now: the first Encounter.location whose status is 'active' (or has
 * no status). Tessera's v2 mapping lists PV1-3 (assigned) first as active, PV1-11 (temporary) later,
 * PV1-6 (prior) completed and PV1-42 (pending) reserved, so the assigned bed wins.
 */
function currentLocationKey(encounter: Encounter): string | undefined {
  const current = (encounter.location ?? []).find((l) => l.status === undefined || l.status === 'active');
  if (current === undefined) return undefined;
  const ref = current.location;
  if (ref.reference !== undefined) return ref.reference;
  if (ref.identifier?.value !== undefined) return `${ref.identifier.system ?? ''}|${ref.identifier.value}`;
  return ref.display;
}

function isOpen(status: string): boolean {
  return OPEN_STATUSES.has(status);
}

/**
 * Which topic one new version of an encounter is. `previous` = the snapshot last seen of this
 * encounter (undefined: first time), `trigger` = the HL7 v2 trigger event when the version came from
 * v2 ('A01'…'A13'), undefined for FHIR uploads. Rules, first match wins:
 *
 * 1. Cancellation: trigger A11/A12/A13 (v2.5.1 ch.3.3.11–3.3.13), or status cancelled /
 *    entered-in-error → 'encounter-update'. A cancelled admission or discharge is news to anyone who
 *    was told of it, but it starts or ends nothing, and A13 re-opening a stay is not an admission.
 * 2. End: status is finished and was not before (or first seen finished): inpatient class →
 *    'discharge', EMER → 'emergency-departure', any other class → 'encounter-update'. (A03, or a
 *    FHIR upload with status finished.)
 * 3. Start of an inpatient stay: open status (arrived, triaged, in-progress, onleave) with class
 *    IMP/ACUTE/NONAC, and first seen, or previously not open (A05 pre-admit → A01), or previously
 *    another class (A06 outpatient/emergency → inpatient) → 'admission'. A stay first seen while
 *    already open counts as admitted: its subscribers have never heard of it.
 * 4. Emergency arrival: open status with class EMER, and first seen, previously not open, or
 *    previously another class → 'emergency-arrival' (A04 or A01 with PV1-2 = E).
 * 5. Transfer: open before and now, and trigger A02 (v2.5.1 ch.3.3.2), or — for other triggers
 *    except the tracking events A09/A10 — the current location changed from one known location to
 *    another → 'transfer'. A location appearing where none was known is a bed assignment: update.
 * 6. Nothing to tell: trigger A09/A10 and the snapshot is unchanged → undefined (a tracking move
 *    that left the visit as it was).
 * 7. Anything else → 'encounter-update': A08, repeats (a second A01 for an open stay), A07
 *    (inpatient → outpatient: the visit goes on), class changes between other classes, planned
 *    visits, and FHIR uploads whose status, class and location did not change — the snapshot does
 *    not cover every element, so an identical snapshot is no proof that nothing changed; an extra
 *    update is folded by coalescing, a dropped one is lost.
 *
 * A06 from the emergency department yields 'admission' only (one topic per version): a subscriber
 * who wants to hear of both ends of an ED visit that became a stay subscribes to both topics.
 */
export function classifyEncounterChange(
  previous: EncounterSnapshot | undefined,
  current: Encounter,
  trigger?: string,
): NotificationTopicCode | undefined {
  const now = encounterSnapshot(current);
  const event = trigger?.trim().toUpperCase();

  // Rule 1: cancellations.
  if (
    (event !== undefined && CANCELLATION_TRIGGERS.has(event)) ||
    now.status === 'cancelled' ||
    now.status === 'entered-in-error'
  ) {
    return 'encounter-update';
  }

  const inpatient = INPATIENT_CLASSES.has(now.classCode);
  const emergency = now.classCode === EMERGENCY_CLASS;

  // Rule 2: the visit ended.
  if (now.status === 'finished' && previous?.status !== 'finished') {
    if (inpatient) return 'discharge';
    if (emergency) return 'emergency-departure';
    return 'encounter-update';
  }

  const open = isOpen(now.status);
  const wasOpen = previous !== undefined && isOpen(previous.status);

  // Rule 3: start of an inpatient stay (including a class change into inpatient, A06).
  if (open && inpatient && !(wasOpen && INPATIENT_CLASSES.has(previous.classCode))) return 'admission';

  // Rule 4: arrival at the emergency department.
  if (open && emergency && !(wasOpen && previous.classCode === EMERGENCY_CLASS)) return 'emergency-arrival';

  // Rule 5: transfer.
  if (open && wasOpen) {
    if (event === 'A02') return 'transfer';
    const tracking = event !== undefined && TRACKING_TRIGGERS.has(event);
    if (
      !tracking &&
      previous.locationKey !== undefined &&
      now.locationKey !== undefined &&
      previous.locationKey !== now.locationKey
    ) {
      return 'transfer';
    }
  }

  // Rule 6: a tracking event that changed nothing.
  if (
    event !== undefined &&
    TRACKING_TRIGGERS.has(event) &&
    previous !== undefined &&
    sameSnapshot(previous, now)
  ) {
    return undefined;
  }

  // Rule 7: everything else.
  return 'encounter-update';
}

function sameSnapshot(a: EncounterSnapshot, b: EncounterSnapshot): boolean {
  return a.status === b.status && a.classCode === b.classCode && a.locationKey === b.locationKey;
}
