import type { Hl7Location } from './mapping.types';

/**
 * HL7 table 0357 (Message error condition codes) values this mapper reports.
 * 101 required field missing, 102 data type error, 103 table value not found,
 * 200 unsupported message type, 201 unsupported event code, 207 application internal error.
 */
export type Hl7ErrorCode = '101' | '102' | '103' | '200' | '201' | '207';

export function formatLocation(location: Hl7Location | undefined): string {
  if (location === undefined) return 'message';
  let text = location.sequence > 1 ? `${location.segment}[${location.sequence}]` : location.segment;
  if (location.field !== undefined) {
    text += `-${location.field}`;
    if (location.repetition !== undefined && location.repetition > 1) text += `[${location.repetition}]`;
    if (location.component !== undefined) text += `.${location.component}`;
  }
  return text;
}

/**
 * Why a message could not be mapped. `message` says what is wrong, where and what to do; it never
 * contains field values (no PHI), so it may be logged and returned in ERR-8.
 */
export class MappingError extends Error {
  override readonly name = 'MappingError';

  constructor(
    readonly hl7ErrorCode: Hl7ErrorCode,
    readonly location: Hl7Location | undefined,
    message: string,
  ) {
    super(message);
  }

  /** "PID-3", "OBX[2]-5.5", … */
  get where(): string {
    return formatLocation(this.location);
  }
}

export function isMappingError(value: unknown): value is MappingError {
  return value instanceof MappingError;
}
