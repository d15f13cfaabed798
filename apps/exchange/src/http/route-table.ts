import { NOTIFY_ROUTES } from '../notify/api/notify-routes';

/**
 * Every route of the exchange, once: the OpenAPI document, the CapabilityStatement and /docs are
 * all rendered from this table, and the controllers name their entries by `id`, so documentation
 * and code cannot drift apart silently (a unit test checks each controller route is listed).
 */

export type SearchParamType = 'token' | 'reference' | 'date' | 'string' | 'number';

export interface SearchParamSpec {
  readonly name: string;
  readonly type: SearchParamType;
  readonly documentation: string;
  readonly required?: boolean;
}

export type Interaction = 'search-type' | 'history-instance' | 'read' | 'create' | 'update' | 'operation';

export interface RouteSpec {
  readonly id: string;
  readonly method: 'GET' | 'POST' | 'PUT';
  /** OpenAPI path template, e.g. `/fhir/Patient/{id}/$timeline`. */
  readonly path: string;
  readonly summary: string;
  /** `public`, or the SMART scopes the token must cover (all of them). */
  readonly access: 'public' | readonly string[];
  /** X-Tessera-Purpose-Of-Use required (clinical data). */
  readonly purposeRequired: boolean;
  readonly resourceType?: string;
  readonly interaction?: Interaction;
  /** FHIR operation name without `$` (operations). */
  readonly operation?: string;
  readonly searchParams?: readonly SearchParamSpec[];
  readonly produces: 'fhir' | 'json' | 'html' | 'binary';
}

const PAGING: readonly SearchParamSpec[] = [
  { name: '_count', type: 'number', documentation: 'page size (1-200, default 50)' },
  { name: '_offset', type: 'number', documentation: 'items to skip' },
];
const PATIENT: SearchParamSpec = {
  name: 'patient',
  type: 'reference',
  required: true,
  documentation: 'enterprise id, or a source identifier system|value (resolved through the MPI)',
};
const COMMON: readonly SearchParamSpec[] = [
  PATIENT,
  {
    name: 'date',
    type: 'date',
    documentation: '[eq|gt|ge|lt|le|sa|eb]YYYY[-MM[-DD[Thh:mm[:ss]zz]]], repeatable',
  },
  { name: 'status', type: 'token', documentation: 'FHIR R4 status code(s), comma-separated' },
  { name: '_sort', type: 'string', documentation: 'date or -date (default -date)' },
  {
    name: '_includeProbable',
    type: 'token',
    documentation: 'true: include records joined by a possible match',
  },
  ...PAGING,
];

export const CLINICAL_SEARCH_PARAMS: Readonly<Record<string, readonly SearchParamSpec[]>> = {
  DocumentReference: [
    ...COMMON,
    { name: 'type', type: 'token', documentation: 'document type (LOINC), system|code' },
    { name: 'category', type: 'token', documentation: 'document category' },
    { name: 'facility', type: 'token', documentation: 'facility / institution' },
  ],
  Encounter: [
    ...COMMON,
    { name: 'class', type: 'token', documentation: 'encounter class (v3 ActCode)' },
    { name: 'type', type: 'token', documentation: 'encounter type' },
  ],
  DiagnosticReport: [
    ...COMMON,
    { name: 'code', type: 'token', documentation: 'report code' },
    { name: 'category', type: 'token', documentation: 'report category' },
  ],
  Observation: [
    ...COMMON,
    { name: 'code', type: 'token', documentation: 'observation code (LOINC)' },
    { name: 'category', type: 'token', documentation: 'observation category' },
  ],
};

export const CLINICAL_TYPES = ['DocumentReference', 'Encounter', 'DiagnosticReport', 'Observation'] as const;
export type ClinicalType = (typeof CLINICAL_TYPES)[number];

export const PDQ_PARAMS: readonly SearchParamSpec[] = [
  { name: 'family', type: 'string', documentation: 'family name (prefix, accent-insensitive)' },
  { name: 'given', type: 'string', documentation: 'given name (prefix)' },
  { name: 'birthdate', type: 'date', documentation: 'YYYY-MM-DD' },
  { name: 'gender', type: 'token', documentation: 'male | female | other | unknown' },
  { name: 'identifier', type: 'token', documentation: '[system|]value' },
  { name: '_id', type: 'token', documentation: 'enterprise id' },
  { name: '_count', type: 'number', documentation: 'page size (1-100, default 20)' },
  { name: '_offset', type: 'number', documentation: 'persons to skip' },
];

export const PIX_PARAMS: readonly SearchParamSpec[] = [
  {
    name: 'sourceIdentifier',
    type: 'token',
    required: true,
    documentation: 'system|value of a known identifier',
  },
  { name: 'targetSystem', type: 'string', documentation: 'identifier systems wanted (comma-separated)' },
];

export const CONSENT_SEARCH_PARAMS: readonly SearchParamSpec[] = [
  { name: 'patient', type: 'reference', required: true, documentation: 'enterprise id or system|value' },
  { name: 'status', type: 'token', documentation: 'Consent status (active, inactive, ...)' },
];

export const AUDIT_SEARCH_PARAMS: readonly SearchParamSpec[] = [
  { name: 'patient', type: 'reference', required: true, documentation: 'enterprise id' },
  { name: 'date', type: 'date', documentation: 'ge/le bounds on the recorded time, repeatable' },
  ...PAGING,
];

const read = (type: string): readonly string[] => [`system/${type}.read`];

export const ROUTES: readonly RouteSpec[] = [
  {
    id: 'metadata',
    method: 'GET',
    path: '/fhir/metadata',
    summary: 'CapabilityStatement (FHIR R4)',
    access: 'public',
    purposeRequired: false,
    produces: 'fhir',
  },
  {
    id: 'openapi',
    method: 'GET',
    path: '/openapi.json',
    summary: 'this API as OpenAPI 3.1',
    access: 'public',
    purposeRequired: false,
    produces: 'json',
  },
  {
    id: 'docs',
    method: 'GET',
    path: '/docs',
    summary: 'route list (HTML)',
    access: 'public',
    purposeRequired: false,
    produces: 'html',
  },
  {
    id: 'pix',
    method: 'GET',
    path: '/fhir/Patient/$ihe-pix',
    summary: 'PIXm: corresponding identifiers (ITI-83)',
    access: read('Patient'),
    purposeRequired: true,
    resourceType: 'Patient',
    interaction: 'operation',
    operation: 'ihe-pix',
    searchParams: PIX_PARAMS,
    produces: 'fhir',
  },
  {
    id: 'pdq',
    method: 'GET',
    path: '/fhir/Patient',
    summary: 'PDQm: find patients (ITI-78), only persons discoverable for the caller',
    access: read('Patient'),
    purposeRequired: true,
    resourceType: 'Patient',
    interaction: 'search-type',
    searchParams: PDQ_PARAMS,
    produces: 'fhir',
  },
  {
    id: 'match',
    method: 'POST',
    path: '/fhir/Patient/$match',
    summary: 'Patient $match (ITI-119), only persons discoverable for the caller',
    access: read('Patient'),
    purposeRequired: true,
    resourceType: 'Patient',
    interaction: 'operation',
    operation: 'match',
    produces: 'fhir',
  },
  {
    id: 'timeline',
    method: 'GET',
    path: '/fhir/Patient/{id}/$timeline',
    summary: "the person's encounters, documents and results, newest first",
    access: CLINICAL_TYPES.map((t) => `system/${t}.read`),
    purposeRequired: true,
    resourceType: 'Patient',
    interaction: 'operation',
    operation: 'timeline',
    searchParams: PAGING,
    produces: 'fhir',
  },
  ...CLINICAL_TYPES.flatMap((type): RouteSpec[] => [
    {
      id: `search-${type}`,
      method: 'GET',
      path: `/fhir/${type}`,
      summary: `search ${type} of one patient`,
      access: read(type),
      purposeRequired: true,
      resourceType: type,
      interaction: 'search-type',
      searchParams: CLINICAL_SEARCH_PARAMS[type] ?? [],
      produces: 'fhir',
    },
    {
      id: `history-${type}`,
      method: 'GET',
      path: `/fhir/${type}/{id}/_history`,
      summary: `every version of one ${type}`,
      access: read(type),
      purposeRequired: true,
      resourceType: type,
      interaction: 'history-instance',
      produces: 'fhir',
    },
  ]),
  {
    id: 'content',
    method: 'GET',
    path: '/fhir/DocumentReference/{id}/$content',
    summary: 'the bytes of a document (ITI-68)',
    access: read('DocumentReference'),
    purposeRequired: true,
    resourceType: 'DocumentReference',
    interaction: 'operation',
    operation: 'content',
    produces: 'binary',
  },
  {
    id: 'binary',
    method: 'GET',
    path: '/fhir/Binary/{sha256}',
    summary: 'document content by its SHA-256 (ITI-68)',
    access: read('Binary'),
    purposeRequired: true,
    resourceType: 'Binary',
    interaction: 'read',
    produces: 'binary',
  },
  {
    id: 'consent-create',
    method: 'POST',
    path: '/fhir/Consent',
    summary: "record a patient's consent directive",
    access: ['system/Consent.write'],
    purposeRequired: false,
    resourceType: 'Consent',
    interaction: 'create',
    produces: 'fhir',
  },
  {
    id: 'consent-update',
    method: 'PUT',
    path: '/fhir/Consent/{id}',
    summary: 'change a consent directive (If-Match)',
    access: ['system/Consent.write'],
    purposeRequired: false,
    resourceType: 'Consent',
    interaction: 'update',
    produces: 'fhir',
  },
  {
    id: 'consent-read',
    method: 'GET',
    path: '/fhir/Consent/{id}',
    summary: 'one consent directive the caller recorded',
    access: ['system/Consent.read'],
    purposeRequired: false,
    resourceType: 'Consent',
    interaction: 'read',
    produces: 'fhir',
  },
  {
    id: 'consent-search',
    method: 'GET',
    path: '/fhir/Consent',
    summary: "a patient's consent directives",
    access: ['system/Consent.read'],
    purposeRequired: false,
    resourceType: 'Consent',
    interaction: 'search-type',
    searchParams: CONSENT_SEARCH_PARAMS,
    produces: 'fhir',
  },
  {
    id: 'audit-search',
    method: 'GET',
    path: '/fhir/AuditEvent',
    summary: "who accessed the items the caller contributed to a patient's record",
    access: ['system/AuditEvent.read'],
    purposeRequired: false,
    resourceType: 'AuditEvent',
    interaction: 'search-type',
    searchParams: AUDIT_SEARCH_PARAMS,
    produces: 'fhir',
  },
  ...NOTIFY_ROUTES,
];

export function routeById(id: string): RouteSpec {
  const route = ROUTES.find((r) => r.id === id);
  if (route === undefined) throw new Error(`route ${id} is not in the route table`);
  return route;
}

/** Names a route accepts in its query string, with how each value is checked (hygiene check). */
export function acceptedParams(route: RouteSpec): ReadonlyMap<string, SearchParamType> {
  return new Map<string, SearchParamType>([
    ['_format', 'token'],
    ['_pretty', 'token'],
    ...(route.searchParams ?? []).map((p): [string, SearchParamType] => [p.name, p.type]),
  ]);
}
