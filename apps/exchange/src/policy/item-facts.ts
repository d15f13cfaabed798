import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import type { ItemFacts, SecurityLabel } from '@tessera/consent-policy';

/** `meta.source` of a registry item names its source institution (registry presenter). */
const INSTITUTION_SOURCE_PREFIX = 'urn:tessera:institution:';
const REGISTRY_SOURCE_EXTENSION = 'https://tessera.example/fhir/StructureDefinition/registry-source';

interface Extension {
  readonly url?: string;
  readonly valueString?: string;
  readonly extension?: readonly Extension[];
}

/**
 * The facts the consent evaluator needs about one returned item: its source institution (the
 * registry's `meta.source`, or its `registry-source` extension) and its security labels
 * (`meta.security`). Null when the item does not say where it came from: such an item is never shown
 * to anyone (fail closed). Pure.
 */
export function itemFactsOf(resource: Readonly<Record<string, unknown>>): ItemFacts | null {
  const meta = (resource['meta'] ?? {}) as { source?: unknown; security?: unknown };
  let institution: string | undefined;
  if (typeof meta.source === 'string' && meta.source.startsWith(INSTITUTION_SOURCE_PREFIX)) {
    institution = meta.source.slice(INSTITUTION_SOURCE_PREFIX.length);
  }
  if (institution === undefined && Array.isArray(resource['extension'])) {
    const registry = (resource['extension'] as Extension[]).find((e) => e.url === REGISTRY_SOURCE_EXTENSION);
    institution = registry?.extension?.find((e) => e.url === 'institution')?.valueString;
  }
  if (institution === undefined || institution === '') return null;
  const labels: SecurityLabel[] = Array.isArray(meta.security)
    ? (meta.security as { system?: unknown; code?: unknown }[])
        .filter((c) => typeof c.code === 'string')
        .map((c) => ({ system: typeof c.system === 'string' ? c.system : '', code: c.code as string }))
    : [];
  return { sourceInstitution: institution, securityLabels: labels };
}

/** One item a response carries, as its audit record names it. */
export interface ReturnedItem {
  readonly type: string;
  readonly reference: string;
  readonly sourceInstitution: string;
}

export interface FilteredBundle {
  readonly bundle: Bundle;
  /** The kept items, for the audit record (who accessed which institution's item). */
  readonly items: readonly ReturnedItem[];
  /** Entries the re-check dropped (should be 0: the registry filtered with the same visibility). */
  readonly dropped: number;
  readonly kept: number;
}

/**
 * Re-checks every entry of a registry bundle with `permit` (decideItem against the visibility the
 * registry was given), drops what is denied, lowers `total` by what was dropped, and points every
 * link, fullUrl and Binary attachment at the exchange's FHIR base instead of the registry's. Pure.
 */
export function filterBundle(
  bundle: Bundle,
  permit: (facts: ItemFacts) => boolean,
  fhirBase: string,
): FilteredBundle {
  const entries = bundle.entry ?? [];
  const kept: BundleEntry[] = [];
  const items: ReturnedItem[] = [];
  for (const entry of entries) {
    const resource = entry.resource as Readonly<Record<string, unknown>> | undefined;
    const facts = resource === undefined ? null : itemFactsOf(resource);
    if (facts === null || !permit(facts)) continue;
    kept.push(rebaseEntry(entry, fhirBase));
    const type = resource?.['resourceType'];
    const id = resource?.['id'];
    if (typeof type === 'string' && typeof id === 'string')
      items.push({ type, reference: `${type}/${id}`, sourceInstitution: facts.sourceInstitution });
  }
  const dropped = entries.length - kept.length;
  const out: Bundle = {
    ...bundle,
    ...(bundle.total === undefined ? {} : { total: Math.max(0, bundle.total - dropped) }),
    ...(bundle.link === undefined
      ? {}
      : { link: bundle.link.map((l): BundleLink => ({ ...l, url: rebase(l.url ?? '', fhirBase) })) }),
    entry: kept,
  };
  return { bundle: out, items, dropped, kept: kept.length };
}

function rebaseEntry(entry: BundleEntry, fhirBase: string): BundleEntry {
  const resource = entry.resource as
    (Resource & { content?: { attachment?: { url?: string } }[] }) | undefined;
  let rebased: Resource | undefined = resource;
  if (resource?.resourceType === 'DocumentReference' && Array.isArray(resource.content)) {
    rebased = {
      ...resource,
      content: resource.content.map((c) =>
        c.attachment?.url === undefined
          ? c
          : { ...c, attachment: { ...c.attachment, url: rebase(c.attachment.url, fhirBase) } },
      ),
    };
  }
  return {
    ...entry,
    ...(entry.fullUrl === undefined ? {} : { fullUrl: rebase(entry.fullUrl, fhirBase) }),
    ...(rebased === undefined ? {} : { resource: rebased }),
  };
}

/**
 * A registry-relative URL (`/DocumentReference?…`, `DocumentReference/1`, `Binary/<sha>`) on the
 * exchange's FHIR base; absolute URLs of other hosts are reduced to their path first. Pure.
 */
export function rebase(url: string, fhirBase: string): string {
  if (url === '') return url;
  let pathAndQuery = url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    const parsed = new URL(url);
    pathAndQuery = `${parsed.pathname}${parsed.search}`;
  }
  if (pathAndQuery.startsWith(`${new URL(fhirBase).pathname}/`))
    return `${new URL(fhirBase).origin}${pathAndQuery}`;
  return `${fhirBase}/${pathAndQuery.replace(/^\/+/, '')}`;
}
