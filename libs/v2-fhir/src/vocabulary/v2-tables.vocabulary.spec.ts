import {
  identifierTypeDisplay,
  isNationalPersonIdentifierType,
  mapAbnormalFlag,
  mapAdministrativeSex,
  mapConfidentiality,
  mapDocumentAvailability,
  mapDocumentCompletionStatus,
  mapEdMimeType,
  mapNameRepresentation,
  mapNameType,
  mapObservationResultStatus,
  mapPatientClass,
  mapPatientClassToStatus,
  mapResultStatus,
  mapTelecomEquipment,
  mapTelecomUse,
  mapTriggerToEncounterStatus,
} from './v2-tables.vocabulary';

describe('v2 vocabulary maps (HL7 v2-to-FHIR IG ConceptMaps)', () => {
  it('table 0001 -> administrative-gender (AdministrativeSex)', () => {
    expect(['F', 'M', 'O', 'U', 'A', 'N', 'f'].map(mapAdministrativeSex)).toEqual([
      'female',
      'male',
      'other',
      'unknown',
      'other',
      'other',
      'female',
    ]);
    expect(mapAdministrativeSex('X')).toBeUndefined();
  });

  it('PV1-2 table 0004 -> v3 ActCode class (PatientClass[EncounterClass])', () => {
    expect(mapPatientClass('E')).toEqual({
      system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
      code: 'EMER',
      display: 'emergency',
    });
    expect(mapPatientClass('I')?.code).toBe('IMP');
    expect(mapPatientClass('O')?.code).toBe('AMB');
    expect(mapPatientClass('P')?.code).toBe('PRENC');
    expect(mapPatientClass('R')).toEqual({
      system: 'http://terminology.hl7.org/CodeSystem/v2-0004',
      code: 'R',
      display: 'Recurring patient',
    });
    expect(mapPatientClass('Z')).toBeUndefined();
  });

  it('PV1-2 -> Encounter.status when PV1-45 is empty (PatientClass[EncounterStatus])', () => {
    expect(mapPatientClassToStatus('P')).toBe('planned');
    expect(mapPatientClassToStatus('I')).toBe('in-progress');
    expect(mapPatientClassToStatus('U')).toBe('unknown');
  });

  it('ADT trigger -> Encounter.status, with the documented A04/A11/A13 choices', () => {
    expect(mapTriggerToEncounterStatus('A01')).toBe('in-progress');
    expect(mapTriggerToEncounterStatus('A03')).toBe('finished');
    expect(mapTriggerToEncounterStatus('A04')).toBe('in-progress');
    expect(mapTriggerToEncounterStatus('A05')).toBe('planned');
    expect(mapTriggerToEncounterStatus('A06')).toBe('in-progress');
    expect(mapTriggerToEncounterStatus('A07')).toBe('in-progress');
    expect(mapTriggerToEncounterStatus('A11')).toBe('cancelled');
    expect(mapTriggerToEncounterStatus('A12')).toBe('in-progress');
    expect(mapTriggerToEncounterStatus('A13')).toBe('in-progress');
    expect(mapTriggerToEncounterStatus('A08')).toBeUndefined();
  });

  it('XPN-7 table 0200 -> HumanName.use (NameType); unmapped types give no use', () => {
    expect(mapNameType('L')).toBe('official');
    expect(mapNameType('D')).toBe('usual');
    expect(mapNameType('M')).toBe('maiden');
    expect(mapNameType('N')).toBe('nickname');
    expect(mapNameType('BAD')).toBe('old');
    expect(mapNameType('B')).toBeUndefined();
    expect(mapNameRepresentation('I')).toBe('IDE');
    expect(mapNameRepresentation('P')).toBe('SYL');
    expect(mapNameRepresentation('A')).toBe('ABC');
  });

  it('OBX-8 table 0078 -> v3 ObservationInterpretation (InterpretationCodes)', () => {
    const v3 = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
    expect(mapAbnormalFlag('H')).toEqual({ system: v3, code: 'H', display: 'High' });
    expect(mapAbnormalFlag('LL')).toEqual({ system: v3, code: 'LL', display: 'Critical low' });
    expect(mapAbnormalFlag('<')).toEqual({ system: v3, code: '<', display: 'Off scale low' });
    expect(mapAbnormalFlag('QCF')).toEqual({
      system: 'http://terminology.hl7.org/CodeSystem/v2-0078',
      code: 'QCF',
    });
    expect(mapAbnormalFlag('ZZ')).toBeUndefined();
  });

  it('OBX-11 table 0085 -> Observation.status', () => {
    expect(['F', 'P', 'C', 'D', 'W', 'X', 'A', 'N', 'R', 'I'].map(mapObservationResultStatus)).toEqual([
      'final',
      'preliminary',
      'corrected',
      'entered-in-error',
      'entered-in-error',
      'cancelled',
      'amended',
      'cancelled',
      'preliminary',
      'registered',
    ]);
    expect(mapObservationResultStatus('Q')).toBeUndefined();
  });

  it('OBR-25 table 0123 -> DiagnosticReport.status; Y/Z are not mapped', () => {
    expect(['O', 'P', 'C', 'R', 'F', 'X', 'A'].map(mapResultStatus)).toEqual([
      'registered',
      'preliminary',
      'corrected',
      'partial',
      'final',
      'cancelled',
      'partial',
    ]);
    expect(mapResultStatus('Y')).toBeUndefined();
    expect(mapResultStatus('Z')).toBeUndefined();
  });

  it('TXA-17 / TXA-19 / TXA-18 -> docStatus / status / securityLabel', () => {
    expect(['AU', 'LA', 'DI', 'IP', 'CA'].map(mapDocumentCompletionStatus)).toEqual([
      'final',
      'final',
      'preliminary',
      'preliminary',
      'entered-in-error',
    ]);
    expect(['AV', 'OB', 'CA', 'UN'].map(mapDocumentAvailability)).toEqual([
      'current',
      'superseded',
      'entered-in-error',
      'current',
    ]);
    expect(mapConfidentiality('U')?.code).toBe('N');
    expect(mapConfidentiality('V')?.code).toBe('V');
    expect(mapConfidentiality('Q')).toBeUndefined();
  });

  it('identifier types (table 0203), including the NNxxx pattern', () => {
    expect(identifierTypeDisplay('MR')).toBe('Medical record number');
    expect(identifierTypeDisplay('NNCHN')).toBeUndefined();
    expect(isNationalPersonIdentifierType('NNCHN')).toBe(true);
    expect(isNationalPersonIdentifierType('NN')).toBe(false);
  });

  it('telecom use / equipment (tables 0201 / 0202)', () => {
    expect(mapTelecomUse('WPN')).toBe('work');
    expect(mapTelecomUse('PRN')).toBe('home');
    expect(mapTelecomEquipment('Internet')).toBe('email');
    expect(mapTelecomEquipment('FX')).toBe('fax');
  });

  it('ED type/subtype (tables 0191/0291) -> MIME type', () => {
    expect(mapEdMimeType('AP', 'PDF')).toBe('application/pdf');
    expect(mapEdMimeType('IM', 'JPEG')).toBe('image/jpeg');
    expect(mapEdMimeType('TEXT', 'plain')).toBe('text/plain');
    expect(mapEdMimeType('application/pdf', '')).toBe('application/pdf');
    expect(mapEdMimeType('XX', 'PDF')).toBeUndefined();
    expect(mapEdMimeType('AP', '')).toBeUndefined();
  });
});
