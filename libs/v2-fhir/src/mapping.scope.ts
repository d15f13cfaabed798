import type { Hl7Message, Hl7Segment } from '@tessera/hl7v2';
import { normalizeUtcOffset, utcOffsetOf, v2DateTimeToFhir } from './datatypes/v2-datetime.mapper';
import type { Hl7ErrorCode } from './mapping.error';
import { MappingError } from './mapping.error';
import type { Hl7Location, MappingContext, MappingWarning, MappingWarningCode } from './mapping.types';

/**
 * The per-call state of one mapping: the institution's context, the message, and the warnings and
 * errors collected so far. Created by mapHl7Message for each call and never shared, so the public
 * mapping functions stay pure (same input, same output).
 */
export interface MappingScope {
  readonly ctx: MappingContext;
  readonly message: Hl7Message;
  readonly warnings: MappingWarning[];
  readonly errors: MappingError[];
  warn(code: MappingWarningCode, location: Hl7Location | undefined, message: string): void;
  fail(code: Hl7ErrorCode, location: Hl7Location | undefined, message: string): void;
  at(segment: Hl7Segment, field?: number, repetition?: number, component?: number): Hl7Location;
  /** FHIR dateTime (or date) of a v2 timestamp; warns and returns undefined when malformed. */
  dateTime(raw: string, location: Hl7Location): string | undefined;
  /** FHIR instant of a v2 timestamp; undefined (with a warning) when it has no time/zone. */
  instant(raw: string, location: Hl7Location): string | undefined;
}

/** True for a v2 value that is sent: not empty and not the HL7 null "" (Chapter 2 §2.5.3). */
export function present(value: string): boolean {
  return value !== '' && value !== '""';
}

export function createMappingScope(ctx: MappingContext, message: Hl7Message): MappingScope {
  const warnings: MappingWarning[] = [];
  const errors: MappingError[] = [];
  const messageOffset =
    utcOffsetOf(message.header.dateTime) ??
    (ctx.defaultUtcOffset !== undefined ? normalizeUtcOffset(ctx.defaultUtcOffset) : undefined);

  const scope: MappingScope = {
    ctx,
    message,
    warnings,
    errors,
    warn(code, location, text) {
      warnings.push(location === undefined ? { code, message: text } : { code, location, message: text });
    },
    fail(code, location, text) {
      errors.push(new MappingError(code, location, text));
    },
    at(segment, field, repetition, component) {
      const sequence = message.all(segment.name).indexOf(segment) + 1;
      return {
        segment: segment.name,
        sequence: sequence > 0 ? sequence : 1,
        ...(field !== undefined ? { field } : {}),
        ...(repetition !== undefined ? { repetition } : {}),
        ...(component !== undefined ? { component } : {}),
      };
    },
    dateTime(raw, location) {
      if (!present(raw)) return undefined;
      const converted = v2DateTimeToFhir(raw, messageOffset);
      if (converted === undefined) {
        scope.warn(
          'INVALID_DATETIME',
          location,
          'Not a valid HL7 v2 DTM (YYYY[MM[DD[HH[MM[SS]]]]][+/-ZZZZ]); value ignored.',
        );
        return undefined;
      }
      if (converted.timeDropped) {
        scope.warn(
          'TIMEZONE_UNKNOWN',
          location,
          'Timestamp has a time but no UTC offset, and neither MSH-7 nor the institution configuration gives one; kept at date precision.',
        );
      }
      return converted.value;
    },
    instant(raw, location) {
      if (!present(raw)) return undefined;
      const converted = v2DateTimeToFhir(raw, messageOffset);
      if (converted === undefined) {
        scope.warn('INVALID_DATETIME', location, 'Not a valid HL7 v2 DTM; value ignored.');
        return undefined;
      }
      if (!converted.hasTime) {
        scope.warn(
          'TIMEZONE_UNKNOWN',
          location,
          'Timestamp lacks a time or time zone, so it cannot be a FHIR instant; value ignored.',
        );
        return undefined;
      }
      return converted.value;
    },
  };
  return scope;
}
