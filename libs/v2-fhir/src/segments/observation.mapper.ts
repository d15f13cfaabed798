import type { Hl7FieldRepetition, Hl7Segment } from '@tessera/hl7v2';
import type {
  Attachment,
  CodeableConcept,
  DiagnosticReport,
  Encounter,
  Identifier,
  Observation,
  ObservationReferenceRange,
  Patient,
  Quantity,
  Reference,
} from '@medplum/fhirtypes';
import { attachmentHash, decodeEd } from '../datatypes/ed-content.mapper';
import { mapCwe, mapEi, mapXcn } from '../datatypes/v2-datatypes.mapper';
import { v2TimeToFhir } from '../datatypes/v2-datetime.mapper';
import type { MappingScope } from '../mapping.scope';
import { present } from '../mapping.scope';
import { deterministicId } from '../resource-id.util';
import {
  DATA_ABSENT_REASON,
  localCodeSystem,
  resolveCodeSystem,
  v2TableSystem,
} from '../vocabulary/code-systems.vocabulary';
import {
  mapAbnormalFlag,
  mapObservationResultStatus,
  mapResultStatus,
} from '../vocabulary/v2-tables.vocabulary';

/** One ORDER_OBSERVATION group: ORC?, OBR, {OBX, NTE*}. */
export interface OrderGroup {
  readonly orc?: Hl7Segment;
  readonly obr: Hl7Segment;
  readonly observations: readonly { readonly obx: Hl7Segment; readonly notes: readonly Hl7Segment[] }[];
}

/** Groups ORC/OBR/OBX/NTE segments in message order (ORU^R01 ORDER_OBSERVATION groups). */
export function groupOrders(segments: readonly Hl7Segment[]): OrderGroup[] {
  const groups: {
    orc?: Hl7Segment;
    obr: Hl7Segment;
    observations: { obx: Hl7Segment; notes: Hl7Segment[] }[];
  }[] = [];
  let pendingOrc: Hl7Segment | undefined;
  for (const segment of segments) {
    const current = groups[groups.length - 1];
    switch (segment.name) {
      case 'ORC':
        pendingOrc = segment;
        break;
      case 'OBR':
        groups.push({
          ...(pendingOrc !== undefined ? { orc: pendingOrc } : {}),
          obr: segment,
          observations: [],
        });
        pendingOrc = undefined;
        break;
      case 'OBX':
        current?.observations.push({ obx: segment, notes: [] });
        break;
      case 'NTE':
        current?.observations[current.observations.length - 1]?.notes.push(segment);
        break;
      default:
        break;
    }
  }
  return groups;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const COMPARATORS: ReadonlySet<string> = new Set(['<', '<=', '>=', '>']);

function num(text: string): number | undefined {
  const t = text.trim();
  return NUMBER.test(t) ? Number(t) : undefined;
}

/** OBX-6 units (CWE) -> Quantity unit/system/code; UCUM only when CWE-3 says so (never guessed). */
export function quantityUnit(
  scope: MappingScope,
  rep: Hl7FieldRepetition | undefined,
): Pick<Quantity, 'unit' | 'system' | 'code'> {
  if (rep === undefined) return {};
  const code = rep.component(1);
  const text = rep.component(2);
  const systemName = rep.component(3);
  if (!present(code)) return present(text) ? { unit: text } : {};
  if (!present(systemName)) return { unit: present(text) ? text : code };
  const { system } = resolveCodeSystem(systemName, scope.ctx.institutionId, scope.ctx.codeSystemMap);
  return { unit: present(text) ? text : code, system, code };
}

/**
 * OBX-7 references range -> referenceRange (IG OBX[Observation] row 7: text always; low/high when
 * parseable: "a-b", "<b", "<=b", ">a", ">=a").
 */
export function referenceRange(
  text: string,
  unit: Pick<Quantity, 'unit' | 'system' | 'code'>,
): ObservationReferenceRange | undefined {
  if (!present(text)) return undefined;
  const q = (value: number): Quantity => ({ value, ...unit });
  const between = /^\s*([+-]?\d+(?:\.\d+)?)\s*-\s*([+-]?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (between !== null) return { low: q(Number(between[1])), high: q(Number(between[2])), text };
  const upper = /^\s*<=?\s*([+-]?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (upper !== null) return { high: q(Number(upper[1])), text };
  const lower = /^\s*>=?\s*([+-]?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (lower !== null) return { low: q(Number(lower[1])), text };
  return { text };
}

type ObservationValue = Pick<
  Observation,
  | 'valueQuantity'
  | 'valueString'
  | 'valueCodeableConcept'
  | 'valueRange'
  | 'valueRatio'
  | 'valueDateTime'
  | 'valueTime'
>;

/**
 * OBX-5 by OBX-2 value type (IG OBX[Observation] row 5): NM -> valueQuantity; ST/TX/FT -> valueString
 * (repetitions are lines, joined by "\n"); CE/CWE/CNE/CF/IS/ID -> valueCodeableConcept; SN -> per IG:
 * "<>" or "+" -> valueString, ":" or "/" -> valueRatio, "-" -> valueRange, else valueQuantity with
 * comparator; DT/DTM/TS -> valueDateTime; TM -> valueTime; NR -> valueRange.
 */
export function mapObservationValue(scope: MappingScope, obx: Hl7Segment): ObservationValue {
  const valueType = obx.value(2).toUpperCase();
  const reps = obx.repetitions(5).filter((r) => present(r.text));
  const first = reps[0];
  if (first === undefined) return {};
  const location = scope.at(obx, 5);
  const unitRep = obx.repetitions(6)[0];
  const asString = (): ObservationValue => ({ valueString: reps.map((r) => r.text).join('\n') });
  if (reps.length > 1 && !['ST', 'TX', 'FT'].includes(valueType)) {
    scope.warn(
      'IGNORED_DATA',
      location,
      `OBX-5 has ${reps.length} repetitions for value type ${valueType}; only the first is mapped.`,
    );
  }
  switch (valueType) {
    case 'NM': {
      const value = num(first.component(1));
      if (value === undefined) {
        scope.warn('INVALID_NUMBER', location, 'OBX-5 is not a valid NM number; kept as valueString.');
        return asString();
      }
      return { valueQuantity: { value, ...quantityUnit(scope, unitRep) } };
    }
    case 'SN': {
      const comparator = first.component(1);
      const num1 = num(first.component(2));
      const separator = first.component(3);
      const num2 = num(first.component(4));
      const unit = quantityUnit(scope, unitRep);
      const text = (): ObservationValue => ({
        valueString: [comparator, first.component(2), separator, first.component(4), unit.unit ?? '']
          .filter((p) => p !== '')
          .join(' '),
      });
      if (comparator === '<>' || separator === '+') return text();
      if ((separator === ':' || separator === '/') && num1 !== undefined && num2 !== undefined) {
        return { valueRatio: { numerator: { value: num1 }, denominator: { value: num2 } } };
      }
      if (separator === '-' && num1 !== undefined && num2 !== undefined) {
        return { valueRange: { low: { value: num1, ...unit }, high: { value: num2, ...unit } } };
      }
      if (
        separator === '' &&
        num1 !== undefined &&
        (comparator === '' || comparator === '=' || COMPARATORS.has(comparator))
      ) {
        const fhirComparator = COMPARATORS.has(comparator)
          ? (comparator as Quantity['comparator'])
          : undefined;
        return {
          valueQuantity: {
            value: num1,
            ...(fhirComparator !== undefined ? { comparator: fhirComparator } : {}),
            ...unit,
          },
        };
      }
      scope.warn(
        'INVALID_NUMBER',
        location,
        'OBX-5 SN value is not structured as comparator^num1^separator^num2; kept as valueString.',
      );
      return text();
    }
    case 'ST':
    case 'TX':
    case 'FT':
      return asString();
    case 'CE':
    case 'CWE':
    case 'CNE':
    case 'CF':
    case 'IS':
    case 'ID': {
      const concept = mapCwe(scope, first, location);
      return concept !== undefined ? { valueCodeableConcept: concept } : {};
    }
    case 'DT':
    case 'DTM':
    case 'TS': {
      const dateTime = scope.dateTime(first.component(1), location);
      return dateTime !== undefined ? { valueDateTime: dateTime } : {};
    }
    case 'TM': {
      const time = v2TimeToFhir(first.component(1));
      if (time === undefined) {
        scope.warn('INVALID_DATETIME', location, 'OBX-5 is not a valid TM time; ignored.');
        return {};
      }
      return { valueTime: time };
    }
    case 'NR': {
      const low = num(first.component(1));
      const high = num(first.component(2));
      if (low === undefined && high === undefined) return asString();
      return {
        valueRange: {
          ...(low !== undefined ? { low: { value: low } } : {}),
          ...(high !== undefined ? { high: { value: high } } : {}),
        },
      };
    }
    default:
      scope.warn(
        'UNSUPPORTED_VALUE_TYPE',
        scope.at(obx, 2),
        'OBX-2 value type has no FHIR mapping here; OBX-5 kept as valueString.',
      );
      return asString();
  }
}

function fillerPlacer(scope: MappingScope, group: OrderGroup): { filler?: Identifier; placer?: Identifier } {
  const filler =
    mapEi(scope, group.obr.repetitions(3)[0], scope.at(group.obr, 3)) ??
    (group.orc !== undefined ? mapEi(scope, group.orc.repetitions(3)[0], scope.at(group.orc, 3)) : undefined);
  const placer =
    mapEi(scope, group.obr.repetitions(2)[0], scope.at(group.obr, 2)) ??
    (group.orc !== undefined ? mapEi(scope, group.orc.repetitions(2)[0], scope.at(group.orc, 2)) : undefined);
  return {
    ...(filler !== undefined
      ? {
          filler: {
            type: { coding: [{ system: v2TableSystem('0203'), code: 'FILL', display: 'Filler Identifier' }] },
            ...filler,
          },
        }
      : {}),
    ...(placer !== undefined
      ? {
          placer: {
            type: { coding: [{ system: v2TableSystem('0203'), code: 'PLAC', display: 'Placer Identifier' }] },
            ...placer,
          },
        }
      : {}),
  };
}

export interface MappedOrder {
  readonly report: DiagnosticReport;
  readonly observations: readonly Observation[];
}

/**
 * One ORDER_OBSERVATION group -> DiagnosticReport (IG OBR[DiagnosticReport]) + Observations
 * (IG OBX[Observation]). OBX of type ED become DiagnosticReport.presentedForm (the rendered report).
 */
export function mapOrder(
  scope: MappingScope,
  group: OrderGroup,
  subject: Reference<Patient>,
  encounter: Reference<Encounter> | undefined,
): MappedOrder | undefined {
  const { obr } = group;
  const code = mapCwe(scope, obr.repetitions(4)[0], scope.at(obr, 4));
  if (code === undefined) {
    scope.fail('101', scope.at(obr, 4), 'OBR-4 (universal service identifier) is required.');
    return undefined;
  }
  const { filler, placer } = fillerPlacer(scope, group);
  const keyIdentifier = filler ?? placer;
  if (keyIdentifier === undefined) {
    scope.warn(
      'MISSING_RECOMMENDED_FIELD',
      scope.at(obr, 3),
      'Neither OBR-3/ORC-3 (filler) nor OBR-2/ORC-2 (placer) order number is sent: the report id is derived from MSH-10 and cannot be corrected later.',
    );
  }
  const reportKey =
    keyIdentifier !== undefined
      ? [
          keyIdentifier === filler ? 'filler' : 'placer',
          keyIdentifier.system ?? '',
          keyIdentifier.value ?? '',
        ]
      : ['msh-10', scope.message.header.controlId, obr.value(1)];
  const reportId = deterministicId('DiagnosticReport', scope.ctx.institutionId, ...reportKey);

  // OBR-25 result status (table 0123) -> status (IG ResultStatus[Non-Queries]); Y and Z are errors.
  const statusCode = obr.value(25).toUpperCase();
  if (statusCode === 'Y' || statusCode === 'Z') {
    scope.fail(
      '103',
      scope.at(obr, 25),
      'OBR-25 result status Y/Z (no order / no patient on record) cannot be mapped to a report (HL7 v2-to-FHIR IG ResultStatus).',
    );
    return undefined;
  }
  let status = present(statusCode) ? mapResultStatus(statusCode) : undefined;
  if (status === undefined) {
    scope.warn(
      'UNKNOWN_CODE',
      scope.at(obr, 25),
      'OBR-25 result status is empty or not in HL7 table 0123; report status "unknown".',
    );
    status = 'unknown';
  }

  const effective = scope.dateTime(obr.value(7, 1), scope.at(obr, 7));
  const effectiveEnd = scope.dateTime(obr.value(8, 1), scope.at(obr, 8));
  const issued = present(obr.value(22, 1)) ? scope.instant(obr.value(22, 1), scope.at(obr, 22)) : undefined;
  const category = mapCwe(scope, obr.repetitions(24)[0], scope.at(obr, 24), v2TableSystem('0074'));

  const observations: Observation[] = [];
  const presentedForm: Attachment[] = [];
  const seen = new Map<string, number>();
  for (const { obx, notes } of group.observations) {
    if (obx.value(2).toUpperCase() === 'ED') {
      const rep = obx.repetitions(5)[0];
      const decoded = rep !== undefined ? decodeEd(scope, rep, scope.at(obx, 5)) : undefined;
      if (decoded !== undefined) {
        presentedForm.push({
          contentType: decoded.contentType,
          data: decoded.bytes.toString('base64'),
          size: decoded.bytes.length,
          hash: attachmentHash(decoded.bytes),
        });
      }
      continue;
    }
    const obsCode = mapCwe(scope, obx.repetitions(3)[0], scope.at(obx, 3));
    if (obsCode === undefined) {
      scope.fail('101', scope.at(obx, 3), 'OBX-3 (observation identifier) is required.');
      continue;
    }
    const coding = obsCode.coding?.[0];
    const baseKey = `${coding?.system ?? ''}|${coding?.code ?? obsCode.text ?? ''}|${obx.value(4)}`;
    const occurrence = (seen.get(baseKey) ?? 0) + 1;
    seen.set(baseKey, occurrence);
    const id = deterministicId('Observation', scope.ctx.institutionId, reportId, baseKey, String(occurrence));

    const resultStatus = obx.value(11).toUpperCase();
    let obsStatus = present(resultStatus) ? mapObservationResultStatus(resultStatus) : undefined;
    if (obsStatus === undefined) {
      scope.warn(
        'UNKNOWN_CODE',
        scope.at(obx, 11),
        'OBX-11 result status is empty or not in HL7 table 0085; status "unknown".',
      );
      obsStatus = 'unknown';
    }
    const value = mapObservationValue(scope, obx);
    const hasValue = Object.keys(value).length > 0;
    // IG OBX-11: N -> dataAbsentReason not-asked; X (cannot be obtained) -> "error" (R4 has no
    // cannot-be-obtained code). obs-6: only when there is no value.
    const dataAbsentReason: CodeableConcept | undefined =
      hasValue || (resultStatus !== 'N' && resultStatus !== 'X')
        ? undefined
        : { coding: [{ system: DATA_ABSENT_REASON, code: resultStatus === 'N' ? 'not-asked' : 'error' }] };

    const unit = quantityUnit(scope, obx.repetitions(6)[0]);
    const range = referenceRange(obx.value(7), unit);
    // OBX-8 abnormal flags (table 0078) -> interpretation (IG InterpretationCodes).
    const interpretation: CodeableConcept[] = [];
    obx.repetitions(8).forEach((rep, i) => {
      const flag = rep.component(1);
      if (!present(flag)) return;
      const mapped = mapAbnormalFlag(flag);
      if (mapped !== undefined) {
        interpretation.push({ coding: [mapped] });
      } else {
        scope.warn(
          'UNKNOWN_CODE',
          scope.at(obx, 8, i + 1),
          'OBX-8 abnormal flag is not in HL7 table 0078; kept as a local code.',
        );
        interpretation.push({
          coding: [{ system: localCodeSystem(scope.ctx.institutionId, 'HL70078'), code: flag }],
        });
      }
    });
    const obsEffective = scope.dateTime(obx.value(14, 1), scope.at(obx, 14)) ?? effective;
    const performer = obx
      .repetitions(16)
      .flatMap((rep, i) => mapXcn(scope, rep, scope.at(obx, 16, i + 1)) ?? []);
    const method = mapCwe(scope, obx.repetitions(17)[0], scope.at(obx, 17));
    const note = notes
      .map((nte) =>
        nte
          .repetitions(3)
          .map((r) => r.text)
          .join('\n'),
      )
      .filter((t) => t !== '')
      .map((text) => ({ text }));

    observations.push({
      resourceType: 'Observation',
      id,
      ...(placer !== undefined ? { basedOn: [{ type: 'ServiceRequest', identifier: placer }] } : {}),
      status: obsStatus,
      code: obsCode,
      subject,
      ...(encounter !== undefined ? { encounter } : {}),
      ...(obsEffective !== undefined ? { effectiveDateTime: obsEffective } : {}),
      ...(issued !== undefined ? { issued } : {}),
      ...(performer.length > 0 ? { performer } : {}),
      ...value,
      ...(dataAbsentReason !== undefined ? { dataAbsentReason } : {}),
      ...(interpretation.length > 0 ? { interpretation } : {}),
      ...(note.length > 0 ? { note } : {}),
      ...(method !== undefined ? { method } : {}),
      ...(range !== undefined ? { referenceRange: [range] } : {}),
    });
  }

  const identifier = [filler, placer].filter((i) => i !== undefined);
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    id: reportId,
    ...(identifier.length > 0 ? { identifier } : {}),
    ...(placer !== undefined ? { basedOn: [{ type: 'ServiceRequest', identifier: placer }] } : {}),
    status,
    ...(category !== undefined ? { category: [category] } : {}),
    code,
    subject,
    ...(encounter !== undefined ? { encounter } : {}),
    ...(effective !== undefined && effectiveEnd !== undefined
      ? { effectivePeriod: { start: effective, end: effectiveEnd } }
      : effective !== undefined
        ? { effectiveDateTime: effective }
        : {}),
    ...(issued !== undefined ? { issued } : {}),
    ...(observations.length > 0
      ? { result: observations.map((o) => ({ reference: `Observation/${o.id}` })) }
      : {}),
    ...(presentedForm.length > 0 ? { presentedForm } : {}),
  };
  return { report, observations };
}
