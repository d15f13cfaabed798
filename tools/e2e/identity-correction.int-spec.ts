import { readFileSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { parse, stringify } from 'yaml';
import { ConsumerGroups } from '@tessera/contracts';
import { kafkaConfig, loadConfig, postgresConfig } from '@tessera/platform-config';
import {
  connectTestClient,
  dropTestDatabase,
  freePort,
  startServiceProcess,
  uniqueTestId,
  workspacePath,
} from '@tessera/testing';
import {
  ackOf,
  ENTERPRISE_ID_SYSTEM,
  mllpFrom,
  RCC_ADDRESS,
  Region,
  STA_ADDRESS,
} from './trust-model.harness';
import type { Answer, BundleEntry, RegionOptions } from './trust-model.harness';
import { pdqQueryOf, RCC_SYSTEM, STA_SYSTEM, trustPerson } from './trust-model.builder';
import {
  adtA04,
  FEEDS,
  mdmT02,
  NVMC_SYSTEM,
  RCC_LAB_OID,
  RCC_LAB_SYSTEM,
  STA2_SYSTEM,
} from './identity-correction.builder';
import type { BuiltMessage } from './identity-correction.builder';

/*
 * The invariant of identity corrections (docs/identity-corrections.md): for a set of messages,
 * "wrong configuration → ingest → fix the configuration → replay the affected messages" leaves the
 * region as "right configuration → ingest" does, compared on what institutions see through the
 * exchange (PIXm, PDQm, DocumentReference and Encounter searches under consent). Two regions of the
 * five compiled services, one after the other on the shared broker (each starts its consumer groups
 * at the end of the topics): the right one first, its answers kept; then the wrong one, fixed through
 * the admin API and replayed through the ledger API, polled until its answers equal the kept ones.
 *
 * Cases (one synthetic person each):
 *  a. St Aurelia's new namespace STA2 is not registered: mapped under the provisional
 *     urn:tessera:aa:st-aurelia:STA2 with UNKNOWN_ASSIGNING_AUTHORITY; PD1-12 opt-out recorded on
 *     the provisional record. Fix: register STA2; bulk replay of St Aurelia (dry run, then apply).
 *  b. North Valley's facility NVMC is registered to Donghai: mapped for the wrong institution under
 *     urn:tessera:aa:donghai-people:NVMC. Fix: move NVMC to North Valley (If-Match); bulk replay of
 *     facility NVMC: re-attributed, Donghai's items withdrawn.
 *  c. Riverside's lab numbers (bare OID in CX-4.2) are registered to St Aurelia: both messages
 *     answered AE (103). Fix: move the authority to Riverside; one message replayed alone, the
 *     other by a bulk replay of Riverside's rejected messages.
 *  d. A mapper fix that changes a resource's identity: the wrong region is put in the state an older
 *     mapper version left (its document indexed under another id, the ledger row saying so); the
 *     replay through the current mapper indexes the current id and withdraws the old one.
 */

const run = uniqueTestId('ic');
const tools = { startServiceProcess, freePort, dropTestDatabase, workspacePath };

interface AuthoritySeed {
  namespace: string;
  system: string;
  default?: boolean;
}
interface InstitutionSeed {
  id: string;
  sendingFacilities: string[];
  assigningAuthorities: AuthoritySeed[];
}
type Configure = (institutions: InstitutionSeed[]) => void;

function institution(list: InstitutionSeed[], id: string): InstitutionSeed {
  const found = list.find((i) => i.id === id);
  if (found === undefined) throw new Error(`demo seed without ${id}`);
  return found;
}

/** The trust-model region, with its institutions seed changed by `configure`. */
class ConfiguredRegion extends Region {
  constructor(
    options: RegionOptions,
    private readonly configure: Configure,
  ) {
    super(options);
  }

  /**
   * Commits the end of every topic as the starting offset of each of the run's consumer groups
   * before the services start: a group started with KAFKA_GROUP_START=latest resolves "latest" on
   * its first fetch, which a busy shared broker (leadership changes while other runs create and
   * delete topics) can delay past the first messages of the run; a committed offset cannot drift.
   */
  override async start(): Promise<void> {
    const admin = new Kafka({
      clientId: `ic-${this.options.run}`,
      brokers: [...loadConfig(kafkaConfig).KAFKA_BROKERS],
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      for (const group of Object.values(ConsumerGroups)) {
        for (const topic of group.topics) {
          const partitions = (await admin.fetchTopicOffsets(topic)).map((o) => ({
            partition: o.partition,
            offset: o.high,
          }));
          await admin.setOffsets({ groupId: `${group.id}.${this.options.suffix}`, topic, partitions });
        }
      }
    } finally {
      await admin.disconnect();
    }
    await super.start();
  }

  override writeSeed(dir: string): string {
    const file = super.writeSeed(dir);
    const seed = parse(readFileSync(file, 'utf8')) as { institutions: InstitutionSeed[] };
    this.configure(seed.institutions);
    writeFileSync(file, stringify(seed));
    return file;
  }
}

const rightConfiguration: Configure = (list) => {
  institution(list, 'st-aurelia').assigningAuthorities.push({ namespace: 'STA2', system: STA2_SYSTEM });
  institution(list, 'riverside').assigningAuthorities.push({ namespace: 'RCCLAB', system: RCC_LAB_SYSTEM });
};

const wrongConfiguration: Configure = (list) => {
  // STA2 missing; Riverside's lab authority registered to St Aurelia; NVMC registered to Donghai.
  institution(list, 'st-aurelia').assigningAuthorities.push({ namespace: 'STALAB', system: RCC_LAB_SYSTEM });
  institution(list, 'north-valley').sendingFacilities = ['NVMC-OLD'];
  institution(list, 'donghai-people').sendingFacilities.push('NVMC');
};

const people = {
  a: trustPerson(run, 'a'),
  b: trustPerson(run, 'b'),
  c: trustPerson(run, 'c'),
  d: trustPerson(run, 'd'),
};
const nvMrn = `NV-${people.b.tag}`;
const labMrn = `LAB-${people.c.tag}`;
const ids = {
  aSta: `${STA2_SYSTEM}|${people.a.staMrn}`,
  aRcc: `${RCC_SYSTEM}|${people.a.rccMrn}`,
  aProvisional: `urn:tessera:aa:st-aurelia:STA2|${people.a.staMrn}`,
  bNv: `${NVMC_SYSTEM}|${nvMrn}`,
  bRcc: `${RCC_SYSTEM}|${people.b.rccMrn}`,
  bProvisional: `urn:tessera:aa:donghai-people:NVMC|${nvMrn}`,
  cSta: `${STA_SYSTEM}|${people.c.staMrn}`,
  cLab: `${RCC_LAB_SYSTEM}|${labMrn}`,
  dSta: `${STA_SYSTEM}|${people.d.staMrn}`,
};
const control = (key: string): string => `${run}-${key}`;

const messages = {
  rcc: [
    adtA04({
      feed: FEEDS.rcc,
      person: people.a,
      mrn: people.a.rccMrn,
      authority: 'RCC',
      controlId: control('a-rcc'),
    }),
    adtA04({
      feed: FEEDS.rcc,
      person: people.b,
      mrn: people.b.rccMrn,
      authority: 'RCC',
      controlId: control('b-rcc'),
    }),
  ],
  /** Case c: answered AE under the wrong configuration. */
  rccLab: [
    adtA04({
      feed: FEEDS.rcc,
      person: people.c,
      mrn: labMrn,
      authority: `&${RCC_LAB_OID}&ISO`,
      controlId: control('c-lab-adt'),
    }),
    mdmT02({
      feed: FEEDS.rcc,
      person: people.c,
      mrn: labMrn,
      authority: `&${RCC_LAB_OID}&ISO`,
      controlId: control('c-lab-mdm'),
      documentNumber: `DOC-${people.c.tag}-LAB`,
    }),
  ],
  sta: [
    adtA04({
      feed: FEEDS.sta,
      person: people.c,
      mrn: people.c.staMrn,
      authority: 'STA',
      controlId: control('c-sta'),
    }),
    // Case a: the opt-out (PD1-12 Y) and a document under the unregistered namespace.
    adtA04({
      feed: FEEDS.sta,
      person: people.a,
      mrn: people.a.staMrn,
      authority: 'STA2',
      controlId: control('a-sta-adt'),
      protection: 'Y',
    }),
    mdmT02({
      feed: FEEDS.sta,
      person: people.a,
      mrn: people.a.staMrn,
      authority: 'STA2',
      controlId: control('a-sta-mdm'),
      documentNumber: `DOC-${people.a.tag}-STA`,
    }),
  ],
  /** Case d: mapped alike in both regions; the wrong one is then set back to an older mapper's output. */
  staMapper: [
    adtA04({
      feed: FEEDS.sta,
      person: people.d,
      mrn: people.d.staMrn,
      authority: 'STA',
      controlId: control('d-sta-adt'),
    }),
    mdmT02({
      feed: FEEDS.sta,
      person: people.d,
      mrn: people.d.staMrn,
      authority: 'STA',
      controlId: control('d-sta-mdm'),
      documentNumber: `DOC-${people.d.tag}-STA`,
    }),
  ],
  /** Case b, on the shared port (MSH-4 believed: loopback). */
  nvmc: [
    adtA04({
      feed: FEEDS.nvmc,
      person: people.b,
      mrn: nvMrn,
      authority: 'NVMC',
      controlId: control('b-nv-adt'),
    }),
    mdmT02({
      feed: FEEDS.nvmc,
      person: people.b,
      mrn: nvMrn,
      authority: 'NVMC',
      controlId: control('b-nv-mdm'),
      documentNumber: `DOC-${people.b.tag}-NV`,
    }),
  ],
};

/** Sends every feed; returns the ACK code by control id. */
async function sendAll(region: Region): Promise<Map<string, string>> {
  const acks = new Map<string, string>();
  const send = async (port: number, list: readonly BuiltMessage[], localAddress: string) => {
    const outcome = await mllpFrom(
      port,
      list.map((m) => m.bytes),
      { localAddress },
    );
    list.forEach((m, i) =>
      acks.set(m.controlId, ackOf(outcome.acks[i]).code || `none:${outcome.error ?? ''}`),
    );
  };
  await send(region.rccPort, messages.rcc, RCC_ADDRESS);
  await send(region.rccPort, messages.rccLab, RCC_ADDRESS);
  await send(region.staPort, messages.sta, STA_ADDRESS);
  await send(region.staPort, messages.staMapper, STA_ADDRESS);
  await send(region.sharedMllpPort, messages.nvmc, '127.0.0.1');
  return acks;
}

const CLIENTS = ['sta-ehr', 'riverside-ehr', 'north-valley-ehr', 'donghai-ehr'] as const;

function normalizedIdentifier(system: unknown, value: unknown): string {
  return system === ENTERPRISE_ID_SYSTEM
    ? `${ENTERPRISE_ID_SYSTEM}|<eid>`
    : `${String(system)}|${String(value)}`;
}

function issues(answer: Answer): string[] {
  return ((answer.json['issue'] as Array<{ code?: string }> | undefined) ?? []).map((i) => i.code ?? '');
}

function pixView(answer: Answer): unknown {
  if (answer.status !== 200) return { status: answer.status, issues: issues(answer) };
  const parameters = (answer.json['parameter'] as Array<Record<string, unknown>> | undefined) ?? [];
  return {
    status: 200,
    identifiers: parameters
      .map((p) => {
        const identifier = p['valueIdentifier'] as { system?: string; value?: string } | undefined;
        if (identifier !== undefined) return normalizedIdentifier(identifier.system, identifier.value);
        return `${String(p['name'])}:${p['valueReference'] === undefined ? '?' : 'Patient/<eid>'}`;
      })
      .sort(),
  };
}

function entriesOf(answer: Answer): BundleEntry[] {
  return (answer.json['entry'] as BundleEntry[] | undefined) ?? [];
}

function pdqView(answer: Answer): unknown {
  if (answer.status !== 200) return { status: answer.status, issues: issues(answer) };
  return {
    status: 200,
    total: answer.json['total'],
    patients: entriesOf(answer)
      .filter((e) => e.resource?.resourceType === 'Patient')
      .map((e) =>
        ((e.resource?.['identifier'] as Array<{ system?: string; value?: string }> | undefined) ?? [])
          .map((i) => normalizedIdentifier(i.system, i.value))
          .sort(),
      ),
  };
}

function itemsView(answer: Answer): unknown {
  if (answer.status !== 200) return { status: answer.status, issues: issues(answer) };
  return {
    status: 200,
    total: answer.json['total'],
    items: entriesOf(answer)
      .filter((e) => e.search?.mode !== 'outcome')
      .map(
        (e) =>
          `${e.resource?.resourceType ?? '?'}/${e.resource?.id ?? '?'} ${e.resource?.meta?.source ?? ''} ${typeof e.resource?.['status'] === 'string' ? e.resource['status'] : ''}`,
      )
      .sort(),
  };
}

/**
 * What institutions see of the three people through the exchange: PIXm of every identifier (the
 * real ones and the provisional ones), PDQm by demographics, DocumentReference and Encounter
 * searches by every real identifier, for each institution. Enterprise ids are random per region:
 * they are compared by position only.
 */
async function userView(region: Region): Promise<Record<string, unknown>> {
  const view: Record<string, unknown> = {};
  const real = [ids.aSta, ids.aRcc, ids.bNv, ids.bRcc, ids.cSta, ids.cLab, ids.dSta];
  for (const client of CLIENTS) {
    for (const id of [...real, ids.aProvisional, ids.bProvisional])
      view[`pix ${client} ${id}`] = pixView(await region.pix(client, id));
    for (const [key, person] of Object.entries(people))
      view[`pdq ${client} ${key}`] = pdqView(
        await region.call(client, pdqQueryOf(person), { purpose: 'TREAT' }),
      );
    for (const id of real) {
      view[`documents ${client} ${id}`] = itemsView(await region.documents(client, id));
      view[`encounters ${client} ${id}`] = itemsView(
        await region.call(client, `/fhir/Encounter?patient=${encodeURIComponent(id)}&_count=50`, {
          purpose: 'TREAT',
        }),
      );
    }
  }
  return view;
}

function differences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => !isDeepStrictEqual(a[k], b[k]))
    .map((k) => `${k}: expected ${JSON.stringify(b[k])}, seen ${JSON.stringify(a[k])}`);
}

/** Polls until the view stops changing (two equal views in a row) and `ready` holds; returns it. */
async function settledView(
  region: Region,
  ready: (view: Record<string, unknown>) => boolean,
  timeoutMs = 180_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let previous: Record<string, unknown> | undefined;
  for (;;) {
    const view = await userView(region);
    if (previous !== undefined && isDeepStrictEqual(view, previous) && ready(view)) return view;
    if (Date.now() > deadline)
      throw new Error(
        `the region did not settle within ${timeoutMs} ms; last view ${JSON.stringify(view).slice(0, 4000)}`,
      );
    previous = view;
    await new Promise((r) => setTimeout(r, 1_500));
  }
}

/** Waits until the ledger rows of `controlIds` reached one of `states`. */
async function ledgerSettled(
  region: Region,
  controlIds: readonly string[],
  states: readonly string[],
): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const controlId of controlIds) rows.push(await region.ledgerState(controlId, states, 90_000));
  return rows;
}

/** Both source records are linked to one enterprise id (asked as a regional operator). */
async function linked(region: Region, first: string, second: string, timeoutMs = 90_000): Promise<void> {
  const [s1, v1] = first.split('|') as [string, string];
  const [s2, v2] = second.split('|') as [string, string];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e1 = await region.enterpriseIdOf(s1, v1);
    const e2 = await region.enterpriseIdOf(s2, v2);
    if (e1 !== null && e1 === e2) return;
    if (Date.now() > deadline) {
      const known = (eid: string | null): string => (eid === null ? 'unknown to the MPI' : 'linked');
      throw new Error(
        `${first} (${known(e1)}) and ${second} (${known(e2)}) not linked to one enterprise id within ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 750));
  }
}

const allControlIds = Object.values(messages).flatMap((list) => list.map((m) => m.controlId));

/**
 * Puts the region in the state an older mapper version left for one MDM message: its document
 * indexed under another id (the registry row renamed) and the ledger row recording that mapping
 * (mapper 0.9.0, the old id in `mapped_identity`). Returns the old id.
 */
async function asMappedByAnOlderMapper(region: Region, controlId: string): Promise<string> {
  const [row] = await region.ledger(controlId);
  const ledgerId = String(row?.['id']);
  const settings = loadConfig(postgresConfig);
  const registry = await connectTestClient(settings, region.dbName('document-registry'));
  const gatewayDb = await connectTestClient(settings, region.dbName('interop-gateway'));
  try {
    const found = await registry.query<{ id: string }>(
      'SELECT id FROM documents WHERE source_message_id = $1',
      [ledgerId],
    );
    const current = found.rows[0]?.id;
    if (current === undefined) throw new Error(`no document indexed from ${controlId}`);
    const old = `v0-${current.slice(0, 40)}`;
    await registry.query(
      `UPDATE documents SET id = $2, resource = jsonb_set(resource, '{id}', to_jsonb($2::text)) WHERE id = $1`,
      [current, old],
    );
    const updated = await gatewayDb.query(
      `UPDATE ledger_messages SET mapper_version = '0.9.0',
         mapped_identity = jsonb_set(jsonb_set(mapped_identity, '{mapperVersion}', '"0.9.0"'), '{items}',
           (SELECT jsonb_agg(CASE WHEN i ->> 'id' = $2 THEN jsonb_build_object('resourceType', i ->> 'resourceType', 'id', $3::text) ELSE i END)
              FROM jsonb_array_elements(mapped_identity -> 'items') i))
       WHERE id = $1`,
      [ledgerId, current, old],
    );
    if (updated.rowCount !== 1) throw new Error(`ledger row of ${controlId} not updated`);
    return old;
  } finally {
    await registry.end();
    await gatewayDb.end();
  }
}

/** A regional operator's call to the gateway's admin or ledger API. */
function gateway(
  region: Region,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return region.call('ops-console', `${region.gatewayUrl}${path}`, {
    ...init,
    headers: { accept: 'application/json', 'content-type': 'application/json', ...init.headers },
  });
}

/** GET the institution, change it, PUT it back with If-Match (the admin API's optimistic lock). */
async function reconfigure(region: Region, id: string, change: (i: InstitutionSeed) => void): Promise<void> {
  const read = await gateway(region, `/admin/institutions/${id}`);
  const etag = read.headers.get('etag');
  if (read.status !== 200 || etag === null) throw new Error(`GET institution ${id}: ${read.status}`);
  const { meta: _meta, ...body } = read.json as Record<string, unknown> & InstitutionSeed;
  change(body);
  const stale = await gateway(region, `/admin/institutions/${id}`, {
    method: 'PUT',
    body,
    headers: { 'if-match': 'W/"999"' },
  });
  if (stale.status !== 412) throw new Error(`PUT ${id} with a stale If-Match: ${stale.status}, expected 412`);
  const saved = await gateway(region, `/admin/institutions/${id}`, {
    method: 'PUT',
    body,
    headers: { 'if-match': etag },
  });
  if (saved.status !== 200)
    throw new Error(`PUT institution ${id}: ${saved.status} ${JSON.stringify(issues(saved))}`);
}

/** Starts a filtered replay and waits for its job to finish; returns the finished job. */
async function replayAll(region: Region, filter: Record<string, unknown>): Promise<Record<string, unknown>> {
  const started = await gateway(region, '/ledger/replays', { method: 'POST', body: filter });
  if (started.status !== 202 && started.status !== 200)
    throw new Error(`replay ${JSON.stringify(filter)}: ${started.status}`);
  const id = String(started.json['id']);
  const deadline = Date.now() + 90_000;
  for (;;) {
    const job = (await gateway(region, `/ledger/replays/${id}`)).json;
    if (job['status'] === 'done') return job;
    if (Date.now() > deadline) throw new Error(`replay job ${id} not done: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('a replay after a configuration fix leaves the region as if the fix had always been there', () => {
  let expected: Record<string, unknown> = {};
  let expectedAcks = new Map<string, string>();

  it('right configuration → ingest: what institutions see (the reference)', async () => {
    const right = new ConfiguredRegion({ run: `${run}r`, suffix: `ic-${run}r`, tools }, rightConfiguration);
    let failed = true;
    try {
      await right.start();
      expectedAcks = await sendAll(right);
      expect([...expectedAcks.values()].every((code) => code === 'AA' || code === 'CA')).toBe(true);
      await ledgerSettled(right, allControlIds, ['mapped']);
      await linked(right, ids.aSta, ids.aRcc);
      await linked(right, ids.bNv, ids.bRcc);
      await linked(right, ids.cSta, ids.cLab);
      await right.consentCaughtUp();
      expected = await settledView(
        right,
        (view) =>
          (view[`documents sta-ehr ${ids.aSta}`] as { total?: number }).total === 1 &&
          (view[`documents north-valley-ehr ${ids.bNv}`] as { total?: number }).total === 1 &&
          (view[`documents riverside-ehr ${ids.cLab}`] as { total?: number }).total === 1,
      );
      if (process.env['IC_DUMP'] !== undefined)
        writeFileSync(process.env['IC_DUMP'], JSON.stringify(expected, null, 1));
      // The reference shows what the cases are about: linked records, each institution's items, the opt-out.
      expect(expected[`pix riverside-ehr ${ids.bRcc}`]).toMatchObject({
        identifiers: expect.arrayContaining([ids.bNv]),
      });
      expect(expected[`pix sta-ehr ${ids.cSta}`]).toMatchObject({
        identifiers: expect.arrayContaining([ids.cLab]),
      });
      expect(expected[`pix sta-ehr ${ids.aProvisional}`]).toMatchObject({ status: 404 });
      expect(expected[`documents riverside-ehr ${ids.bRcc}`]).toMatchObject({
        total: 1,
        items: [expect.stringContaining('urn:tessera:institution:north-valley')],
      });
      expect(expected[`documents riverside-ehr ${ids.aRcc}`]).toMatchObject({ total: 0 });
      failed = false;
    } finally {
      await right.stop(failed);
    }
  }, 600_000);

  it('wrong configuration → ingest → fix → replay: the same answers, nothing provisional left', async () => {
    expect(Object.keys(expected).length).toBeGreaterThan(0);
    const wrong = new ConfiguredRegion({ run: `${run}w`, suffix: `ic-${run}w`, tools }, wrongConfiguration);
    let failed = true;
    try {
      await wrong.start();
      const acks = await sendAll(wrong);
      for (const m of messages.rccLab) expect(acks.get(m.controlId)).toBe('AE');
      await ledgerSettled(
        wrong,
        allControlIds.filter((c) => !messages.rccLab.some((m) => m.controlId === c)),
        ['mapped'],
      );
      await linked(wrong, ids.aProvisional, ids.aRcc);
      await linked(wrong, ids.bProvisional, ids.bRcc);
      await wrong.consentCaughtUp();
      const oldDocument = await asMappedByAnOlderMapper(wrong, control('d-sta-mdm'));
      // The defect the replay must repair: provisional identifiers in other institutions' PIXm
      // answers, Donghai's name on North Valley's document.
      const before = await userView(wrong);
      expect(before[`pix riverside-ehr ${ids.bRcc}`]).toMatchObject({
        identifiers: expect.arrayContaining([ids.bProvisional]),
      });
      expect(before[`documents sta-ehr ${ids.dSta}`]).toMatchObject({
        items: [expect.stringContaining(`DocumentReference/${oldDocument} `)],
      });
      expect(differences(before, expected).length).toBeGreaterThan(0);
      // Every search was answered (a 409 would mean the registry's link projection missed links).
      expect(Object.entries(before).filter(([, v]) => (v as { status?: number }).status === 409)).toEqual([]);

      // Operators see the provisional identities and the warning that produced them.
      const provisional = await gateway(wrong, '/ledger/provisional-identities');
      expect(provisional.status).toBe(200);
      const listed = provisional.json['items'] as Array<Record<string, unknown>>;
      for (const [institutionId, system] of [
        ['st-aurelia', 'urn:tessera:aa:st-aurelia:STA2'],
        ['donghai-people', 'urn:tessera:aa:donghai-people:NVMC'],
      ])
        expect(listed).toContainEqual(
          expect.objectContaining({
            institutionId,
            system,
            records: 1,
            warnings: expect.arrayContaining(['UNKNOWN_ASSIGNING_AUTHORITY']),
          }),
        );

      // The fixes, through the admin API.
      await reconfigure(wrong, 'st-aurelia', (i) => {
        i.assigningAuthorities = [
          ...i.assigningAuthorities.filter((a) => a.namespace !== 'STALAB'),
          { namespace: 'STA2', system: STA2_SYSTEM },
        ];
      });
      await reconfigure(wrong, 'riverside', (i) => {
        i.assigningAuthorities.push({ namespace: 'RCCLAB', system: RCC_LAB_SYSTEM });
      });
      await reconfigure(wrong, 'donghai-people', (i) => {
        i.sendingFacilities = i.sendingFacilities.filter((f) => f !== 'NVMC');
      });
      await reconfigure(wrong, 'north-valley', (i) => {
        i.sendingFacilities = ['NVMC'];
      });

      // Dry runs say what would change, and change nothing.
      const staPreview = await gateway(wrong, '/ledger/replays', {
        method: 'POST',
        body: { institution: 'st-aurelia', dryRun: true },
      });
      expect(staPreview.status).toBe(200);
      expect(staPreview.json).toMatchObject({
        dryRun: true,
        wouldFail: 0,
        identities: {
          corrected: 1,
          moves: [
            {
              from: {
                institutionId: 'st-aurelia',
                system: 'urn:tessera:aa:st-aurelia:STA2',
                provisional: true,
              },
              to: { institutionId: 'st-aurelia', system: STA2_SYSTEM },
              records: 1,
              messages: 2,
            },
          ],
        },
        consents: { sourceRecordsFollowed: 1 },
      });
      // The older mapper's document id is among the items withdrawn (and the current one indexed).
      expect((staPreview.json['items'] as { withdrawn: number }).withdrawn).toBeGreaterThanOrEqual(1);
      const nvPreview = await gateway(wrong, '/ledger/replays', {
        method: 'POST',
        body: { facility: 'NVMC', dryRun: true },
      });
      expect(nvPreview.json).toMatchObject({
        identities: {
          corrected: 1,
          moves: [
            {
              from: { institutionId: 'donghai-people' },
              to: { institutionId: 'north-valley', system: NVMC_SYSTEM },
            },
          ],
        },
      });
      // Donghai's encounter and document ids (hashes of the institution) are withdrawn, North Valley's indexed.
      expect((nvPreview.json['items'] as { withdrawn: number }).withdrawn).toBe(2);
      const labPreview = await gateway(wrong, '/ledger/replays', {
        method: 'POST',
        body: { institution: 'riverside', state: 'rejected', dryRun: true },
      });
      expect(labPreview.json).toMatchObject({ messages: 2, wouldMap: 2, identities: { corrected: 0 } });
      expect(await wrong.enterpriseIdOf('urn:tessera:aa:st-aurelia:STA2', people.a.staMrn)).not.toBeNull();

      // Apply: one rejected (AE) message alone, then the bulk replays with progress.
      const [labAdt] = await wrong.ledger(control('c-lab-adt'));
      const one = await gateway(wrong, `/ledger/messages/${String(labAdt?.['id'])}/replay`, {
        method: 'POST',
      });
      expect(one.json).toMatchObject({ outcome: 'mapped', identityCorrected: false });
      expect(await replayAll(wrong, { institution: 'st-aurelia' })).toMatchObject({
        done: 5,
        failed: 0,
        corrected: 2,
      });
      expect(await replayAll(wrong, { facility: 'NVMC' })).toMatchObject({
        done: 2,
        failed: 0,
        corrected: 2,
      });
      expect(await replayAll(wrong, { institution: 'riverside', state: 'rejected' })).toMatchObject({
        failed: 0,
      });

      // The invariant: what institutions see equals the right configuration's region.
      const deadline = Date.now() + 180_000;
      let seen = await userView(wrong);
      while (differences(seen, expected).length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1_500));
        seen = await userView(wrong);
      }
      expect(differences(seen, expected)).toEqual([]);

      // Nothing provisional survives; the corrections are explicit in the link history.
      const afterList = (await gateway(wrong, '/ledger/provisional-identities')).json['items'] as unknown[];
      expect(afterList).toEqual([]);
      const history = await wrong.call(
        'ops-console',
        `${wrong.mpiUrl}/mpi/links/history?system=${encodeURIComponent('urn:tessera:aa:st-aurelia:STA2')}&value=${encodeURIComponent(people.a.staMrn)}`,
      );
      const events =
        (history.json['events'] as Array<{ afterState: string; reason: string }> | undefined) ?? [];
      expect(events.at(-1)).toMatchObject({
        afterState: 'NO_MATCH',
        reason: expect.stringContaining('replay of ledger message'),
      });
      failed = false;
    } finally {
      await wrong.stop(failed);
    }
  }, 900_000);
});
