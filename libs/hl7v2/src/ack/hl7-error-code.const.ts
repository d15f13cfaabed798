/** HL7 table 0357 "Message error condition codes" (v2.5+ ERR-3; v2.3/2.4 ERR-1.4 / MSA-6). */
export const Hl7ErrorCodes = {
  MessageAccepted: 0,
  SegmentSequenceError: 100,
  RequiredFieldMissing: 101,
  DataTypeError: 102,
  TableValueNotFound: 103,
  UnsupportedMessageType: 200,
  UnsupportedEventCode: 201,
  UnsupportedProcessingId: 202,
  UnsupportedVersionId: 203,
  UnknownKeyIdentifier: 204,
  DuplicateKeyIdentifier: 205,
  ApplicationRecordLocked: 206,
  ApplicationInternalError: 207,
} as const;

export type Hl7ErrorCode = (typeof Hl7ErrorCodes)[keyof typeof Hl7ErrorCodes];

/** Display text of each table 0357 code, as used in the CWE/CE `code^text^HL70357`. */
export const HL7_ERROR_CODE_TEXT: Readonly<Record<Hl7ErrorCode, string>> = {
  0: 'Message accepted',
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  103: 'Table value not found',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  202: 'Unsupported processing id',
  203: 'Unsupported version id',
  204: 'Unknown key identifier',
  205: 'Duplicate key identifier',
  206: 'Application record locked',
  207: 'Application internal error',
};
