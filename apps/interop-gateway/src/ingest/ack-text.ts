import { encodeHl7Text, recoverHeaderFragments } from '@tessera/hl7v2';
import type { Hl7AckSubject } from '@tessera/hl7v2';

let counter = 0;

/** MSH-10 of the gateway's ACKs: unique per process and time, ≤ 20 characters (ST length in v2.5). */
export function nextAckControlId(): string {
  counter = (counter + 1) % 1_000_000;
  return `T${Date.now().toString(36).toUpperCase()}${counter.toString(36).toUpperCase().padStart(4, '0')}`;
}

/** The ACK goes back in the message's character set; an unknown one falls back to UTF-8. */
export function encodeAck(text: string, charset: string): Buffer {
  try {
    return encodeHl7Text(text, charset);
  } catch {
    return Buffer.from(text, 'utf8');
  }
}

/**
 * Header fields read from the raw bytes' first segment only (MSH is ASCII in every supported
 * charset), before the message is decoded — e.g. MSH-4 to pick the feed's default charset.
 */
export function peekHeader(bytes: Buffer): Hl7AckSubject {
  let start = 0;
  while (start < bytes.length && (bytes[start] === 0x0d || bytes[start] === 0x0a)) start++;
  const limit = Math.min(bytes.length, start + 4096);
  let end = start;
  while (end < limit && bytes[end] !== 0x0d && bytes[end] !== 0x0a) end++;
  return recoverHeaderFragments(bytes.toString('latin1', start, end));
}
