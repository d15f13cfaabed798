import type { Hl7Segment } from '@tessera/hl7v2';
import type {
  CodeableConcept,
  Coding,
  DocumentReference,
  DocumentReferenceRelatesTo,
  Encounter,
  Patient,
  Reference,
} from '@medplum/fhirtypes';
import { attachmentHash, decodeEd, toDocumentContent } from '../datatypes/ed-content.mapper';
import type { DecodedContent } from '../datatypes/ed-content.mapper';
import { mapCwe, mapEi, mapXcn } from '../datatypes/v2-datatypes.mapper';
import type { MappingScope } from '../mapping.scope';
import { present } from '../mapping.scope';
import type { DocumentContent } from '../mapping.types';
import { deterministicId } from '../resource-id.util';
import { localCodeSystem } from '../vocabulary/code-systems.vocabulary';
import {
  mapConfidentiality,
  mapDocumentAvailability,
  mapDocumentCompletionStatus,
} from '../vocabulary/v2-tables.vocabulary';

/** Text content is stored as UTF-8; the charset parameter says so (FHIR Attachment.contentType). */
const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';
const TEXT_VALUE_TYPES: ReadonlySet<string> = new Set(['TX', 'ST', 'FT']);

export function documentId(institutionId: string, system: string, value: string): string {
  return deterministicId('DocumentReference', institutionId, system, value);
}

/**
 * Document bytes from the OBX segments of an MDM message: the first OBX of type ED (IG OBX[DocumentReference]:
 * ED[Attachment]) or, without ED, the TX/ST/FT OBX-5 values as lines of text (each repetition and
 * each OBX one line, joined by "\n"). Fails with 101 when there is no content at all.
 */
function documentContent(scope: MappingScope, obxs: readonly Hl7Segment[]): DecodedContent | undefined {
  const edSegments = obxs.filter((obx) => obx.value(2).toUpperCase() === 'ED');
  const first = edSegments[0];
  if (first !== undefined) {
    if (edSegments.length > 1) {
      scope.warn(
        'IGNORED_DATA',
        scope.at(edSegments[1], 5),
        'More than one OBX of type ED: only the first is the document content.',
      );
    }
    const rep = first.repetitions(5)[0];
    if (rep === undefined) {
      scope.fail('101', scope.at(first, 5), 'OBX-5 (ED document content) is empty.');
      return undefined;
    }
    return decodeEd(scope, rep, scope.at(first, 5));
  }
  const lines = obxs
    .filter((obx) => TEXT_VALUE_TYPES.has(obx.value(2).toUpperCase()))
    .flatMap((obx) => obx.repetitions(5).map((rep) => rep.text));
  if (lines.length === 0) {
    scope.fail(
      '101',
      { segment: 'OBX', sequence: 1, field: 5 },
      'The document content is missing: send OBX segments with OBX-2 ED (Base64) or TX lines.',
    );
    return undefined;
  }
  return { contentType: TEXT_CONTENT_TYPE, bytes: Buffer.from(lines.join('\n'), 'utf8') };
}

/**
 * DocumentReference.type from TXA-2 (IG TXA[DocumentReference]: TXA-2 -> type) plus the OBX-3
 * codes of the document's OBX segments as further codings. The IG's OBX[DocumentReference] map
 * leaves OBX-3 unmapped, but senders often put the precise document code there (a LOINC document
 * type such as 34788-0 Psychiatry Consult note next to TXA-2 "CN"): dropping it would lose what the
 * document is, which sensitivity labeling and searches by type rely on. Codings are kept once by
 * system|code, TXA-2's first; the text is TXA-2's, else the first OBX-3's.
 */
function documentType(
  txaType: CodeableConcept | undefined,
  obxTypes: readonly (CodeableConcept | undefined)[],
): CodeableConcept | undefined {
  const codings: Coding[] = [];
  const seen = new Set<string>();
  for (const concept of [txaType, ...obxTypes]) {
    for (const coding of concept?.coding ?? []) {
      const key = `${coding.system ?? ''}|${coding.code ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      codings.push(coding);
    }
  }
  const text = txaType?.text ?? obxTypes.find((t) => t?.text !== undefined)?.text;
  if (codings.length === 0 && text === undefined) return undefined;
  return { ...(codings.length > 0 ? { coding: codings } : {}), ...(text !== undefined ? { text } : {}) };
}

export interface MappedDocument {
  readonly document: DocumentReference;
  readonly content: DocumentContent;
}

/**
 * TXA + OBX -> DocumentReference after the IG segment maps TXA[DocumentReference] and
 * OBX[DocumentReference]:
 * - TXA-12 unique document number -> masterIdentifier (required: 101) and the resource id;
 * - TXA-2 document type -> type, with the OBX-3 codes as further codings (documentType above);
 *   TXA-17 completion status -> docStatus; TXA-19 availability -> status;
 *   TXA-18 confidentiality -> securityLabel; TXA-6 origination -> date (when it has a time) and
 *   content.attachment.creation; TXA-9 originator -> author; TXA-10 authenticator; TXA-25 title ->
 *   description and attachment.title.
 * - T08 (edit) and T10 (replacement) with TXA-13 parent document number -> relatesTo "replaces"
 *   the parent's DocumentReference (its deterministic id). T10 requires TXA-13 (101). T04 (status
 *   change) and T08 without TXA-13 update the document with the same TXA-12 in place.
 */
export function mapDocument(
  scope: MappingScope,
  txa: Hl7Segment,
  obxs: readonly Hl7Segment[],
  subject: Reference<Patient>,
  encounter: Reference<Encounter> | undefined,
  triggerEvent: string,
): MappedDocument | undefined {
  const trigger = triggerEvent.toUpperCase();
  const master = mapEi(scope, txa.repetitions(12)[0], scope.at(txa, 12));
  if (master === undefined) {
    scope.fail('101', scope.at(txa, 12), 'TXA-12 (unique document number) is required.');
  }
  const parent = mapEi(scope, txa.repetitions(13)[0], scope.at(txa, 13));
  if (trigger === 'T10' && parent === undefined) {
    scope.fail(
      '101',
      scope.at(txa, 13),
      'TXA-13 (parent document number) is required for a T10 replacement: it names the document replaced.',
    );
  }
  const decoded = documentContent(scope, obxs);
  if (master === undefined || decoded === undefined || (trigger === 'T10' && parent === undefined))
    return undefined;

  const completion = txa.value(17).toUpperCase();
  const docStatus = present(completion) ? mapDocumentCompletionStatus(completion) : undefined;
  if (docStatus === undefined) {
    scope.warn(
      'UNKNOWN_CODE',
      scope.at(txa, 17),
      'TXA-17 completion status is empty or not in HL7 table 0271; docStatus left empty.',
    );
  }
  const availability = txa.value(19).toUpperCase();
  let status = present(availability) ? mapDocumentAvailability(availability) : 'current';
  if (status === undefined) {
    scope.warn(
      'UNKNOWN_CODE',
      scope.at(txa, 19),
      'TXA-19 availability status is not in HL7 table 0273; status "current".',
    );
    status = 'current';
  }
  const confidentiality = present(txa.value(18)) ? mapConfidentiality(txa.value(18)) : undefined;
  if (present(txa.value(18)) && confidentiality === undefined) {
    scope.warn(
      'UNKNOWN_CODE',
      scope.at(txa, 18),
      'TXA-18 confidentiality is not in HL7 table 0272; no security label.',
    );
  }

  const txaType = mapCwe(
    scope,
    txa.repetitions(2)[0],
    scope.at(txa, 2),
    localCodeSystem(scope.ctx.institutionId, 'HL70270'),
  );
  if (txaType === undefined) {
    scope.warn('MISSING_RECOMMENDED_FIELD', scope.at(txa, 2), 'TXA-2 (document type) is empty.');
  }
  const type = documentType(
    txaType,
    obxs.map((obx) => mapCwe(scope, obx.repetitions(3)[0], scope.at(obx, 3))),
  );
  const originationRaw = txa.value(6, 1);
  // TXA-6 -> date (instant) only when it carries a time (IG: "If time is included").
  const date =
    present(originationRaw) && originationRaw.length > 8
      ? scope.instant(originationRaw, scope.at(txa, 6))
      : undefined;
  const creation = scope.dateTime(originationRaw, scope.at(txa, 6));
  const author = txa.repetitions(9).flatMap((rep, i) => mapXcn(scope, rep, scope.at(txa, 9, i + 1)) ?? []);
  const authenticatorRep = txa.repetitions(10)[0];
  const authenticator =
    authenticatorRep !== undefined ? mapXcn(scope, authenticatorRep, scope.at(txa, 10)) : undefined;
  const title = txa.repetitions(25)[0]?.text ?? '';

  const relatesTo: DocumentReferenceRelatesTo[] =
    parent !== undefined && (trigger === 'T08' || trigger === 'T10')
      ? [
          {
            code: 'replaces',
            target: {
              reference: `DocumentReference/${documentId(scope.ctx.institutionId, parent.system, parent.value)}`,
              type: 'DocumentReference',
              identifier: parent,
            },
          },
        ]
      : [];

  const content = toDocumentContent(decoded);
  const document: DocumentReference = {
    resourceType: 'DocumentReference',
    id: documentId(scope.ctx.institutionId, master.system, master.value),
    masterIdentifier: master,
    status,
    ...(docStatus !== undefined ? { docStatus } : {}),
    ...(type !== undefined ? { type } : {}),
    subject,
    ...(date !== undefined ? { date } : {}),
    ...(author.length > 0 ? { author } : {}),
    ...(authenticator !== undefined ? { authenticator } : {}),
    ...(relatesTo.length > 0 ? { relatesTo } : {}),
    ...(present(title) ? { description: title } : {}),
    ...(confidentiality !== undefined ? { securityLabel: [{ coding: [confidentiality] }] } : {}),
    content: [
      {
        attachment: {
          contentType: content.contentType,
          size: content.size,
          hash: attachmentHash(decoded.bytes),
          ...(present(title) ? { title } : {}),
          ...(creation !== undefined ? { creation } : {}),
        },
      },
    ],
    ...(encounter !== undefined ? { context: { encounter: [encounter] } } : {}),
  };
  return { document, content };
}
