// Independent MLLP peers for the gateway's integration tests: Debian's python3-hl7 mllp_send and HAPI HL7v2.
export { ensureMllpSend, sendWithMllpSend } from './mllp-send.peer';
export type { MllpSendOptions } from './mllp-send.peer';
export { ensureHapiSender, sendWithHapi } from './hapi-sender.peer';
export type { HapiAck } from './hapi-sender.peer';
