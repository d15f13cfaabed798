import { decideItem } from '@tessera/consent-policy';
import type { Bundle } from '@medplum/fhirtypes';
import { filterBundle, itemFactsOf, rebase } from './item-facts';

const BASE = 'https://hie.example/fhir';

function item(id: string, institution: string | null, labels: string[]) {
  return {
    fullUrl: `DocumentReference/${id}`,
    resource: {
      resourceType: 'DocumentReference',
      id,
      meta: {
        ...(institution === null ? {} : { source: `urn:tessera:institution:${institution}` }),
        security: labels.map((code) => ({
          system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
          code,
        })),
      },
      content: [{ attachment: { url: `Binary/${'a'.repeat(64)}` } }],
    },
  };
}

describe('filterBundle (the re-check of every returned item)', () => {
  const bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: 10,
    link: [
      { relation: 'self', url: '/DocumentReference?patient=E1&_count=4' },
      { relation: 'next', url: '/DocumentReference?patient=E1&_count=4&_offset=4' },
    ],
    entry: [
      item('own', 'a', ['PSY']),
      item('other', 'b', []),
      item('psy', 'b', ['PSY']),
      item('nosource', null, []),
    ],
  } as unknown as Bundle;

  it('keeps what decideItem permits, drops the rest and what names no source, corrects total, rebases links', () => {
    const visibility = { ownInstitution: 'a', others: 'all' as const, deniedLabels: ['PSY'] };
    const result = filterBundle(bundle, (f) => decideItem(visibility, f).permit, BASE);
    expect(result.bundle.entry?.map((e) => e.resource?.id)).toEqual(['own', 'other']);
    expect(result).toMatchObject({ dropped: 2, kept: 2 });
    expect(result.items).toEqual([
      { type: 'DocumentReference', reference: 'DocumentReference/own', sourceInstitution: 'a' },
      { type: 'DocumentReference', reference: 'DocumentReference/other', sourceInstitution: 'b' },
    ]);
    expect(result.bundle.total).toBe(8);
    expect(result.bundle.link?.map((l) => l.url)).toEqual([
      `${BASE}/DocumentReference?patient=E1&_count=4`,
      `${BASE}/DocumentReference?patient=E1&_count=4&_offset=4`,
    ]);
    expect(result.bundle.entry?.[0]?.fullUrl).toBe(`${BASE}/DocumentReference/own`);
    expect(
      (result.bundle.entry?.[0]?.resource as { content: { attachment: { url: string } }[] }).content[0]
        ?.attachment.url,
    ).toBe(`${BASE}/Binary/${'a'.repeat(64)}`);
  });

  it('others none: only the own institution', () => {
    const result = filterBundle(
      bundle,
      (f) => decideItem({ ownInstitution: 'b', others: 'none', deniedLabels: [] }, f).permit,
      BASE,
    );
    expect(result.bundle.entry?.map((e) => e.resource?.id)).toEqual(['other', 'psy']);
  });
});

describe('itemFactsOf / rebase', () => {
  it('reads the institution from the registry-source extension when meta.source is absent', () => {
    expect(
      itemFactsOf({
        extension: [
          {
            url: 'https://tessera.example/fhir/StructureDefinition/registry-source',
            extension: [{ url: 'institution', valueString: 'x' }],
          },
        ],
      }),
    ).toEqual({ sourceInstitution: 'x', securityLabels: [] });
  });

  it('absolute URLs of the registry host become the exchange base', () => {
    expect(rebase('http://10.0.0.5:8084/Encounter?patient=E1', BASE)).toBe(`${BASE}/Encounter?patient=E1`);
    expect(rebase('/fhir/Consent/1', BASE)).toBe('https://hie.example/fhir/Consent/1');
  });
});
