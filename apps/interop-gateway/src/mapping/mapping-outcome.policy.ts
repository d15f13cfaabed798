import type { SenderAuthentication } from '@tessera/contracts';
import type { Hl7Message } from '@tessera/hl7v2';
import { isHl7ParseError, parseHl7 } from '@tessera/hl7v2';
import type { MappingError, MappingWarning } from '@tessera/v2-fhir';
import { MAPPER_VERSION, formatLocation, mapHl7Message } from '@tessera/v2-fhir';
import type { Institution } from '../institutions/institution';
import type { CanonicalEvent } from './canonical-events';
import { canonicalEventsOf, messageTimeOf } from './canonical-events';
import { withOwnIdentifierSystems } from './identifier-ownership.policy';
import { mappingContextFor } from './mapping-context.factory';

/** Longest state_detail kept in the ledger (operators read it in lists). */
const MAX_DETAIL = 2000;

/**
 * What mapping one stored message decided. `failed` is deterministic: the same message through the
 * same mapper fails the same way, so it is recorded (ledger state `failed`), never retried; a
 * replay after a mapper or registration change is the remedy.
 */
export type MappingDecision =
  | {
      readonly status: 'mapped';
      readonly mapperVersion: string;
      readonly events: readonly CanonicalEvent[];
      readonly warnings: readonly MappingWarning[];
      readonly detail: string | null;
    }
  | { readonly status: 'failed'; readonly mapperVersion: string; readonly detail: string };

export interface StoredHl7Message {
  readonly ledgerId: string;
  readonly institutionId: string | null;
  /** The message text decoded by its character set. */
  readonly text: string;
  /** How its sender was authenticated (ledger / InboundHl7v2Received); copied onto every canonical event. */
  readonly senderAuthentication?: SenderAuthentication;
  /** When the ledger received it (ISO instant): the message time when MSH-7 gives none. */
  readonly receivedAt?: string;
}

function clip(text: string): string {
  return text.length <= MAX_DETAIL ? text : `${text.slice(0, MAX_DETAIL - 1)}…`;
}

/** "101 at PID-3: …; 102 at OBX[2]-5: …" — codes of HL7 table 0357, locations as ERL, no field values. */
export function describeMappingErrors(errors: readonly MappingError[]): string {
  return clip(
    errors.map((e) => `${e.hl7ErrorCode} at ${formatLocation(e.location)}: ${e.message}`).join('; '),
  );
}

function describeWarnings(warnings: readonly MappingWarning[]): string | null {
  if (warnings.length === 0) return null;
  const listed = warnings.map(
    (w) => `${w.code}${w.location === undefined ? '' : ` at ${formatLocation(w.location)}`}`,
  );
  return clip(`Mapped with ${warnings.length} warning(s): ${listed.join('; ')}`);
}

/**
 * Parses and maps one stored message for `institution` (undefined: no longer registered) and
 * derives its canonical events. Pure: no I/O, same input → same decision (event ids are assigned
 * later, at enqueue time).
 */
export function decideMapping(
  message: StoredHl7Message,
  institution: Institution | undefined,
  systemsOfOthers: ReadonlySet<string> = new Set(),
): MappingDecision {
  const failed = (detail: string): MappingDecision => ({
    status: 'failed',
    mapperVersion: MAPPER_VERSION,
    detail: clip(detail),
  });
  if (message.institutionId === null || institution === undefined) {
    return failed(
      `Institution ${message.institutionId ?? '(none)'} is not registered: register it (admin API) and replay the message.`,
    );
  }
  let parsed: Hl7Message;
  try {
    parsed = parseHl7(message.text);
  } catch (error) {
    if (!isHl7ParseError(error)) throw error;
    return failed(`The message cannot be parsed (${error.code} at ${error.where}): ${error.message}`);
  }
  const context = mappingContextFor(institution);
  const messageTime = messageTimeOf(parsed.header.dateTime, context.defaultUtcOffset, message.receivedAt);
  const outcome = withOwnIdentifierSystems(mapHl7Message(parsed, context), systemsOfOthers);
  switch (outcome.status) {
    case 'unsupported':
      return failed(`Not mapped (mapper ${MAPPER_VERSION}): ${describeMappingErrors([outcome.error])}`);
    case 'invalid':
      return failed(`Not mapped (mapper ${MAPPER_VERSION}): ${describeMappingErrors(outcome.errors)}`);
    case 'mapped':
      return {
        status: 'mapped',
        mapperVersion: outcome.result.mapperVersion,
        events: canonicalEventsOf(outcome.result, {
          institutionId: institution.id,
          sourceMessageId: message.ledgerId,
          channel: 'hl7v2',
          ...(message.senderAuthentication === undefined
            ? {}
            : { senderAuthentication: message.senderAuthentication }),
          ...(messageTime === undefined ? {} : { messageTime }),
        }),
        warnings: outcome.result.warnings,
        detail: describeWarnings(outcome.result.warnings),
      };
  }
}
