import type { IncomingMessage } from 'node:http';
import { Controller, Get, Header, HttpCode, HttpStatus, Inject, Post, Query, Req, UseFilters } from '@nestjs/common';
import { RequireService } from '@tessera/platform-auth';
import type { Bundle, Parameters, Patient } from '@medplum/fhirtypes';
import { normalizeName, normalizePhone, normalizePostalCode, REGION_US } from '@tessera/matching';
import type { RegionConfig } from '@tessera/matching';
import { FHIR_JSON, OperationOutcomeException, readFhirJson } from '@tessera/platform-service';
import type { Issue } from '@tessera/platform-service';
import { OperationOutcomeFilter } from '@tessera/platform-service';
import { IdentityQueryService } from '../identity/identity-query.service';
import { MATCHING_PROFILE } from '../matching/rule-sets';
import type { MatchingProfile } from '../matching/rule-sets';
import type { PatientSearch } from '../identity/identity-query.service';
import { ENTERPRISE_ID_SYSTEM, goldenRecord } from './golden-record.projection';
import { PatientMatchHandler } from './patient-match.handler';

const GENDERS = new Set(['male', 'female', 'other', 'unknown']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_COUNT = 20;
const MAX_COUNT = 100;

type Query = Readonly<Record<string, unknown>>;

function single(query: Query, name: string, issues: Issue[]): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    issues.push({ code: 'invalid', diagnostics: `${name} must be given once, with a value`, expression: name });
    return undefined;
  }
  return value.trim();
}

/**
 * PDQm search parameters (IHE ITI-78 §3.78.4.1.2) → a validated search. family/given: FHIR string
 * search (case-, accent- and punctuation-insensitive prefix, normalized like the matcher does);
 * birthdate: `YYYY-MM-DD` or `eqYYYY-MM-DD`; gender: FHIR administrative gender; identifier:
 * `[system|]value` (the enterprise id system selects one enterprise id); telecom: `[phone|sms|email|]value`
 * (phones compared as national significant numbers, e-mail exactly but case-insensitively; without a
 * system, a value with `@` is an e-mail); address-postalcode: prefix of the normalized postal code
 * (case and spaces/hyphens ignored); _id: an enterprise id;
 * _count (1–100, default 20) and _offset page through the results. Pure.
 */
export function parsePatientSearch(query: Query, region: RegionConfig = REGION_US): { readonly search?: PatientSearch; readonly issues: Issue[] } {
  const issues: Issue[] = [];
  const family = single(query, 'family', issues);
  const given = single(query, 'given', issues);
  const birthdate = single(query, 'birthdate', issues);
  const gender = single(query, 'gender', issues);
  const identifier = single(query, 'identifier', issues);
  const telecom = single(query, 'telecom', issues);
  const postalCode = single(query, 'address-postalcode', issues);
  const id = single(query, '_id', issues);
  const count = single(query, '_count', issues);
  const offset = single(query, '_offset', issues);
  const search: { -readonly [K in keyof PatientSearch]: PatientSearch[K] } = { count: DEFAULT_COUNT, offset: 0 };
  if (family !== undefined) search.familyPrefix = normalizeName(family, 'family')?.latin ?? family.toLowerCase();
  if (given !== undefined) search.givenPrefix = normalizeName(given, 'given')?.latin ?? given.toLowerCase();
  if (birthdate !== undefined) {
    const date = /^(?:eq)?(\d{4}-\d{2}-\d{2})$/.exec(birthdate)?.[1];
    if (date === undefined) issues.push({ code: 'invalid', diagnostics: 'birthdate must be YYYY-MM-DD (prefix eq only)', expression: 'birthdate' });
    else search.birthDate = date;
  }
  if (gender !== undefined) {
    if (GENDERS.has(gender)) search.gender = gender;
    else issues.push({ code: 'invalid', diagnostics: 'gender must be male, female, other or unknown', expression: 'gender' });
  }
  if (identifier !== undefined) {
    const bar = identifier.indexOf('|');
    const system = bar < 0 ? undefined : identifier.slice(0, bar);
    const value = bar < 0 ? identifier : identifier.slice(bar + 1);
    if (value === '') issues.push({ code: 'invalid', diagnostics: 'identifier must be [system|]value', expression: 'identifier' });
    else if (system === ENTERPRISE_ID_SYSTEM) {
      if (UUID.test(value)) search.enterpriseId = value;
      else issues.push({ code: 'invalid', diagnostics: 'an enterprise id is a UUID', expression: 'identifier' });
    } else search.identifier = system === undefined || system === '' ? { value } : { system, value };
  }
  if (telecom !== undefined) {
    const bar = telecom.indexOf('|');
    const system = bar < 0 ? '' : telecom.slice(0, bar);
    const value = (bar < 0 ? telecom : telecom.slice(bar + 1)).trim();
    const email = system === 'email' || (system === '' && value.includes('@'));
    if (system !== '' && system !== 'phone' && system !== 'sms' && system !== 'email') {
      issues.push({ code: 'not-supported', diagnostics: 'telecom searches phone, sms or email contact points', expression: 'telecom' });
    } else if (email) {
      if (/^[^@\s]+@[^@\s]+$/.test(value)) search.telecom = { kind: 'email', value };
      else issues.push({ code: 'invalid', diagnostics: 'telecom email must be an e-mail address', expression: 'telecom' });
    } else {
      const phone = normalizePhone(value, region);
      if (phone !== undefined && phone.length >= 4) search.telecom = { kind: 'phone', value: phone };
      else issues.push({ code: 'invalid', diagnostics: 'telecom phone must hold at least 4 digits', expression: 'telecom' });
    }
  }
  if (postalCode !== undefined) {
    const normalized = normalizePostalCode(postalCode);
    if (normalized !== undefined) search.postalCodePrefix = normalized;
    else issues.push({ code: 'invalid', diagnostics: 'address-postalcode must have a value', expression: 'address-postalcode' });
  }
  if (id !== undefined) {
    if (UUID.test(id)) search.enterpriseId = id;
    else issues.push({ code: 'invalid', diagnostics: '_id is an enterprise id (UUID)', expression: '_id' });
  }
  if (count !== undefined) {
    const n = Number(count);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_COUNT) search.count = n;
    else issues.push({ code: 'invalid', diagnostics: `_count must be an integer from 1 to ${MAX_COUNT}`, expression: '_count' });
  }
  if (offset !== undefined) {
    const n = Number(offset);
    if (Number.isInteger(n) && n >= 0) search.offset = n;
    else issues.push({ code: 'invalid', diagnostics: '_offset must be a non-negative integer', expression: '_offset' });
  }
  const criteria = ['familyPrefix', 'givenPrefix', 'birthDate', 'gender', 'identifier', 'enterpriseId', 'telecom', 'postalCodePrefix'] as const;
  if (issues.length === 0 && !criteria.some((k) => search[k] !== undefined)) {
    issues.push({
      code: 'too-costly',
      diagnostics: 'give at least one of family, given, birthdate, gender, identifier, telecom, address-postalcode, _id',
    });
  }
  return issues.length === 0 ? { search, issues } : { issues };
}

/**
 * The input of `Patient/$match` (FHIR R4 OperationDefinition Patient-match): `resource` (a Patient,
 * required), `onlyCertainMatches` (boolean), `count` (1–100, default 10). Pure.
 */
export function parseMatchParameters(body: unknown): {
  readonly input?: { readonly patient: Patient; readonly onlyCertain: boolean; readonly count: number };
  readonly issues: Issue[];
} {
  const issues: Issue[] = [];
  const parameters = body as Partial<Parameters> | null;
  if (parameters === null || typeof parameters !== 'object' || parameters.resourceType !== 'Parameters') {
    return { issues: [{ code: 'invalid', diagnostics: 'the body must be a Parameters resource', expression: 'resourceType' }] };
  }
  const list = Array.isArray(parameters.parameter) ? parameters.parameter : [];
  const resource = list.find((p) => p.name === 'resource')?.resource;
  const onlyCertain = list.find((p) => p.name === 'onlyCertainMatches')?.valueBoolean ?? false;
  const count = list.find((p) => p.name === 'count')?.valueInteger ?? 10;
  if (resource?.resourceType !== 'Patient') {
    issues.push({ code: 'required', diagnostics: 'parameter `resource` must hold a Patient', expression: 'Parameters.parameter' });
  }
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    issues.push({ code: 'invalid', diagnostics: `count must be an integer from 1 to ${MAX_COUNT}`, expression: 'Parameters.parameter' });
  }
  if (issues.length > 0 || resource?.resourceType !== 'Patient') return { issues };
  return { input: { patient: resource, onlyCertain, count }, issues };
}

/** PDQm "Mobile Patient Demographics Query" [ITI-78]: golden records, one per enterprise id. */
@Controller('Patient')
@UseFilters(OperationOutcomeFilter)
@RequireService()
export class PdqController {
  constructor(
    private readonly identities: IdentityQueryService,
    private readonly matches: PatientMatchHandler,
    @Inject(MATCHING_PROFILE) private readonly profile: MatchingProfile,
  ) {}

  @Post('$match')
  @HttpCode(HttpStatus.OK)
  @Header('Content-Type', FHIR_JSON)
  async match(@Req() req: IncomingMessage): Promise<Bundle<Patient>> {
    const { input, issues } = parseMatchParameters(await readFhirJson(req));
    if (input === undefined) throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, issues);
    return this.matches.match(input.patient, { count: input.count, onlyCertain: input.onlyCertain });
  }

  @Get()
  @Header('Content-Type', FHIR_JSON)
  async search(@Query() query: Record<string, unknown>): Promise<Bundle<Patient>> {
    const { search, issues } = parsePatientSearch(query, this.profile.region);
    if (search === undefined) throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, issues);
    const { ids, total } = await this.identities.search(search);
    const entry = await Promise.all(
      ids.map(async (id) => {
        const members = (await this.identities.members(id)).filter((m) => !m.retired);
        return { fullUrl: `Patient/${id}`, resource: goldenRecord(id, members), search: { mode: 'match' as const } };
      }),
    );
    return { resourceType: 'Bundle', type: 'searchset', total, entry };
  }
}
