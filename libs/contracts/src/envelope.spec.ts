import { z } from 'zod';
import {
  attributesFromHeaders,
  attributesToHeaders,
  defineEvent,
  EventValidationError,
  validateEventData,
} from './envelope';
import { allTopicSpecs, ConsumerGroups, deadLetterTopic, retryTopic, Topics } from './topics';
import { PatientUpserted } from './events';

describe('CloudEvents envelope', () => {
  const attributes = {
    id: 'e-1',
    specversion: '1.0',
    type: 'org.tessera.test',
    source: 'urn:tessera:test',
    time: '2026-01-01T00:00:00.000Z',
    subject: 'hosp-a|123',
    schemaversion: 2,
    datacontenttype: 'application/json',
  } as const;

  it('round-trips attributes through binary-mode headers', () => {
    const headers = attributesToHeaders(attributes);
    expect(headers['ce_id']).toBe('e-1');
    expect(headers['ce_schemaversion']).toBe('2');
    expect(attributesFromHeaders(headers)).toEqual(attributes);
  });

  it('rejects headers without required attributes, naming the header', () => {
    expect(() => attributesFromHeaders({ ce_id: 'x' })).toThrow(/ce_type/);
  });

  it('validates data and reports paths without values', () => {
    const def = defineEvent('t', 1, 'topic', z.object({ name: z.string(), age: z.number() }));
    expect(validateEventData(def, { name: 'a', age: 3 })).toEqual({ name: 'a', age: 3 });
    try {
      validateEventData(def, { name: 'SECRET-NAME', age: 'x' });
      throw new Error('expected failure');
    } catch (error) {
      expect(error).toBeInstanceOf(EventValidationError);
      expect((error as Error).message).toContain('age');
      expect((error as Error).message).not.toContain('SECRET-NAME');
    }
  });

  it('checks the FHIR resourceType of canonical events', () => {
    const base = {
      institutionId: 'hosp-a',
      patientSystem: 'urn:oid:1.2.3',
      localPatientId: '123',
      sourceMessageId: 'm1',
      mapperVersion: '1.0.0',
      channel: 'hl7v2',
    };
    expect(() =>
      validateEventData(PatientUpserted, { ...base, patient: { resourceType: 'Encounter' } }),
    ).toThrow(/patient\.resourceType/);
    expect(
      validateEventData(PatientUpserted, { ...base, patient: { resourceType: 'Patient', gender: 'male' } })
        .patient.gender,
    ).toBe('male');
  });
});

describe('topics', () => {
  it('derives a retry and a DLQ topic for every consumer group subscription', () => {
    const names = allTopicSpecs(3).map((t) => t.name);
    for (const group of Object.values(ConsumerGroups)) {
      for (const topic of group.topics) {
        expect(names).toContain(retryTopic(topic, group.id));
        expect(names).toContain(deadLetterTopic(topic, group.id));
      }
    }
    expect(names).toContain(Topics.audit);
    expect(new Set(names).size).toBe(names.length);
  });
});
