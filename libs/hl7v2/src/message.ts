/**
 * The read-only view of a parsed HL7v2 message that the rest of Tessera codes against.
 * parseHl7 (libs/hl7v2/src/parse) implements it with its own tokenizer (the header comment of
 * hl7-message.parser.ts says why node-hl7-client is not used for this); nothing outside this lib
 * imports node-hl7-client.
 *
 * Positions are 1-based as in the standard: field 3 of PID is `PID-3`; repetitions and components
 * are 1-based too. Values returned are unescaped (escape sequences such as \F\, \S\, \T\, \R\, \E\,
 * \X..\ and \.br\ are resolved; \.br\ becomes "\n").
 */
export interface Hl7Segment {
  /** Segment id, e.g. "PID". */
  readonly name: string;
  /** Number of fields present (not counting the segment id). */
  readonly fieldCount: number;
  /** The repetitions of field `field` (1-based); [] when empty or absent. */
  repetitions(field: number): readonly Hl7FieldRepetition[];
  /** Shortcut: first repetition, component, sub-component; '' when absent. */
  value(field: number, component?: number, subComponent?: number): string;
}

export interface Hl7FieldRepetition {
  /** Component `component` (1-based), first sub-component; '' when absent. */
  component(component: number, subComponent?: number): string;
  /** All sub-components of component `component` (1-based), unescaped; [] when absent. */
  subComponents(component: number): readonly string[];
  /** Number of components present. */
  readonly componentCount: number;
  /** The whole repetition as text, unescaped, components joined by the component separator. */
  readonly text: string;
}

export interface Hl7EncodingCharacters {
  readonly field: string;
  readonly component: string;
  readonly repetition: string;
  readonly escape: string;
  readonly subComponent: string;
  /** Truncation character (v2.7+), when declared. */
  readonly truncation?: string;
}

export interface Hl7Message {
  readonly encoding: Hl7EncodingCharacters;
  /** All segments in order. */
  readonly segments: readonly Hl7Segment[];
  /** Segments named `name`, in order. */
  all(name: string): readonly Hl7Segment[];
  /** First segment named `name`, or undefined. */
  first(name: string): Hl7Segment | undefined;
  /** Header fields most callers need, already extracted from MSH. */
  readonly header: Hl7Header;
}

export interface Hl7Header {
  readonly sendingApplication: string; // MSH-3.1
  readonly sendingFacility: string; // MSH-4.1
  readonly receivingApplication: string; // MSH-5.1
  readonly receivingFacility: string; // MSH-6.1
  readonly dateTime: string; // MSH-7 as sent
  readonly messageCode: string; // MSH-9.1 e.g. ADT
  readonly triggerEvent: string; // MSH-9.2 e.g. A01
  readonly messageStructure: string; // MSH-9.3 when present
  readonly controlId: string; // MSH-10
  readonly processingId: string; // MSH-11.1
  readonly version: string; // MSH-12.1
  readonly acceptAckType: string; // MSH-15 ('' when absent)
  readonly applicationAckType: string; // MSH-16 ('' when absent)
  readonly characterSet: string; // MSH-18 first repetition ('' when absent)
}
