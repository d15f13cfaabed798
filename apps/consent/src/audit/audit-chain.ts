import { createHash } from 'node:crypto';

/**
 * The audit store's hash chain (design "Audit"): every row's
 * `hash = sha256(prev_hash ‖ canonicalJson({seq, event_id, record}))`, hex, with `prev_hash` of the
 * first row 64 zeros. One chain across all partitions, so deleting, inserting, reordering or
 * editing any row breaks every later link.
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedRow {
  readonly seq: number;
  readonly eventId: string;
  readonly record: unknown;
}

/**
 * JSON with object keys sorted (UTF-16 code unit order, as RFC 8785 §3.2.3), no whitespace, array
 * order kept, `undefined` object members left out (as JSON.stringify does). Values must be plain
 * JSON data: the same value read back from a jsonb column gives the same text.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value))
        return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
      const members = Object.keys(value)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: unsupported ${typeof value}`);
  }
}

/** The hash of a row given its predecessor's hash. */
export function chainHash(prevHash: string, row: ChainedRow): string {
  return createHash('sha256')
    .update(prevHash, 'utf8')
    .update(canonicalJson({ seq: row.seq, event_id: row.eventId, record: row.record }), 'utf8')
    .digest('hex');
}
