import {
  CONSENT_REVIEW_TAG_SYSTEM,
  fromFhirConsent,
  reviewTagOf,
  toFhirConsent,
  withReviewTag,
  type ConsentMeta,
} from './consent-fhir.mapper';
import type { ConsentDirective } from './model';

const meta: ConsentMeta = { id: 'c-1', version: 3, recordedAt: '2026-11-01T10:00:00.000Z' };
const ACTCODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const POU = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const scope = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
};

function consent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope,
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/E123' },
    policyRule: { coding: [{ system: ACTCODE, code: 'OPTOUT' }] },
    organization: [{ identifier: { system: 'urn:tessera:institution', value: 'st-aurelia' } }],
    ...overrides,
  };
}

describe('fromFhirConsent', () => {
  it('parses a plain opt-out anchored on an enterprise id', () => {
    const r = fromFhirConsent(consent(), meta);
    expect(r.issues).toBeUndefined();
    expect(r.directive).toEqual<ConsentDirective>({
      id: 'c-1',
      version: 3,
      status: 'active',
      anchor: { kind: 'enterprise', enterpriseId: 'E123' },
      base: 'deny',
      provisions: [],
      recordedBy: 'st-aurelia',
      recordedAt: '2026-11-01T10:00:00.000Z',
      source: 'fhir',
    });
  });

  it('parses an opt-in with an organization permit, a period and an identifier-anchored patient', () => {
    const r = fromFhirConsent(
      consent({
        patient: { identifier: { system: 'urn:oid:2.16.840.1.113883.3.9999.1.1', value: 'MRN-9' } },
        policyRule: { coding: [{ system: ACTCODE, code: 'OPTIN' }] },
        organization: undefined,
        performer: [{ reference: 'Organization/riverside' }],
        provision: {
          type: 'permit',
          period: { start: '2026-01-01', end: '2026-12-31T23:00:00+01:00' },
          provision: [
            {
              type: 'permit',
              actor: [
                { role: { text: 'recipient' }, reference: { reference: 'Organization/north-valley' } },
                { reference: { identifier: { system: 'urn:tessera:institution', value: 'riverside' } } },
              ],
              purpose: [{ system: POU, code: 'TREAT' }],
              securityLabel: [{ system: ACTCODE, code: 'PSY' }],
            },
          ],
        },
      }),
      meta,
    );
    expect(r.issues).toBeUndefined();
    expect(r.directive).toMatchObject({
      anchor: { kind: 'source', system: 'urn:oid:2.16.840.1.113883.3.9999.1.1', value: 'MRN-9' },
      base: 'permit',
      period: { start: '2026-01-01T00:00:00.000Z', end: '2026-12-31T22:00:00.000Z' },
      recordedBy: 'riverside',
      provisions: [
        {
          type: 'permit',
          actors: ['north-valley', 'riverside'],
          purposes: ['TREAT'],
          securityLabels: ['PSY'],
        },
      ],
    });
  });

  it('parses a label deny provision and takes the base from provision.type when policyRule is absent', () => {
    const r = fromFhirConsent(
      consent({
        policyRule: undefined,
        provision: {
          type: 'permit',
          provision: [{ type: 'deny', securityLabel: [{ system: ACTCODE, code: 'HIV' }] }],
        },
      }),
      meta,
    );
    expect(r.directive).toMatchObject({
      base: 'permit',
      provisions: [{ type: 'deny', actors: [], purposes: [], securityLabels: ['HIV'] }],
    });
  });

  it('uses meta.anchor and meta.recordedBy when the caller resolved them', () => {
    const r = fromFhirConsent(consent({ patient: undefined, organization: undefined }), {
      ...meta,
      anchor: { kind: 'enterprise', enterpriseId: 'E9' },
      recordedBy: 'north-valley',
    });
    expect(r.directive).toMatchObject({
      anchor: { kind: 'enterprise', enterpriseId: 'E9' },
      recordedBy: 'north-valley',
    });
  });

  it('never records a patient id as recordedBy', () => {
    const r = fromFhirConsent(
      consent({ organization: undefined, performer: [{ reference: 'Patient/E123' }] }),
      meta,
    );
    expect(r.directive?.recordedBy).toBe('patient');
  });

  it('rejects something that is not a Consent', () => {
    expect(fromFhirConsent({ resourceType: 'Patient' }, meta).issues).toEqual([
      { code: 'structure', expression: 'Consent', diagnostics: 'Expected a FHIR R4 Consent resource' },
    ]);
    expect(fromFhirConsent('nope', meta).issues?.[0]?.code).toBe('structure');
    expect(fromFhirConsent(null, meta).issues?.[0]?.code).toBe('structure');
  });

  it('reports every problem with a FHIRPath-like expression and no PHI', () => {
    const r = fromFhirConsent(
      consent({
        status: 'signed',
        scope: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }],
        },
        patient: { reference: 'Person/SECRET-ID-777' },
        policyRule: { coding: [{ system: ACTCODE, code: 'OPTOUT' }] },
        provision: {
          type: 'permit',
          period: { start: 'yesterday' },
          actor: [{ reference: { reference: 'Organization/x' } }],
          provision: [
            { type: 'deny', actor: [{ reference: { reference: 'Practitioner/p1' } }] },
            { purpose: [{ system: POU, code: 'MARKETING' }] },
            {
              type: 'permit',
              securityLabel: [{ system: 'http://example.org', code: 'PSY' }],
              data: [{ meaning: 'instance' }],
            },
          ],
        },
      }),
      meta,
    );
    expect(r.directive).toBeUndefined();
    const byExpr = Object.fromEntries((r.issues ?? []).map((i) => [i.expression, i.code]));
    expect(byExpr).toEqual({
      'Consent.status': 'code-invalid',
      'Consent.scope': 'not-supported',
      'Consent.patient': 'value',
      'Consent.provision.period.start': 'value',
      'Consent.provision.actor': 'not-supported',
      'Consent.provision.provision[0].actor[0].reference': 'value',
      'Consent.provision.provision[1].type': 'required',
      'Consent.provision.provision[1].purpose[0]': 'code-invalid',
      'Consent.provision.provision[2].securityLabel[0]': 'code-invalid',
      'Consent.provision.provision[2].data': 'not-supported',
      'Consent.provision.type': 'invariant',
    });
    expect(JSON.stringify(r.issues)).not.toContain('SECRET-ID-777');
  });

  it('requires a patient, a scope, a status and a base rule', () => {
    const r = fromFhirConsent({ resourceType: 'Consent' }, meta);
    expect(r.issues?.map((i) => `${i.code}@${i.expression}`).sort()).toEqual([
      'required@Consent.patient',
      'required@Consent.policyRule',
      'required@Consent.scope',
      'required@Consent.status',
    ]);
  });

  it('rejects unknown policy rules, reversed periods and deeper nesting', () => {
    const r = fromFhirConsent(
      consent({
        policyRule: { coding: [{ system: ACTCODE, code: 'OPTX' }] },
        provision: {
          period: { start: '2026-02-01', end: '2026-01-01' },
          provision: [{ type: 'deny', provision: [{ type: 'permit' }] }],
        },
      }),
      meta,
    );
    expect(r.issues?.map((i) => `${i.code}@${i.expression}`).sort()).toEqual([
      'code-invalid@Consent.policyRule',
      'invariant@Consent.provision.period',
      'not-supported@Consent.provision.provision[0].provision',
      'required@Consent.policyRule',
    ]);
  });
});

describe('toFhirConsent', () => {
  it('round-trips a directive through FHIR', () => {
    const d: ConsentDirective = {
      id: 'c-7',
      version: 2,
      status: 'active',
      anchor: { kind: 'source', system: 'urn:oid:1.2.3', value: 'A-1' },
      base: 'deny',
      period: { start: '2026-01-01T00:00:00.000Z' },
      provisions: [
        { type: 'permit', actors: ['riverside'], purposes: ['TREAT', 'COC'], securityLabels: [] },
        {
          type: 'deny',
          actors: [],
          purposes: [],
          securityLabels: ['PSY', 'R'],
          period: { end: '2027-01-01T00:00:00.000Z' },
        },
      ],
      recordedBy: 'st-aurelia',
      recordedAt: '2026-11-01T10:00:00.000Z',
      source: 'fhir',
    };
    const fhir = toFhirConsent(d);
    expect(fhir).toMatchObject({
      resourceType: 'Consent',
      id: 'c-7',
      meta: { versionId: '2' },
      status: 'active',
    });
    expect(fhir.provision?.provision?.[1]?.securityLabel).toEqual([
      { system: ACTCODE, code: 'PSY' },
      { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' },
    ]);
    const back = fromFhirConsent(JSON.parse(JSON.stringify(fhir)), {
      id: d.id,
      version: d.version,
      recordedAt: d.recordedAt,
    });
    expect(back.directive).toEqual(d);
  });

  it('round-trips an enterprise-anchored opt-in recorded by a practitioner, and tags hl7v2 directives', () => {
    const d: ConsentDirective = {
      id: 'c-8',
      version: 1,
      status: 'inactive',
      anchor: { kind: 'enterprise', enterpriseId: 'E5' },
      base: 'permit',
      provisions: [],
      recordedBy: 'Practitioner/dr-1',
      recordedAt: '2026-11-01T10:00:00.000Z',
      source: 'fhir',
    };
    expect(
      fromFhirConsent(toFhirConsent(d), { id: 'c-8', version: 1, recordedAt: d.recordedAt }).directive,
    ).toEqual(d);
    expect(toFhirConsent({ ...d, source: 'hl7v2' }).meta?.tag).toEqual([
      { system: 'urn:tessera:consent-source', code: 'hl7v2' },
    ]);
  });

  it('tags the review state of a directive whose permits needed review; a client cannot mark them', () => {
    const d: ConsentDirective = {
      id: 'c-9',
      version: 1,
      status: 'proposed',
      anchor: { kind: 'enterprise', enterpriseId: 'E5' },
      base: 'permit',
      provisions: [
        {
          type: 'permit',
          actors: ['st-aurelia'],
          purposes: [],
          securityLabels: ['ETH'],
          reviewRequired: true,
        },
      ],
      recordedBy: 'st-aurelia',
      recordedAt: '2026-11-01T10:00:00.000Z',
      source: 'fhir',
    };
    expect(toFhirConsent(d).meta?.tag).toEqual([
      expect.objectContaining({ system: CONSENT_REVIEW_TAG_SYSTEM, code: 'pending' }),
    ]);
    expect(reviewTagOf({ ...d, status: 'active' })?.code).toBe('approved');
    expect(reviewTagOf({ ...d, status: 'rejected' })?.code).toBe('rejected');
    expect(
      reviewTagOf({ ...d, provisions: [{ ...d.provisions[0], reviewRequired: undefined }] }),
    ).toBeUndefined();
    // A client's own review tag is dropped; other tags stay.
    const other = { system: 'urn:example', code: 'x' };
    expect(
      withReviewTag([other, { system: CONSENT_REVIEW_TAG_SYSTEM, code: 'approved' }], {
        ...d,
        provisions: [],
      }),
    ).toEqual([other]);
    const fhir = JSON.parse(JSON.stringify(toFhirConsent(d))) as Record<string, unknown>;
    const back = fromFhirConsent(fhir, { id: d.id, version: 1, recordedAt: d.recordedAt }).directive;
    expect(back?.provisions[0]?.reviewRequired).toBeUndefined();
  });
});
