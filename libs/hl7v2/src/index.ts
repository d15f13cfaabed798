// Public API of @tessera/hl7v2: pure HL7 v2.x parsing, building, character sets, MLLP framing and
// acknowledgments. No sockets, no Nest, no infrastructure (type:domain).
export type { Hl7EncodingCharacters, Hl7FieldRepetition, Hl7Header, Hl7Message, Hl7Segment } from './message';
export { parseHl7 } from './parse/hl7-message.parser';
export { Hl7ParseError, isHl7ParseError } from './parse/hl7-parse.error';
export type { Hl7ErrorLocation, Hl7ParseErrorCode } from './parse/hl7-parse.error';
export { DEFAULT_ENCODING_CHARACTERS, escapeHl7, unescapeHl7 } from './encoding/hl7-escape.codec';
export { encodeMllpFrame, MllpFrameDecoder } from './mllp/mllp-frame.decoder';
export type { MllpFrame, MllpFrameDecoderOptions, MllpFrameEvent, MllpFramingError, MllpFramingErrorCode } from './mllp/mllp-frame.decoder';
export { decodeHl7Bytes, encodeHl7Text, Hl7CharsetError, isSupportedHl7Charset } from './charset/hl7-charset.codec';
export type { DecodedHl7Text, DecodeHl7Options, Hl7CharsetErrorCode } from './charset/hl7-charset.codec';
export { HL7_ERROR_CODE_TEXT, Hl7ErrorCodes } from './ack/hl7-error-code.const';
export type { Hl7ErrorCode } from './ack/hl7-error-code.const';
export { ackMode, ackRequired, applicationAckRequested, immediateAckCode } from './ack/ack-mode.policy';
export type { AckCode, AckCondition, AckOutcome, Hl7AckPlan } from './ack/ack-mode.policy';
export { ackErrorFor, buildAck, buildAckForUnparseable, formatDtm, recoverHeaderFragments } from './ack/ack.builder';
export type { BuildAckForUnparseableOptions, BuildAckOptions, Hl7AckError, Hl7AckSubject, Hl7ErrorPointer } from './ack/ack.builder';
export { Hl7MessageBuilder, repeat } from './build/hl7-message.builder';
export type { Hl7ComponentValue, Hl7FieldValue, Hl7MshInput, Hl7Repeated, Hl7RepetitionValue } from './build/hl7-message.builder';
export { splitHl7Batch } from './batch/hl7-batch.splitter';
export type { Hl7BatchSplit } from './batch/hl7-batch.splitter';
