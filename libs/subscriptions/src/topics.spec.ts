import {
  ARTIFACT_URL_EXTENSION,
  CAPABILITY_TOPIC_EXTENSION,
  NOTIFICATION_TOPICS,
  TOPIC_CAN_FILTER_BY_EXTENSION,
  capabilityTopicExtensions,
  topicByCode,
  topicByUrl,
  topicResource,
} from './topics';
import type { Basic } from '@medplum/fhirtypes';

describe('notification topics', () => {
  it('publishes the nine topics, each with a stable urn canonical made of its code', () => {
    expect(NOTIFICATION_TOPICS.map((t) => t.code)).toEqual([
      'admission',
      'discharge',
      'emergency-arrival',
      'emergency-departure',
      'transfer',
      'encounter-update',
      'new-document',
      'new-result',
      'referral-change',
    ]);
    for (const t of NOTIFICATION_TOPICS) expect(t.url).toBe(`urn:tessera:subscription-topic:${t.code}`);
  });

  it('gives each topic its focus resource type', () => {
    expect(topicByCode('admission')?.resourceType).toBe('Encounter');
    expect(topicByCode('new-document')?.resourceType).toBe('DocumentReference');
    expect(topicByCode('new-result')?.resourceType).toBe('DiagnosticReport');
    expect(topicByCode('referral-change')?.resourceType).toBe('ServiceRequest');
  });

  it('accepts patient, class and institution filters on encounter topics, and no class filter elsewhere', () => {
    expect(topicByCode('transfer')?.filters.map((f) => f.name)).toEqual(['patient', 'class', 'institution']);
    expect(topicByCode('new-result')?.filters.map((f) => f.name)).toEqual(['patient', 'institution']);
  });

  it('finds topics by code and by canonical URL, and nothing for unknown ones', () => {
    expect(topicByUrl('urn:tessera:subscription-topic:discharge')?.code).toBe('discharge');
    expect(topicByCode('discharge')?.url).toBe('urn:tessera:subscription-topic:discharge');
    expect(topicByCode('death')).toBeUndefined();
    expect(topicByUrl('http://hl7.org/SubscriptionTopic/admission')).toBeUndefined();
  });

  it('renders a topic as an R4 Basic coded SubscriptionTopic with its canonical, status and filters', () => {
    const basic = topicResource(topicByCode('admission')!) as Basic;
    expect(basic.resourceType).toBe('Basic');
    expect(basic.code.coding).toEqual([
      { system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' },
    ]);
    expect(basic.extension?.find((e) => e.url === ARTIFACT_URL_EXTENSION)?.valueUri).toBe(
      'urn:tessera:subscription-topic:admission',
    );
    expect(basic.modifierExtension).toEqual([
      { url: 'http://hl7.org/fhir/StructureDefinition/artifact-status', valueCode: 'active' },
    ]);
    const filterNames = basic.extension
      ?.filter((e) => e.url === TOPIC_CAN_FILTER_BY_EXTENSION)
      .map((e) => e.extension?.find((x) => x.url === 'filterParameter')?.valueString);
    expect(filterNames).toEqual(['patient', 'class', 'institution']);
  });

  it('advertises every topic canonical for the CapabilityStatement', () => {
    const extensions = capabilityTopicExtensions();
    expect(extensions).toHaveLength(NOTIFICATION_TOPICS.length);
    expect(extensions[0]).toEqual({
      url: CAPABILITY_TOPIC_EXTENSION,
      valueCanonical: 'urn:tessera:subscription-topic:admission',
    });
  });
});
