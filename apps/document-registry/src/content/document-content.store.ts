import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';

/** Document bytes, content-addressed by their SHA-256 (IHE MHD ITI-68 retrieves them by URL). */
export interface DocumentContent {
  /** Lowercase hex SHA-256 of `bytes`. */
  readonly sha256: string;
  readonly contentType: string;
  readonly size: number;
  readonly bytes: Buffer;
}

/**
 * Port of the document content repository. The default adapter keeps bytes in the registry's
 * Postgres (`document_contents`, written in the consumer's transaction). An S3-compatible adapter
 * is a future configuration: `put` would write the object `sha256/<digest>` before the transaction
 * commits (content-addressed, so a retried put is harmless and an orphan object is only garbage),
 * and `get` would stream it back; the index rows do not change.
 */
export interface DocumentContentStore {
  /** Stores the bytes once per digest; `tx` is the transaction of the indexing handler. */
  put(content: DocumentContent, tx: EntityManager): Promise<void>;
  get(sha256: string): Promise<DocumentContent | undefined>;
}

export const DOCUMENT_CONTENT_STORE = Symbol('DOCUMENT_CONTENT_STORE');

/** Decodes the base64 of an event and checks the declared digest and size (never trusts them). */
export function decodeContent(declared: {
  readonly contentType: string;
  readonly sha256: string;
  readonly size: number;
  readonly base64: string;
}): DocumentContent {
  const bytes = Buffer.from(declared.base64, 'base64');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== declared.sha256) throw new Error('document content does not match its declared SHA-256');
  if (bytes.length !== declared.size) throw new Error('document content does not match its declared size');
  return { sha256, contentType: declared.contentType, size: bytes.length, bytes };
}
