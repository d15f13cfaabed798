import type { Hl7Message, Hl7Segment } from '@tessera/hl7v2';
import type { Encounter, Patient, Reference } from '@medplum/fhirtypes';
import { mapCx } from './datatypes/v2-datatypes.mapper';
import { MappingError } from './mapping.error';
import type { MappingScope } from './mapping.scope';
import { createMappingScope } from './mapping.scope';
import type { MappingContext, MappingOutcome, MappingResult, MessageKind } from './mapping.types';
import { MAPPER_VERSION } from './mapping.types';
import { deterministicId } from './resource-id.util';
import { mapDocument } from './segments/document.mapper';
import { mapEncounter } from './segments/encounter.mapper';
import { mapMerge } from './segments/merge.mapper';
import { groupOrders, mapOrder } from './segments/observation.mapper';
import type { MappedPatient } from './segments/patient.mapper';
import { mapPatient } from './segments/patient.mapper';

/** ADT triggers that carry a visit (PV1 -> Encounter). */
const ADT_ENCOUNTER_TRIGGERS: ReadonlySet<string> = new Set([
  'A01',
  'A02',
  'A03',
  'A04',
  'A05',
  'A06',
  'A07',
  'A08',
  'A11',
  'A12',
  'A13',
]);
/** ADT triggers that update the person only (A28 add person, A31 update person). */
const ADT_PATIENT_TRIGGERS: ReadonlySet<string> = new Set(['A28', 'A31']);
const MDM_TRIGGERS: ReadonlySet<string> = new Set(['T02', 'T04', 'T08', 'T10']);

export interface SupportedMessage {
  readonly kind: MessageKind;
  readonly variant: 'encounter' | 'patient' | 'merge' | 'results' | 'document';
}

/**
 * Which message types this mapper handles: ADT A01-A08, A11-A13 (Patient + Encounter), A28/A31
 * (Patient), A40 (merge); ORU^R01; MDM T02/T04/T08/T10. Returns a MappingError 200 (unsupported
 * message type) or 201 (unsupported event code) otherwise.
 */
export function classifyMessage(messageCode: string, triggerEvent: string): SupportedMessage | MappingError {
  const code = messageCode.toUpperCase();
  const trigger = triggerEvent.toUpperCase();
  const msh9 = { segment: 'MSH', sequence: 1, field: 9 } as const;
  switch (code) {
    case 'ADT':
      if (ADT_ENCOUNTER_TRIGGERS.has(trigger)) return { kind: 'adt', variant: 'encounter' };
      if (ADT_PATIENT_TRIGGERS.has(trigger)) return { kind: 'adt', variant: 'patient' };
      if (trigger === 'A40') return { kind: 'adt', variant: 'merge' };
      break;
    case 'ORU':
      if (trigger === 'R01') return { kind: 'oru', variant: 'results' };
      break;
    case 'MDM':
      if (MDM_TRIGGERS.has(trigger)) return { kind: 'mdm', variant: 'document' };
      break;
    default:
      return new MappingError(
        '200',
        { ...msh9, component: 1 },
        'Message type (MSH-9.1) is not supported: ADT, ORU^R01 and MDM^T02/T04/T08/T10 are.',
      );
  }
  return new MappingError(
    '201',
    { ...msh9, component: 2 },
    'Trigger event (MSH-9.2) is not supported for this message type.',
  );
}

function patientReference(mapped: MappedPatient): Reference<Patient> {
  return { reference: `Patient/${mapped.patient.id ?? ''}` };
}

/** Reference to the visit's Encounter when PV1-19 is sent (ORU / MDM do not create the Encounter). */
function visitReference(scope: MappingScope, pv1: Hl7Segment | undefined): Reference<Encounter> | undefined {
  const rep = pv1?.repetitions(19)[0];
  if (pv1 === undefined || rep === undefined) return undefined;
  const visit = mapCx(scope, rep, scope.at(pv1, 19), 'other');
  return visit === undefined
    ? undefined
    : {
        reference: `Encounter/${deterministicId('Encounter', scope.ctx.institutionId, visit.system, visit.value)}`,
      };
}

/**
 * Maps one parsed HL7 v2 message to FHIR R4 resources following the HL7 v2-to-FHIR IG. Pure: the
 * same message and context always give the same outcome (resource ids are derived from business
 * keys, nothing reads the clock or the environment).
 */
export function mapHl7Message(message: Hl7Message, context: MappingContext): MappingOutcome {
  if (context.mapperVersion !== undefined && context.mapperVersion !== MAPPER_VERSION) {
    return {
      status: 'unsupported',
      error: new MappingError(
        '207',
        undefined,
        `Mapper version ${context.mapperVersion} was requested but ${MAPPER_VERSION} is installed.`,
      ),
    };
  }
  const { messageCode, triggerEvent } = message.header;
  const supported = classifyMessage(messageCode, triggerEvent);
  if (supported instanceof MappingError) return { status: 'unsupported', error: supported };

  const pids = message.all('PID');
  if (pids.length > 1) {
    return {
      status: 'unsupported',
      error: new MappingError(
        '200',
        { segment: 'PID', sequence: 2 },
        'Messages carrying more than one patient (repeated PID groups) are not supported: send one patient per message.',
      ),
    };
  }
  const scope = createMappingScope(context, message);
  const pid = pids[0];
  if (pid === undefined) {
    scope.fail('101', { segment: 'PID', sequence: 1 }, 'The PID segment is required.');
    return { status: 'invalid', errors: scope.errors, warnings: scope.warnings };
  }
  const mappedPatient = mapPatient(scope, pid, message.first('PD1'), message.all('NK1'));
  if (mappedPatient === undefined)
    return { status: 'invalid', errors: scope.errors, warnings: scope.warnings };
  const subject = patientReference(mappedPatient);
  const pv1 = message.first('PV1');

  let patient = mappedPatient.patient;
  let encounter: Encounter | undefined;
  let result: Partial<Pick<MappingResult, 'reports' | 'observations' | 'document' | 'content' | 'merge'>> =
    {};

  switch (supported.variant) {
    case 'encounter':
      if (pv1 === undefined) {
        scope.fail(
          '101',
          { segment: 'PV1', sequence: 1 },
          `The PV1 segment is required in ADT^${triggerEvent}.`,
        );
      } else {
        encounter = mapEncounter(scope, pv1, message.first('PV2'), subject, patient.id ?? '', triggerEvent);
      }
      break;
    case 'patient':
      break;
    case 'merge': {
      const mrg = message.first('MRG');
      if (mrg === undefined) {
        scope.fail('101', { segment: 'MRG', sequence: 1 }, 'The MRG segment is required in ADT^A40.');
        break;
      }
      const merged = mapMerge(scope, mrg, mappedPatient);
      if (merged !== undefined) {
        patient = merged.patient;
        result = { merge: merged.merge };
      }
      break;
    }
    case 'results': {
      const groups = groupOrders(message.segments);
      if (groups.length === 0) {
        scope.fail('101', { segment: 'OBR', sequence: 1 }, 'ORU^R01 requires at least one OBR segment.');
        break;
      }
      const visit = visitReference(scope, pv1);
      const mapped = groups.flatMap((g) => mapOrder(scope, g, subject, visit) ?? []);
      result = { reports: mapped.map((m) => m.report), observations: mapped.flatMap((m) => m.observations) };
      break;
    }
    case 'document': {
      const txa = message.first('TXA');
      if (txa === undefined) {
        scope.fail(
          '101',
          { segment: 'TXA', sequence: 1 },
          `The TXA segment is required in MDM^${triggerEvent}.`,
        );
        break;
      }
      const mapped = mapDocument(
        scope,
        txa,
        message.all('OBX'),
        subject,
        visitReference(scope, pv1),
        triggerEvent,
      );
      if (mapped !== undefined) result = { document: mapped.document, content: mapped.content };
      break;
    }
  }

  if (scope.errors.length > 0) return { status: 'invalid', errors: scope.errors, warnings: scope.warnings };
  return {
    status: 'mapped',
    result: {
      mapperVersion: MAPPER_VERSION,
      kind: supported.kind,
      messageCode,
      triggerEvent,
      localPatientId: mappedPatient.localPatientId,
      patientSystem: mappedPatient.patientSystem,
      patient,
      ...(encounter !== undefined ? { encounter } : {}),
      reports: result.reports ?? [],
      observations: result.observations ?? [],
      ...(result.document !== undefined ? { document: result.document } : {}),
      ...(result.content !== undefined ? { content: result.content } : {}),
      ...(result.merge !== undefined ? { merge: result.merge } : {}),
      warnings: scope.warnings,
    },
  };
}
