import { z } from 'zod';
import type { Visibility } from './model';

/** Header carrying the decision from the exchange to the data services (registry SQL filter). */
export const VISIBILITY_HEADER = 'x-tessera-visibility';

/** What the header carries: the visibility plus the enterprise id it was decided for (null: unknown person). */
export type VisibilityHeader = Visibility & { readonly enterpriseId: string | null };

const MAX_HEADER_LENGTH = 8192;
const token = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:-]+$/);

const VisibilityHeaderSchema = z.strictObject({
  enterpriseId: token.nullable(),
  ownInstitution: token,
  others: z.enum(['all', 'none']),
  deniedLabels: z
    .array(
      z
        .string()
        .min(1)
        .max(64)
        .regex(/^[A-Za-z0-9_-]+$/),
    )
    .max(200),
});

/** base64url(JSON) of the header value; fields in a fixed order, denied labels de-duplicated and sorted. */
export function encodeVisibility(v: VisibilityHeader): string {
  const value: VisibilityHeader = {
    enterpriseId: v.enterpriseId,
    ownInstitution: v.ownInstitution,
    others: v.others,
    deniedLabels: [...new Set(v.deniedLabels)].sort(),
  };
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/**
 * Decodes and validates the header. Returns `{ value }` or `{ error }` (a short reason, never the
 * header's content). Missing, oversized, non-base64url, non-JSON or wrongly shaped input is an error.
 */
export function parseVisibilityHeader(
  header: string | readonly string[] | null | undefined,
):
  | { readonly value: VisibilityHeader; readonly error?: undefined }
  | { readonly value?: undefined; readonly error: string } {
  if (Array.isArray(header)) return { error: 'X-Tessera-Visibility must be sent once' };
  if (typeof header !== 'string' || header === '') return { error: 'X-Tessera-Visibility is missing' };
  if (header.length > MAX_HEADER_LENGTH) return { error: 'X-Tessera-Visibility is too long' };
  if (!/^[A-Za-z0-9_-]+$/.test(header)) return { error: 'X-Tessera-Visibility is not base64url' };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
  } catch {
    return { error: 'X-Tessera-Visibility is not base64url(JSON)' };
  }
  const parsed = VisibilityHeaderSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join('.') || '(root)';
    return { error: `X-Tessera-Visibility is invalid at ${where}` };
  }
  return { value: parsed.data };
}

/** `parseVisibilityHeader` for callers that only need the value: undefined on any bad input. */
export function decodeVisibility(
  header: string | readonly string[] | null | undefined,
): VisibilityHeader | undefined {
  return parseVisibilityHeader(header).value;
}
