// Promise-based MLLP client (node:net / node:tls) with pipelining, and an ACK reader.
export { connect, MllpClient, MllpConnectionError, MllpTimeoutError } from './mllp.client';
export type { MllpAckResult, MllpConnectOptions, MllpSendOptions } from './mllp.client';
export { isPositiveAck, readAck } from './ack.reader';
export type { AckError, AckSummary } from './ack.reader';
