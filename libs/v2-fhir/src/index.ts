// Public API of @tessera/v2-fhir: pure, versioned HL7 v2 -> FHIR R4 mapping after the HL7 v2-to-FHIR
// Implementation Guide, and the outbound direction for ADT notifications (FHIR Encounter -> HL7 v2.5.1
// ADT). No I/O, no infrastructure (type:domain).
export { mapHl7Message, classifyMessage } from './message.mapper';
export type { SupportedMessage } from './message.mapper';
export { MAPPER_VERSION } from './mapping.types';
export type {
  DocumentContent,
  Hl7Location,
  MappingContext,
  MappingOutcome,
  MappingResult,
  MappingWarning,
  MappingWarningCode,
  MessageKind,
  PatientMerge,
} from './mapping.types';
export { MappingError, formatLocation, isMappingError } from './mapping.error';
export type { Hl7ErrorCode } from './mapping.error';
export { deterministicId } from './resource-id.util';
export {
  resolveCodeSystem,
  STANDARD_CODE_SYSTEMS,
  localCodeSystem,
  localAssigningAuthoritySystem,
} from './vocabulary/code-systems.vocabulary';
export {
  mapAbnormalFlag,
  mapAdministrativeSex,
  mapDocumentAvailability,
  mapDocumentCompletionStatus,
  mapNameType,
  mapObservationResultStatus,
  mapPatientClass,
  mapResultStatus,
  mapTriggerToEncounterStatus,
} from './vocabulary/v2-tables.vocabulary';
export { v2DateTimeToFhir } from './datatypes/v2-datetime.mapper';
export {
  CLEARED_ELEMENT_EXTENSION,
  clearedElementsOf,
  PROTECTION_INDICATOR_EXTENSION,
  protectionIndicatorOf,
} from './segments/patient.mapper';
export { ADT_CLOSED_BY_RULE_REASON, buildAdtNotification } from './outbound/adt-notification.builder';
export type {
  AdtNotificationIdentifier,
  AdtNotificationInput,
  AdtNotificationTrigger,
} from './outbound/adt-notification.builder';
