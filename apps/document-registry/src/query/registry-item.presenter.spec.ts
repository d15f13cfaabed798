import type { Extension } from '@medplum/fhirtypes';
import { mergeTimeline } from './registry-query.service';
import {
  nextPageUrl,
  presentItem,
  REGISTRY_SOURCE_EXTENSION,
  searchsetBundle,
} from './registry-item.presenter';
import type { IndexedItem } from './registry-item.presenter';

function item(overrides: Partial<IndexedItem> = {}): IndexedItem {
  return {
    resourceType: 'DocumentReference',
    id: 'doc-1',
    status: 'superseded',
    institutionId: 'hosp-a',
    patientSystem: 'urn:oid:2.999.1',
    localPatientId: 'MRN-1',
    sourceMessageId: 'ledger-1',
    mapperVersion: '1.2.0',
    effectiveAt: '2024-05-03T08:00:00.000Z',
    securityLabels: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
    resource: {
      resourceType: 'DocumentReference',
      id: 'doc-1',
      status: 'current',
      meta: { versionId: '3' },
      extension: [{ url: 'urn:other', valueString: 'kept' }],
      content: [{ attachment: { contentType: 'text/plain' } }],
    },
    confidence: 'probable',
    encounterClass: 'IMP',
    encounterType: ['E'],
    contentSha256: 'ab'.repeat(32),
    seenVia: [
      { documentId: 'doc-1', institutionId: 'hosp-a', channel: 'hl7v2', sourceMessageId: 'ledger-1' },
    ],
    ...overrides,
  };
}

function details(resource: unknown): Extension[] {
  const ext = (resource as { extension: Extension[] }).extension;
  return ext.find((e) => e.url === REGISTRY_SOURCE_EXTENSION)?.extension ?? [];
}

describe('presentItem', () => {
  it('carries what consent needs: source institution, security labels, link confidence, encounter class/type', () => {
    const presented = presentItem(item()) as unknown as Record<string, unknown>;
    expect(presented['meta']).toEqual({
      versionId: '3',
      source: 'urn:tessera:institution:hosp-a',
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
    });
    const byUrl = (url: string) => details(presented).filter((e) => e.url === url);
    expect(byUrl('institution')[0]?.valueString).toBe('hosp-a');
    expect(byUrl('sourcePatient')[0]?.valueIdentifier).toEqual({ system: 'urn:oid:2.999.1', value: 'MRN-1' });
    expect(byUrl('linkConfidence')[0]?.valueCode).toBe('probable');
    expect(byUrl('encounterClass')[0]?.valueCode).toBe('IMP');
    expect(byUrl('encounterType')[0]?.valueString).toBe('E');
    expect(byUrl('seenVia')).toHaveLength(1);
    expect((presented['extension'] as Extension[])[0]).toEqual({ url: 'urn:other', valueString: 'kept' });
  });

  it("shows the registry's lifecycle status and points the attachment at Binary/<sha256>", () => {
    const presented = presentItem(item()) as unknown as {
      status: string;
      content: { attachment: { url: string } }[];
    };
    expect(presented.status).toBe('superseded');
    expect(presented.content[0]?.attachment.url).toBe(`Binary/${'ab'.repeat(32)}`);
  });

  it('omits link confidence and encounter class when there is none', () => {
    const presented = presentItem(item({ confidence: null, encounterClass: null, encounterType: [] }));
    expect(details(presented).map((e) => e.url)).not.toContain('linkConfidence');
    expect(details(presented).map((e) => e.url)).not.toContain('encounterClass');
  });
});

describe('searchsetBundle / nextPageUrl', () => {
  it('builds a searchset with self and next links', () => {
    const self = new URL('http://x/DocumentReference?patient=E1&_count=2');
    const next = nextPageUrl(self, 0, 2, 5);
    expect(next).toBe('/DocumentReference?patient=E1&_count=2&_offset=2');
    const bundle = searchsetBundle([presentItem(item())], 5, '/DocumentReference?patient=E1&_count=2', next);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 5 });
    expect(bundle.link?.map((l) => l.relation)).toEqual(['self', 'next']);
    expect(bundle.entry?.[0]).toMatchObject({
      fullUrl: 'DocumentReference/doc-1',
      search: { mode: 'match' },
    });
    expect(nextPageUrl(self, 4, 2, 5)).toBeNull();
  });
});

describe('mergeTimeline', () => {
  const pages = [
    {
      items: [item({ id: 'd1', effectiveAt: '2024-05-03T00:00:00Z' }), item({ id: 'd0', effectiveAt: null })],
      total: 2,
    },
    {
      items: [
        item({ resourceType: 'Encounter', id: 'e1', effectiveAt: '2024-05-01T00:00:00Z' }),
        item({ resourceType: 'Observation', id: 'o1', effectiveAt: '2024-05-04T00:00:00+08:00' }),
      ],
      total: 2,
    },
  ];

  // o1 is 2024-05-03T16:00Z: compared as instants, after d1 (2024-05-03T00:00Z).
  it('orders newest first across kinds by instant, undated last, and pages', () => {
    const merged = mergeTimeline(pages, { count: 10, offset: 0, sort: '-date' });
    expect(merged.items.map((i) => i.id)).toEqual(['o1', 'd1', 'e1', 'd0']);
    expect(merged.total).toBe(4);
    expect(mergeTimeline(pages, { count: 2, offset: 1, sort: '-date' }).items.map((i) => i.id)).toEqual([
      'd1',
      'e1',
    ]);
  });

  it('orders oldest first with _sort=date, undated still last', () => {
    expect(mergeTimeline(pages, { count: 10, offset: 0, sort: 'date' }).items.map((i) => i.id)).toEqual([
      'e1',
      'd1',
      'o1',
      'd0',
    ]);
  });
});
