import {
  fhirDateTimeToV2,
  normalizeUtcOffset,
  utcOffsetOf,
  v2DateTimeToFhir,
  v2TimeToFhir,
} from './v2-datetime.mapper';

describe('v2 DTM -> FHIR date/dateTime', () => {
  it('keeps date precision', () => {
    expect(v2DateTimeToFhir('2024', undefined)?.value).toBe('2024');
    expect(v2DateTimeToFhir('202405', undefined)?.value).toBe('2024-05');
    expect(v2DateTimeToFhir('20240501', undefined)).toEqual({
      value: '2024-05-01',
      hasTime: false,
      timeDropped: false,
    });
  });

  it('adds seconds and the offset FHIR requires with a time', () => {
    expect(v2DateTimeToFhir('202405010830+0800', undefined)?.value).toBe('2024-05-01T08:30:00+08:00');
    expect(v2DateTimeToFhir('20240501083015.1234-0500', undefined)?.value).toBe(
      '2024-05-01T08:30:15.1234-05:00',
    );
    expect(v2DateTimeToFhir('20240501083015+0000', undefined)?.value).toBe('2024-05-01T08:30:15Z');
  });

  it('uses the fallback offset, or drops the time when none is known', () => {
    expect(v2DateTimeToFhir('20240501083015', '+08:00')).toEqual({
      value: '2024-05-01T08:30:15+08:00',
      hasTime: true,
      timeDropped: false,
    });
    expect(v2DateTimeToFhir('20240501083015', undefined)).toEqual({
      value: '2024-05-01',
      hasTime: false,
      timeDropped: true,
    });
  });

  it('rejects malformed values', () => {
    expect(v2DateTimeToFhir('2024-05-01', undefined)).toBeUndefined();
    expect(v2DateTimeToFhir('20240230', undefined)).toBeUndefined();
    expect(v2DateTimeToFhir('20240501250000+0800', undefined)).toBeUndefined();
  });

  it('normalises offsets and TM', () => {
    expect(normalizeUtcOffset('+0800')).toBe('+08:00');
    expect(normalizeUtcOffset('-05:30')).toBe('-05:30');
    expect(normalizeUtcOffset('+2500')).toBeUndefined();
    expect(utcOffsetOf('20240501083000+0800')).toBe('+08:00');
    expect(utcOffsetOf('20240501083000')).toBeUndefined();
    expect(v2TimeToFhir('0830')).toBe('08:30:00');
    expect(v2TimeToFhir('2599')).toBeUndefined();
  });
});

describe('fhirDateTimeToV2', () => {
  it.each([
    ['1990', '1990'],
    ['1990-03', '199003'],
    ['1990-03-07', '19900307'],
    ['2024-05-01T08:30:00+08:00', '20240501083000+0800'],
    ['2024-05-01T08:30:00Z', '20240501083000+0000'],
    ['2024-05-01T08:30:00.123456-05:00', '20240501083000.1234-0500'],
    ['2024-05-01T08:30+01:00', '202405010830+0100'],
  ])('%s -> %s', (fhir, v2) => {
    expect(fhirDateTimeToV2(fhir, 'PV1-44')).toBe(v2);
  });

  it('reads back to the same FHIR value through v2DateTimeToFhir', () => {
    for (const value of ['2024-05-01T08:30:00+08:00', '2024-05-01T08:30:00Z', '1990-03-07']) {
      expect(v2DateTimeToFhir(fhirDateTimeToV2(value, 'X'), undefined)?.value).toBe(value);
    }
  });

  it('refuses text that is not a FHIR date, naming the field and not the value', () => {
    expect(() => fhirDateTimeToV2('07/03/1990', 'PID-7')).toThrow(
      new RangeError('PID-7: the value is not a FHIR date or dateTime.'),
    );
  });
});
