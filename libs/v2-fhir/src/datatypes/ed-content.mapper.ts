import { createHash } from 'node:crypto';
import type { Hl7FieldRepetition } from '@tessera/hl7v2';
import type { MappingScope } from '../mapping.scope';
import { present } from '../mapping.scope';
import type { DocumentContent, Hl7Location } from '../mapping.types';
import { mapEdMimeType } from '../vocabulary/v2-tables.vocabulary';

/** Decoded document bytes and their MIME type. */
export interface DecodedContent {
  readonly contentType: string;
  readonly bytes: Buffer;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX = /^(?:[0-9A-Fa-f]{2})*$/;

/**
 * ED (1 source application ^ 2 type of data (table 0191) ^ 3 data subtype (table 0291) ^
 * 4 encoding (table 0299: A, Hex, Base64) ^ 5 data) -> bytes + MIME type (IG ED[Attachment]).
 * Whitespace inside Base64/Hex data (line breaks from \.br\ or folding) is removed before decoding.
 * Fails with 102 (data type error) when the data does not decode.
 */
export function decodeEd(
  scope: MappingScope,
  rep: Hl7FieldRepetition,
  location: Hl7Location,
): DecodedContent | undefined {
  const typeOfData = rep.component(2);
  const subtype = rep.component(3);
  const encoding = rep.component(4).toUpperCase();
  const data = rep.component(5);
  if (!present(data)) {
    scope.fail(
      '101',
      { ...location, component: 5 },
      'OBX-5 ED data (component 5) is empty: send the document content.',
    );
    return undefined;
  }
  let contentType = mapEdMimeType(typeOfData, subtype);
  if (contentType === undefined) {
    scope.warn(
      'UNKNOWN_CODE',
      { ...location, component: 2 },
      'ED type of data / subtype (tables 0191/0291) not recognised; content typed application/octet-stream.',
    );
    contentType = 'application/octet-stream';
  }
  let bytes: Buffer;
  if (encoding === 'BASE64') {
    const compact = data.replace(/\s+/g, '');
    if (!BASE64.test(compact)) {
      scope.fail(
        '102',
        { ...location, component: 5 },
        'OBX-5 ED data is declared Base64 (ED-4) but is not valid Base64.',
      );
      return undefined;
    }
    bytes = Buffer.from(compact, 'base64');
  } else if (encoding === 'HEX') {
    const compact = data.replace(/\s+/g, '');
    if (!HEX.test(compact)) {
      scope.fail(
        '102',
        { ...location, component: 5 },
        'OBX-5 ED data is declared Hex (ED-4) but is not valid hexadecimal.',
      );
      return undefined;
    }
    bytes = Buffer.from(compact, 'hex');
  } else if (encoding === 'A' || encoding === '') {
    bytes = Buffer.from(data, 'utf8');
  } else {
    scope.fail(
      '103',
      { ...location, component: 4 },
      'OBX-5 ED encoding (ED-4) must be A, Hex or Base64 (HL7 table 0299).',
    );
    return undefined;
  }
  return { contentType, bytes };
}

/** Bytes -> DocumentContent with size and SHA-256 (hex). */
export function toDocumentContent(decoded: DecodedContent): DocumentContent {
  return {
    contentType: decoded.contentType,
    data: decoded.bytes.toString('base64'),
    size: decoded.bytes.length,
    sha256: createHash('sha256').update(decoded.bytes).digest('hex'),
  };
}

/** FHIR R4 Attachment.hash is the base64 SHA-1 of the data (R4 §2.24.0.13 Attachment). */
export function attachmentHash(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('base64');
}
