/**
 * Stand-ins for the MPI, the document registry and the consent service that behave as their
 * contracts say: service token required, the registry filters with X-Tessera-Visibility (same
 * predicate as its SQL, decideItem) and answers 409 when the visibility names another person, the
 * consent service raises the policy version key in Redis before it answers a change (cache
 * protocol), lets only the recording institution read or change a directive (403 `forbidden`
 * otherwise), searches return the caller's own directives plus an `outcome` entry when others'
 * restrict sharing, and its AuditEvent search shows an institution only records of accesses to
 * items it contributed. Test-only; used by the exchange's int-specs.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decideItem, parseVisibilityHeader } from '@tessera/consent-policy';
import type { ConsentDirective, PatientPolicy } from '@tessera/consent-policy';
import { raisePolicyVersion } from '@tessera/platform-consent-cache';
import type { PolicyCacheRedis } from '@tessera/platform-consent-cache';

export const ENTERPRISE_ID_SYSTEM = 'urn:tessera:enterprise-id';

export interface FakePerson {
  readonly enterpriseId: string;
  readonly family: string;
  readonly identifiers: readonly { readonly system: string; readonly value: string }[];
}

export interface FakeItem {
  readonly resourceType: 'DocumentReference' | 'Encounter' | 'DiagnosticReport' | 'Observation';
  readonly id: string;
  readonly enterpriseId: string;
  readonly institution: string;
  readonly labels: readonly string[];
  readonly date: string;
  readonly content?: string;
}

export interface UpstreamCall {
  readonly service: 'mpi' | 'registry' | 'consent';
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body?: unknown;
}

export class FakeWorld {
  readonly persons = new Map<string, FakePerson>();
  readonly items: FakeItem[] = [];
  readonly policies = new Map<string, PatientPolicy>();
  readonly calls: UpstreamCall[] = [];
  /** Registry ignores the visibility (to prove the exchange's re-check). */
  leakyRegistry = false;
  /** Fail this service with 503 / by closing (outage tests). */
  failing: Partial<Record<'mpi' | 'registry' | 'consent' | 'break-glass', boolean>> = {};
  /** Registry answers 409 this many times (identity changed during the request). */
  conflicts = 0;
  /**
   * The audit trail the consent stand-in searches for "who accessed my record" (the test feeds it
   * the records it read back from hie.audit), as the audit store would hold them.
   */
  auditTrail: () => readonly FakeAuditRecord[] = () => [];

  constructor(private readonly redis: PolicyCacheRedis | null) {}

  addPerson(person: FakePerson, holding: readonly string[]): void {
    this.persons.set(person.enterpriseId, person);
    this.policies.set(person.enterpriseId, {
      enterpriseId: person.enterpriseId,
      version: 1,
      directives: [],
      breakGlass: [],
      holdingInstitutions: [...holding],
    });
  }

  /** A change of the person's policy, committed and its version key raised before returning. */
  async change(
    enterpriseId: string,
    update: (p: PatientPolicy) => Omit<PatientPolicy, 'version' | 'enterpriseId'>,
  ): Promise<PatientPolicy> {
    const current = this.policies.get(enterpriseId);
    if (current === undefined) throw new Error('unknown person');
    const next: PatientPolicy = { ...update(current), enterpriseId, version: current.version + 1 };
    this.policies.set(enterpriseId, next);
    if (this.redis !== null) await raisePolicyVersion(this.redis, enterpriseId, next.version);
    return next;
  }

  async optOut(enterpriseId: string, recordedBy = 'test'): Promise<ConsentDirective> {
    const directive: ConsentDirective = {
      id: randomUUID(),
      version: 1,
      status: 'active',
      anchor: { kind: 'enterprise', enterpriseId },
      base: 'deny',
      provisions: [],
      recordedBy,
      recordedAt: new Date().toISOString(),
      source: 'fhir',
    };
    await this.change(enterpriseId, (p) => ({ ...p, directives: [...p.directives, directive] }));
    return directive;
  }

  callsTo(service: UpstreamCall['service'], pathPrefix = ''): UpstreamCall[] {
    return this.calls.filter((c) => c.service === service && c.path.startsWith(pathPrefix));
  }
}

/** The parts of a stored audit record the consent stand-in's AuditEvent search reads. */
export interface FakeAuditRecord {
  readonly type: string;
  readonly patients: readonly string[];
  readonly agent: { readonly clientId: string | null; readonly institutionId: string | null };
  readonly entities: readonly {
    readonly type: string;
    readonly reference?: string;
    readonly query?: string;
    readonly sourceInstitution?: string;
  }[];
}

/** Every active directive of the stand-in: (person, directive), the recorder in `recordedBy`. */
function directives(world: FakeWorld): { enterpriseId: string; directive: ConsentDirective }[] {
  return [...world.policies.values()].flatMap((p) =>
    p.directives.map((directive) => ({ enterpriseId: p.enterpriseId, directive })),
  );
}

function consentOf(enterpriseId: string, d: ConsentDirective): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    id: d.id,
    meta: { versionId: String(d.version) },
    status: d.status,
    patient: { reference: `Patient/${enterpriseId}` },
    organization: [{ identifier: { system: 'urn:tessera:institution', value: d.recordedBy } }],
    policyRule: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
          code: d.base === 'deny' ? 'OPTOUT' : 'OPTIN',
        },
      ],
    },
  };
}

function forbiddenDirective() {
  return outcome(
    'forbidden',
    'this consent directive was recorded by another institution; only it (or a privacy officer) may read or change it',
  );
}

export interface FakeServers {
  readonly mpiUrl: string;
  readonly registryUrl: string;
  readonly consentUrl: string;
  close(): Promise<void>;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
  res.end(JSON.stringify(body));
}

function outcome(code: string, diagnostics: string) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function present(item: FakeItem): Record<string, unknown> {
  return {
    resourceType: item.resourceType,
    id: item.id,
    status: item.resourceType === 'DocumentReference' ? 'current' : 'final',
    subject: { reference: `Patient/${item.enterpriseId}` },
    meta: {
      source: `urn:tessera:institution:${item.institution}`,
      security: item.labels.map((code) => ({
        system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
        code,
      })),
    },
    ...(item.content === undefined
      ? {}
      : { content: [{ attachment: { contentType: 'text/plain', url: `Binary/${sha256(item.content)}` } }] }),
  };
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    handler(req, res).catch((error: unknown) => send(res, 500, outcome('exception', String(error))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function startFakeUpstreams(world: FakeWorld): Promise<FakeServers> {
  const guard = (
    service: UpstreamCall['service'],
    req: IncomingMessage,
    res: ServerResponse,
    body?: unknown,
  ): boolean => {
    const url = new URL(req.url ?? '/', 'http://fake');
    world.calls.push({
      service,
      method: req.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      headers: req.headers,
      ...(body === undefined ? {} : { body }),
    });
    if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
      send(res, 401, outcome('login', 'service token required'));
      return false;
    }
    if (world.failing[service] === true) {
      send(res, 503, outcome('transient', 'down'));
      return false;
    }
    return true;
  };

  const resolveParam = (raw: string): string | null => {
    const bar = raw.lastIndexOf('|');
    if (bar < 0) {
      const id = raw.replace(/^Patient\//, '');
      return world.persons.has(id) ? id : null;
    }
    const system = raw.slice(0, bar);
    const value = raw.slice(bar + 1);
    for (const p of world.persons.values())
      if (p.identifiers.some((i) => i.system === system && i.value === value)) return p.enterpriseId;
    return null;
  };

  const mpi = await listen(async (req, res) => {
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    if (!guard('mpi', req, res, body)) return;
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/Patient/$ihe-pix') {
      const source = url.searchParams.get('sourceIdentifier') ?? '';
      const eid = source.includes('|') ? resolveParam(source) : null;
      const person = eid === null ? undefined : world.persons.get(eid);
      if (person === undefined)
        return send(res, 404, outcome('not-found', 'sourceIdentifier is not known to the MPI'));
      const ids = person.identifiers.filter((i) => `${i.system}|${i.value}` !== source);
      return send(res, 200, {
        resourceType: 'Parameters',
        parameter: [...ids, { system: ENTERPRISE_ID_SYSTEM, value: person.enterpriseId }].map(
          (valueIdentifier) => ({ name: 'targetIdentifier', valueIdentifier }),
        ),
      });
    }
    const golden = (p: FakePerson) => ({
      resourceType: 'Patient',
      id: p.enterpriseId,
      name: [{ family: p.family }],
      identifier: p.identifiers,
    });
    if (url.pathname === '/Patient' && req.method === 'GET') {
      const family = (url.searchParams.get('family') ?? '').toLowerCase();
      const identifier = url.searchParams.get('identifier');
      const all = [...world.persons.values()]
        .filter((p) => p.family.toLowerCase().startsWith(family))
        .filter(
          (p) =>
            identifier === null ||
            identifier
              .split(',')
              .some(
                (token) =>
                  token === `urn:tessera:enterprise-id|${p.enterpriseId}` ||
                  p.identifiers.some((i) => identifierMatches(i, token)),
              ),
        )
        .sort((a, b) => a.enterpriseId.localeCompare(b.enterpriseId));
      const count = Number(url.searchParams.get('_count') ?? '20');
      const offset = Number(url.searchParams.get('_offset') ?? '0');
      return send(res, 200, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: all.length,
        entry: all.slice(offset, offset + count).map((p) => ({
          fullUrl: `Patient/${p.enterpriseId}`,
          resource: golden(p),
          search: { mode: 'match' },
        })),
      });
    }
    if (url.pathname === '/Patient/$match' && req.method === 'POST') {
      const resource = (
        body as {
          parameter?: {
            resource?: { name?: { family?: string }[]; identifier?: { system?: string; value?: string }[] };
          }[];
        }
      ).parameter?.[0]?.resource;
      const family = String(resource?.name?.[0]?.family ?? '').toLowerCase();
      const wanted = resource?.identifier ?? [];
      const all = [...world.persons.values()].filter(
        (p) =>
          (family !== '' || wanted.length > 0) &&
          (family === '' || p.family.toLowerCase() === family) &&
          (wanted.length === 0 ||
            wanted.some((w) =>
              p.identifiers.some(
                (i) => i.value === w.value && (w.system === undefined || i.system === w.system),
              ),
            )),
      );
      return send(res, 200, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: all.length,
        entry: all.map((p) => ({
          fullUrl: `Patient/${p.enterpriseId}`,
          resource: golden(p),
          search: { mode: 'match', score: 0.99 },
        })),
      });
    }
    return send(res, 404, outcome('not-found', 'no route'));
  });

  const registry = await listen(async (req, res) => {
    if (!guard('registry', req, res)) return;
    const url = new URL(req.url ?? '/', 'http://fake');
    const segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    if (segments[0] === '_facts') {
      const [, type, id] = segments;
      const matches =
        type === 'Binary'
          ? world.items.filter((i) => i.content !== undefined && sha256(i.content) === id)
          : world.items.filter((i) => i.resourceType === type && i.id === id);
      if (matches.length === 0) return send(res, 404, outcome('not-found', `${type ?? ''} not found`));
      return send(res, 200, {
        items: matches.map((i) => ({
          resourceType: i.resourceType,
          id: i.id,
          enterpriseId: i.enterpriseId,
          sourceInstitution: i.institution,
          securityLabels: i.labels.map((code) => ({
            system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
            code,
          })),
        })),
      });
    }
    const visibility = parseVisibilityHeader(req.headers['x-tessera-visibility']);
    if (visibility.value === undefined) return send(res, 400, outcome('required', visibility.error));
    const v = visibility.value;
    const visible = (i: FakeItem) =>
      world.leakyRegistry ||
      decideItem(v, {
        sourceInstitution: i.institution,
        securityLabels: i.labels.map((code) => ({ system: 'x', code })),
      }).permit;
    if (
      (segments.length === 2 && segments[0] === 'Binary') ||
      (segments.length === 3 && segments[2] === '$content')
    ) {
      const item =
        segments[0] === 'Binary'
          ? world.items.find(
              (i) => i.content !== undefined && sha256(i.content) === segments[1] && visible(i),
            )
          : world.items.find(
              (i) => i.resourceType === 'DocumentReference' && i.id === segments[1] && visible(i),
            );
      if (item?.content === undefined) return send(res, 404, outcome('not-found', 'Binary not found'));
      const sha = sha256(item.content);
      res.writeHead(200, {
        'content-type': 'text/plain',
        'content-length': String(Buffer.byteLength(item.content)),
        etag: `"${sha}"`,
        'x-internal': 'secret',
      });
      res.end(item.content);
      return;
    }
    if (segments.length === 3 && segments[2] === '_history') {
      const versions = world.items.filter(
        (i) => i.resourceType === segments[0] && i.id === segments[1] && visible(i),
      );
      return send(res, 200, {
        resourceType: 'Bundle',
        type: 'history',
        total: versions.length,
        entry: versions.map((i) => ({ fullUrl: `${i.resourceType}/${i.id}`, resource: present(i) })),
      });
    }
    let eid: string | null;
    let types: string[];
    if (segments[0] === 'Patient' && segments[2] === '$timeline') {
      eid = world.persons.has(segments[1] ?? '') ? (segments[1] ?? null) : null;
      types = ['Encounter', 'DocumentReference', 'DiagnosticReport', 'Observation'];
    } else {
      eid = resolveParam(url.searchParams.get('patient') ?? '');
      types = [segments[0] ?? ''];
    }
    // The registry's rule (visibility.header.ts requireSamePerson): the decision must name exactly the person it resolves.
    if (world.conflicts > 0 || eid !== v.enterpriseId) {
      world.conflicts = Math.max(0, world.conflicts - 1);
      return send(
        res,
        409,
        outcome('conflict', 'the patient resolves to another enterprise id than the visibility names'),
      );
    }
    const all = world.items
      .filter((i) => i.enterpriseId === eid && types.includes(i.resourceType) && visible(i))
      .sort((a, b) => b.date.localeCompare(a.date));
    const count = Number(url.searchParams.get('_count') ?? '50');
    const offset = Number(url.searchParams.get('_offset') ?? '0');
    const link = [{ relation: 'self', url: `${url.pathname}${url.search}` }];
    if (offset + count < all.length) {
      const next = new URL(url.toString());
      next.searchParams.set('_offset', String(offset + count));
      link.push({ relation: 'next', url: `${next.pathname}${next.search}` });
    }
    return send(res, 200, {
      resourceType: 'Bundle',
      type: 'searchset',
      total: all.length,
      link,
      entry: all.slice(offset, offset + count).map((i) => ({
        fullUrl: `${i.resourceType}/${i.id}`,
        resource: present(i),
        search: { mode: 'match' },
      })),
    });
  });

  const consentAudit: { patient: string; institution: string }[] = [];
  const consent = await listen(async (req, res) => {
    const body = req.method === 'POST' || req.method === 'PUT' ? await readBody(req) : undefined;
    const url = new URL(req.url ?? '/', 'http://fake');
    const isBreakGlass = url.pathname === '/internal/break-glass';
    if (!guard('consent', req, res, body)) return;
    if (isBreakGlass && world.failing['break-glass'] === true)
      return send(res, 503, outcome('transient', 'down'));
    const segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    if (segments[0] === 'internal' && segments[1] === 'policy') {
      const policy = world.policies.get(segments[2] ?? '');
      return policy === undefined
        ? send(res, 404, outcome('not-found', 'unknown person'))
        : send(res, 200, policy);
    }
    if (isBreakGlass) {
      const b = body as { enterpriseId: string; institutionId: string; reason: string };
      const now = Date.now();
      await world.change(b.enterpriseId, (p) => ({
        ...p,
        breakGlass: [
          ...p.breakGlass,
          {
            id: randomUUID(),
            institutionId: b.institutionId,
            reason: b.reason,
            grantedAt: new Date(now).toISOString(),
            expiresAt: new Date(now + 3_600_000).toISOString(),
          },
        ],
      }));
      return send(res, 201, { id: randomUUID() });
    }
    const institution = req.headers['x-tessera-requesting-institution'];
    if (typeof institution !== 'string')
      return send(res, 403, outcome('forbidden', 'requesting institution missing'));
    if (segments[0] === 'Consent' && req.method === 'POST') {
      const ref = String((body as { patient?: { reference?: string } }).patient?.reference ?? '').replace(
        /^Patient\//,
        '',
      );
      const policy = world.policies.get(ref);
      if (policy === undefined) return send(res, 422, outcome('processing', 'unknown patient'));
      if (!policy.holdingInstitutions.includes(institution))
        return send(res, 403, outcome('forbidden', 'the institution holds no record of this patient'));
      const directive = await world.optOut(ref, institution);
      return send(
        res,
        201,
        {
          resourceType: 'Consent',
          id: directive.id,
          status: 'active',
          patient: { reference: `Patient/${ref}` },
        },
        { location: `/Consent/${directive.id}`, etag: 'W/"1"' },
      );
    }
    if (
      segments[0] === 'Consent' &&
      segments.length === 2 &&
      (req.method === 'GET' || req.method === 'PUT')
    ) {
      // A directive belongs to the institution that recorded it (owner-only read and change).
      const found = directives(world).find((d) => d.directive.id === segments[1]);
      if (found === undefined)
        return send(res, 404, outcome('not-found', 'no consent directive with this id'));
      if (found.directive.recordedBy !== institution) return send(res, 403, forbiddenDirective());
      if (req.method === 'GET') return send(res, 200, consentOf(found.enterpriseId, found.directive));
      const status = (body as { status?: unknown } | undefined)?.status;
      const changed: ConsentDirective = {
        ...found.directive,
        version: found.directive.version + 1,
        status: status === 'inactive' ? 'inactive' : found.directive.status,
      };
      await world.change(found.enterpriseId, (p) => ({
        ...p,
        directives: p.directives
          .map((d) => (d.id === changed.id ? changed : d))
          .filter((d) => d.status === 'active'),
      }));
      return send(res, 200, consentOf(found.enterpriseId, changed), { etag: `W/"${changed.version}"` });
    }
    if (segments[0] === 'Consent' && req.method === 'GET') {
      // The caller's own directives; other institutions' restricting ones only as an outcome entry.
      const eid = resolveParam(url.searchParams.get('patient') ?? '');
      const all = directives(world).filter((d) => d.enterpriseId === eid && d.directive.status === 'active');
      const own = all.filter((d) => d.directive.recordedBy === institution);
      const othersRestrict = all.some(
        (d) => d.directive.recordedBy !== institution && d.directive.base === 'deny',
      );
      return send(res, 200, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: own.length,
        entry: [
          ...own.map((d) => ({
            fullUrl: `Consent/${d.directive.id}`,
            resource: consentOf(d.enterpriseId, d.directive),
            search: { mode: 'match' },
          })),
          ...(othersRestrict
            ? [
                {
                  resource: {
                    resourceType: 'OperationOutcome',
                    issue: [
                      {
                        severity: 'information',
                        code: 'informational',
                        diagnostics:
                          'directives recorded by other institutions restrict sharing of this patient’s data; they are not shown',
                      },
                    ],
                  },
                  search: { mode: 'outcome' },
                },
              ]
            : []),
        ],
      });
    }
    if (segments[0] === 'AuditEvent') {
      // The audit store's rule: for an institution, only records of accesses to items it contributed.
      const patient = url.searchParams.get('patient') ?? '';
      consentAudit.push({ patient, institution });
      const mine = world
        .auditTrail()
        .filter(
          (r) => r.patients.includes(patient) && r.entities.some((e) => e.sourceInstitution === institution),
        );
      return send(res, 200, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: mine.length,
        entry: mine.map((r, i) => ({
          resource: {
            resourceType: 'AuditEvent',
            id: `a${i}`,
            agent: [
              { who: { identifier: { system: 'urn:tessera:client', value: r.agent.clientId ?? 'unknown' } } },
            ],
            entity: [
              { what: { reference: `Patient/${patient}` } },
              ...r.entities
                .filter((e) => e.sourceInstitution === institution && e.reference !== undefined)
                .map((e) => ({
                  what: { reference: e.reference },
                  detail: [{ type: 'source-institution', valueString: e.sourceInstitution }],
                })),
            ],
          },
          search: { mode: 'match' },
        })),
      });
    }
    return send(res, 404, outcome('not-found', 'no route'));
  });

  return {
    mpiUrl: mpi.url,
    registryUrl: registry.url,
    consentUrl: consent.url,
    close: async () => {
      for (const s of [mpi.server, registry.server, consent.server]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}

/** A PDQm identifier token (`system|value`, `|value` or `value`) against one identifier. */
function identifierMatches(identifier: { system: string; value: string }, token: string): boolean {
  const bar = token.indexOf('|');
  if (bar < 0) return identifier.value === token;
  const system = token.slice(0, bar);
  return identifier.value === token.slice(bar + 1) && (system === '' || identifier.system === system);
}
