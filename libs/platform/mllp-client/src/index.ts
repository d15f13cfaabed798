// Promise-based MLLP client (node:net / node:tls) with pipelining, an ACK reader, and what a sender does with an ACK.
export { connect, MllpClient, MllpConnectionError, MllpTimeoutError } from './mllp.client';
export type { MllpAckResult, MllpConnectOptions, MllpSendOptions } from './mllp.client';
export { isPositiveAck, readAck } from './ack.reader';
export type { AckError, AckSummary } from './ack.reader';
export { ACK_ERROR_MAX_LENGTH, readAckDisposition } from './ack-disposition.policy';
export type { AckDisposition } from './ack-disposition.policy';
