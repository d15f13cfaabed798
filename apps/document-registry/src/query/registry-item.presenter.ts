import type { Bundle, BundleEntry, BundleLink, Coding, Extension, Resource } from '@medplum/fhirtypes';
import type { LinkConfidence } from '../links/patient-link.policy';
import type { HistoryVersion } from './registry-query.service';

/** One indexed resource as read from the index, with what joined it to the person. */
export interface IndexedItem {
  readonly resourceType: 'Encounter' | 'DocumentReference' | 'DiagnosticReport' | 'Observation';
  readonly id: string;
  readonly status: string;
  readonly institutionId: string;
  readonly patientSystem: string;
  readonly localPatientId: string;
  readonly sourceMessageId: string;
  readonly mapperVersion: string;
  readonly effectiveAt: string | null;
  readonly securityLabels: readonly Coding[];
  readonly resource: Readonly<Record<string, unknown>>;
  readonly confidence: LinkConfidence | null;
  /** The encounter's class and type tokens (its own, or the linked encounter's for documents/results). */
  readonly encounterClass: string | null;
  readonly encounterType: readonly string[];
  readonly contentSha256?: string;
  readonly seenVia?: readonly SeenVia[];
}

export interface SeenVia {
  readonly documentId: string;
  readonly institutionId: string;
  readonly channel: string;
  readonly sourceMessageId: string;
}

/** Extension carrying what the consent layer (next issue) needs and where the item came from. */
export const REGISTRY_SOURCE_EXTENSION = 'https://tessera.example/fhir/StructureDefinition/registry-source';

function sub(url: string, value: Omit<Extension, 'url'>): Extension {
  return { url, ...value };
}

/**
 * The resource as returned by the registry's searches: the source's resource, its lifecycle status
 * as the registry knows it, `meta.source` naming the source institution, `meta.security` with its
 * security labels, and the `registry-source` extension (institution, source patient identifier,
 * link confidence, encounter class/type, seen-via list for de-duplicated documents).
 */
export function presentItem(item: IndexedItem): Resource {
  const resource = item.resource;
  const meta = (resource['meta'] ?? {}) as Record<string, unknown>;
  const existing = Array.isArray(resource['extension']) ? (resource['extension'] as Extension[]) : [];
  const details: Extension[] = [
    sub('institution', { valueString: item.institutionId }),
    sub('sourcePatient', { valueIdentifier: { system: item.patientSystem, value: item.localPatientId } }),
    sub('sourceMessage', { valueString: item.sourceMessageId }),
    sub('mapperVersion', { valueString: item.mapperVersion }),
  ];
  if (item.confidence !== null) details.push(sub('linkConfidence', { valueCode: item.confidence }));
  if (item.encounterClass !== null) details.push(sub('encounterClass', { valueCode: item.encounterClass }));
  for (const token of item.encounterType) details.push(sub('encounterType', { valueString: token }));
  for (const seen of item.seenVia ?? []) {
    details.push({
      url: 'seenVia',
      extension: [
        sub('institution', { valueString: seen.institutionId }),
        sub('channel', { valueCode: seen.channel }),
        sub('document', { valueString: `DocumentReference/${seen.documentId}` }),
        sub('sourceMessage', { valueString: seen.sourceMessageId }),
      ],
    });
  }
  const presented: Record<string, unknown> = {
    ...resource,
    status: item.status,
    meta: { ...meta, source: `urn:tessera:institution:${item.institutionId}`, security: item.securityLabels },
    extension: [
      ...existing.filter((e) => e.url !== REGISTRY_SOURCE_EXTENSION),
      { url: REGISTRY_SOURCE_EXTENSION, extension: details },
    ],
  };
  if (item.resourceType === 'DocumentReference' && item.contentSha256 !== undefined) {
    // IHE MHD ITI-68: the attachment points at the registry's content endpoint.
    const content = Array.isArray(resource['content'])
      ? (resource['content'] as { attachment?: object }[])
      : [];
    presented['content'] = content.map((c, i) =>
      i === 0 ? { ...c, attachment: { ...(c.attachment ?? {}), url: `Binary/${item.contentSha256}` } } : c,
    );
  }
  return presented as unknown as Resource;
}

/** A FHIR R4 searchset Bundle (§3.1.1.2) with self and next links. */
export function searchsetBundle(
  items: readonly Resource[],
  total: number,
  self: string,
  next: string | null,
): Bundle {
  const link: BundleLink[] = [{ relation: 'self', url: self }];
  if (next !== null) link.push({ relation: 'next', url: next });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link,
    entry: items.map((resource): BundleEntry => ({
      fullUrl: `${resource.resourceType}/${resource.id ?? ''}`,
      resource,
      search: { mode: 'match' },
    })),
  };
}

/** The `next` page URL: same query with `_offset` moved on, or null on the last page. */
export function nextPageUrl(self: URL, offset: number, count: number, total: number): string | null {
  if (offset + count >= total) return null;
  const next = new URL(self.toString());
  next.searchParams.set('_offset', String(offset + count));
  return `${next.pathname}${next.search}`;
}

/**
 * A FHIR R4 history Bundle (§3.1.0.4 `_history`) of one resource, newest version first; each
 * version with its registry status, `meta.versionId`, `meta.lastUpdated`, source and labels.
 */
export function historyBundle(resourceType: string, id: string, versions: readonly HistoryVersion[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: versions.length,
    entry: versions.map((v, i): BundleEntry => {
      const meta = (v.resource['meta'] ?? {}) as Record<string, unknown>;
      return {
        fullUrl: `${resourceType}/${id}`,
        resource: {
          ...v.resource,
          status: v.status,
          meta: {
            ...meta,
            versionId: String(v.version),
            lastUpdated: v.recordedAt,
            source: `urn:tessera:institution:${v.institutionId}`,
            security: v.securityLabels,
          },
        } as unknown as Resource,
        request: {
          method: i === versions.length - 1 && v.version === 1 ? 'POST' : 'PUT',
          url: `${resourceType}/${id}`,
        },
        response: { status: '200', lastModified: v.recordedAt },
      };
    }),
  };
}
