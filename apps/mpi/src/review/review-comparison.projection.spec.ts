import { sideBySide } from './review-comparison.projection';

describe('sideBySide', () => {
  it('puts both records’ values as sent next to each field’s level and weight, in the matcher’s field order', () => {
    const rows = sideBySide(
      { family: 'Smith', given: 'Robert', middle: 'J', birthDate: '1980-02-01', sex: 'male', address: { line: '1 Main St', postalCode: '02139' } },
      { family: 'SMITH', given: 'Bob', birthDate: '1980-01-02', phone: '617-555-0101' },
      [
        { field: 'family', level: 'exact', weight: 7.5 },
        { field: 'given', level: 'nickname', weight: 3.25 },
        { field: 'birthDate', level: 'transposed', weight: 2 },
        { field: 'phone', level: null, weight: 0 },
      ],
    );
    expect(rows.map((r) => r.field)).toEqual(['family', 'given', 'birthDate', 'sex', 'address', 'phone', 'nationalId', 'insuranceId']);
    expect(rows[0]).toEqual({ field: 'family', record: 'Smith', candidate: 'SMITH', level: 'exact', weight: 7.5 });
    expect(rows[1]).toEqual({ field: 'given', record: 'Robert J', candidate: 'Bob', level: 'nickname', weight: 3.25 });
    expect(rows[2]).toMatchObject({ record: '1980-02-01', candidate: '1980-01-02', level: 'transposed' });
    expect(rows[4]).toEqual({ field: 'address', record: '1 Main St, 02139', candidate: null, level: null, weight: 0 });
    expect(rows[5]).toEqual({ field: 'phone', record: null, candidate: '617-555-0101', level: null, weight: 0 });
    expect(rows[6]).toEqual({ field: 'nationalId', record: null, candidate: null, level: null, weight: 0 });
  });
});
