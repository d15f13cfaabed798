// Independent HL7 v2 peers for integration tests: Debian's python3-hl7 mllp_send and HAPI HL7v2 as
// senders (into the gateway), and HAPI HL7v2 as a receiver (of Tessera's outbound notifications).
export { ensureMllpSend, sendWithMllpSend } from './mllp-send.peer';
export type { MllpSendOptions } from './mllp-send.peer';
export { ensureHapiSender, sendWithHapi } from './hapi-sender.peer';
export type { HapiAck } from './hapi-sender.peer';
export { ensureHapiReceiver, startHapiReceiver } from './hapi-receiver.peer';
export type { HapiReceivedMessage, HapiReceiver, HapiReceiverOptions } from './hapi-receiver.peer';
