import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT } from 'jose';
import type { JWK } from 'jose';
import {
  dropTestDatabase,
  freePort,
  startServiceProcess,
  uniqueTestId,
  workspacePath,
} from '@tessera/testing';
import {
  ackOf,
  bootGateway,
  Checks,
  ENTERPRISE_ID_SYSTEM,
  entries,
  fromSource,
  idsOf,
  issueCodes,
  mllpFrom,
  RCC_ADDRESS,
  RCC_SOURCE,
  Region,
  STA_ADDRESS,
  STA_SOURCE,
  summary,
} from './trust-model.harness';
import type { Answer, BundleEntry, MllpOutcome, Resource } from './trust-model.harness';
import {
  adt,
  mdmT02,
  optOutConsent,
  pdqQueryOf,
  RCC_SYSTEM,
  STA_SYSTEM,
  trustPerson,
} from './trust-model.builder';
import type { BuiltMessage, TrustPerson } from './trust-model.builder';

/*
 * The exchange's trust model, attacked the way an institution (or anyone on the network) would:
 * over MLLP and the exchange's FHIR API of the five compiled services (dist/) running as their own
 * processes. Findings are written test-first (each fails on code that still has the hole, for the
 * reason named in its title); "held" tests pin what already resists. St Aurelia sends from
 * 127.0.0.2 to its own allow-listed port, Riverside from 127.0.0.3 to its own (test institutions
 * seed). Synthetic people only; failure reports carry statuses, ids and counts, never demographics.
 */

const run = uniqueTestId('t');
const tools = { startServiceProcess, freePort, dropTestDatabase, workspacePath };
const region = new Region({ run, suffix: `trust-${run}`, tools });
let failed = false;

const BREAK_GLASS_REASON = 'Unconscious patient in the emergency department';
const people = {
  optOut: trustPerson(run, 'a'),
  lateHolder: trustPerson(run, 'b'),
  feedFlag: trustPerson(run, 'c'),
  facility: trustPerson(run, 'd'),
  psych: trustPerson(run, 'e'),
};
const control = (person: TrustPerson, step: string): string => `${person.tag.toLowerCase()}-${step}`;
const sta = (p: TrustPerson): string => `${STA_SYSTEM}|${p.staMrn}`;
const rcc = (p: TrustPerson): string => `${RCC_SYSTEM}|${p.rccMrn}`;

/** What the feeds sent at setup, by MSH-10: the ACK code (or what happened to the connection). */
const setupAcks = new Map<string, string>();

const pdfNote = { documentType: 'DS', observation: '18842-5^Discharge summary^LN', kind: 'pdf' } as const;
const textNote = { documentType: 'CN', observation: '11488-4^Consult note^LN', kind: 'text' } as const;
const psychNote = {
  documentType: 'CN',
  observation: '34788-0^Psychiatry Consult note^LN',
  kind: 'text',
} as const;

const initialFeeds = {
  sta: [
    adt('sta', 'A04', people.optOut, control(people.optOut, 'sta-a04')),
    mdmT02('sta', people.optOut, control(people.optOut, 'sta-t02'), `DOC-${people.optOut.tag}`, pdfNote),
    adt('sta', 'A04', people.lateHolder, control(people.lateHolder, 'sta-a04'), { ssn: true }),
    mdmT02('sta', people.lateHolder, control(people.lateHolder, 'sta-t02'), `DOC-${people.lateHolder.tag}`, {
      ...pdfNote,
      ssn: true,
    }),
    adt('sta', 'A04', people.feedFlag, control(people.feedFlag, 'sta-a04'), { protection: 'Y' }),
    adt('sta', 'A04', people.psych, control(people.psych, 'sta-a04')),
    mdmT02('sta', people.psych, control(people.psych, 'sta-t02'), `DOC-${people.psych.tag}`, pdfNote),
    mdmT02('sta', people.psych, control(people.psych, 'sta-psy'), `PSY-${people.psych.tag}`, psychNote),
  ],
  rcc: [
    adt('rcc', 'A04', people.optOut, control(people.optOut, 'rcc-a04')),
    mdmT02('rcc', people.optOut, control(people.optOut, 'rcc-t02'), `RDOC-${people.optOut.tag}`, textNote),
    adt('rcc', 'A04', people.feedFlag, control(people.feedFlag, 'rcc-a04')),
    mdmT02(
      'rcc',
      people.feedFlag,
      control(people.feedFlag, 'rcc-t02'),
      `RDOC-${people.feedFlag.tag}`,
      textNote,
    ),
    adt('rcc', 'A04', people.psych, control(people.psych, 'rcc-a04')),
  ],
};

function recordAcks(sent: readonly BuiltMessage[], outcome: MllpOutcome): void {
  sent.forEach((m, i) => {
    const ack = outcome.acks[i];
    setupAcks.set(m.controlId, ack === undefined ? `no ACK (${outcome.error ?? 'closed'})` : ackOf(ack).code);
  });
}

/** Fails (hard) unless every listed setup message was acknowledged AA/CA. */
function expectAccepted(controlIds: readonly string[]): void {
  const seen = controlIds.map((id) => `${id}: ${setupAcks.get(id) ?? 'not sent'}`);
  const bad = seen.filter((s) => !/: (AA|CA)$/.test(s));
  if (bad.length > 0) throw new Error(`setup messages not accepted: ${bad.join(', ')}`);
}

async function send(site: 'sta' | 'rcc', messages: readonly BuiltMessage[]): Promise<MllpOutcome> {
  region.lastStep = `MLLP ${site} ${messages.map((m) => m.controlId).join(',')}`;
  const outcome = await mllpFrom(
    site === 'sta' ? region.staPort : region.rccPort,
    messages.map((m) => m.bytes),
    { localAddress: site === 'sta' ? STA_ADDRESS : RCC_ADDRESS },
  );
  region.lastAnswer = JSON.stringify({
    acks: outcome.acks.map((a) => ackOf(a).code),
    closed: outcome.closedEarly,
  });
  return outcome;
}

/** Sends and requires AA/CA for every message (a setup step, not a finding). */
async function sendAccepted(site: 'sta' | 'rcc', messages: readonly BuiltMessage[]): Promise<void> {
  const outcome = await send(site, messages);
  recordAcks(messages, outcome);
  expectAccepted(messages.map((m) => m.controlId));
}

const docByNumber = (answer: Answer, number: string): BundleEntry | undefined =>
  entries(answer).find(
    (e) => (e.resource?.['masterIdentifier'] as { value?: string } | undefined)?.value === number,
  );

const identifiersOf = (pix: Answer): Array<{ system?: string; value?: string }> =>
  (
    (pix.json['parameter'] as Array<{ valueIdentifier?: { system?: string; value?: string } }> | undefined) ??
    []
  )
    .map((p) => p.valueIdentifier)
    .filter((i): i is { system?: string; value?: string } => i !== undefined);

const enterpriseIdOf = (pix: Answer): string =>
  identifiersOf(pix).find((i) => i.system === ENTERPRISE_ID_SYSTEM)?.value ?? '';

/** Consent entries of a search Bundle recorded by St Aurelia (by id, or naming it as organization). */
const staConsents = (answer: Answer, id: string): string[] =>
  entries(answer)
    .filter((e) => e.resource?.resourceType === 'Consent')
    .filter(
      (e) =>
        e.resource?.id === id ||
        JSON.stringify(e.resource?.['organization'] ?? []).includes('Organization/st-aurelia'),
    )
    .map((e) => e.resource?.id ?? '?');

type AuditEventResource = {
  id?: string;
  purposeOfEvent?: Array<{ coding?: Array<{ code?: string }> }>;
  agent?: Array<{ who?: { identifier?: { system?: string; value?: string } } }>;
};
const accessesOf = (answer: Answer) =>
  entries(answer).map((e) => {
    const event = e.resource as AuditEventResource | undefined;
    return {
      id: event?.id,
      client: event?.agent?.find((g) => g.who?.identifier?.system === 'urn:tessera:client')?.who?.identifier
        ?.value,
      purposes: (event?.purposeOfEvent ?? []).flatMap((p) => p.coding ?? []).map((c) => c.code),
      text: JSON.stringify(event ?? {}),
    };
  });

describe('trust model: adversarial findings and held defences (five services, real Kafka/Postgres/Redis)', () => {
  beforeAll(async () => {
    await region.start();
    // Every person of the suite is sent once, up front: the pipelines work while earlier tests run.
    const [staOutcome, rccOutcome] = await Promise.all([
      send('sta', initialFeeds.sta),
      send('rcc', initialFeeds.rcc),
    ]);
    recordAcks(initialFeeds.sta, staOutcome);
    recordAcks(initialFeeds.rcc, rccOutcome);
  }, 240_000);

  afterAll(async () => {
    await region.stop(failed);
  }, 150_000);

  const step = (name: string, fn: () => Promise<void>, timeoutMs = 240_000) =>
    it(
      name,
      async () => {
        try {
          await fn();
        } catch (error) {
          failed = true;
          throw new Error(
            `"${name}" failed (last call: ${region.lastStep} → ${region.lastAnswer}):\n${(error as Error).message}`,
          );
        }
      },
      timeoutMs,
    );

  step(
    "finding 1 (critical): Riverside cannot read, list or withdraw St Aurelia's opt-out; St Aurelia can",
    async () => {
      const p = people.optOut;
      const checks = new Checks('finding 1');
      expectAccepted(['sta-a04', 'sta-t02', 'rcc-a04', 'rcc-t02'].map((s) => control(p, s)));
      const before = await region.until(
        'riverside-ehr sees both institutions’ documents (mapper → MPI link → registry)',
        () => region.documents('riverside-ehr', rcc(p)),
        (a) =>
          a.status === 200 &&
          fromSource(a, STA_SOURCE).length === 1 &&
          fromSource(a, RCC_SOURCE).length === 1,
      );
      const staDocId = fromSource(before, STA_SOURCE)[0]?.resource?.id ?? '';

      const created = region.remember(
        'sta-ehr POST Consent (opt-out)',
        await region.call('sta-ehr', '/fhir/Consent', {
          method: 'POST',
          purpose: 'TREAT',
          body: optOutConsent(STA_SYSTEM, p.staMrn, 'st-aurelia'),
        }),
      );
      if (created.status !== 201 || created.headers.get('etag') !== 'W/"1"')
        throw new Error(
          `setup: opt-out not recorded: ${JSON.stringify({ ...summary(created), etag: created.headers.get('etag') })}`,
        );
      const consentId = typeof created.json['id'] === 'string' ? created.json['id'] : '';
      const consent = created.json;

      const listed = region.remember(
        'riverside-ehr GET /fhir/Consent?patient=<own MRN>',
        await region.call('riverside-ehr', `/fhir/Consent?patient=${encodeURIComponent(rcc(p))}`, {
          purpose: 'TREAT',
        }),
      );
      checks.check('Riverside consent search answers 200', listed.status === 200, summary(listed));
      checks.check(
        "Riverside's consent search holds no Consent recorded by St Aurelia",
        staConsents(listed, consentId).length === 0,
        { staConsents: staConsents(listed, consentId), consentId },
      );
      checks.check(
        'Riverside’s consent search has an OperationOutcome entry with search.mode "outcome" (sharing restricted)',
        entries(listed).some(
          (e) => e.resource?.resourceType === 'OperationOutcome' && e.search?.mode === 'outcome',
        ),
        summary(listed),
      );

      const read = region.remember(
        'riverside-ehr GET /fhir/Consent/{St Aurelia’s id}',
        await region.call('riverside-ehr', `/fhir/Consent/${consentId}`, { purpose: 'TREAT' }),
      );
      checks.check(
        'Riverside GET Consent/{id} of St Aurelia’s directive → 403',
        read.status === 403,
        summary(read),
      );

      const put = region.remember(
        'riverside-ehr PUT /fhir/Consent/{id} status inactive, If-Match W/"1"',
        await region.call('riverside-ehr', `/fhir/Consent/${consentId}`, {
          method: 'PUT',
          purpose: 'TREAT',
          headers: { 'if-match': 'W/"1"' },
          body: { ...consent, status: 'inactive' },
        }),
      );
      checks.check(
        'Riverside PUT of St Aurelia’s Consent → 403 OperationOutcome "forbidden"',
        put.status === 403 &&
          put.json['resourceType'] === 'OperationOutcome' &&
          issueCodes(put).includes('forbidden'),
        summary(put),
      );

      const after = region.remember(
        'riverside-ehr documents after the attack',
        await region.documents('riverside-ehr', rcc(p)),
      );
      checks.check(
        'Riverside still sees none of St Aurelia’s documents',
        after.status === 200 &&
          fromSource(after, STA_SOURCE).length === 0 &&
          fromSource(after, RCC_SOURCE).length === 1,
        { ...summary(after), staDocId },
      );

      const own = region.remember(
        'sta-ehr GET /fhir/Consent?patient=<own MRN>',
        await region.call('sta-ehr', `/fhir/Consent?patient=${encodeURIComponent(sta(p))}`, {
          purpose: 'TREAT',
        }),
      );
      const current = entries(own).find((e) => e.resource?.id === consentId)?.resource;
      const withdraw = region.remember(
        'sta-ehr PUT its own Consent status inactive',
        await region.call('sta-ehr', `/fhir/Consent/${consentId}`, {
          method: 'PUT',
          purpose: 'TREAT',
          headers: { 'if-match': `W/"${current?.meta?.versionId ?? '1'}"` },
          body: { ...consent, status: 'inactive' },
        }),
      );
      checks.check('St Aurelia withdraws its own opt-out → 200', withdraw.status === 200, {
        ...summary(withdraw),
        versionBefore: current?.meta?.versionId,
      });
      checks.done();
    },
  );

  step(
    'finding 2 (high): Riverside registering the same person after the opt-out gains no view of St Aurelia’s record, consent or audit trail',
    async () => {
      const p = people.lateHolder;
      const checks = new Checks('finding 2');
      expectAccepted(['sta-a04', 'sta-t02'].map((s) => control(p, s)));
      const own = await region.until(
        'sta-ehr sees its document',
        () => region.documents('sta-ehr', sta(p)),
        (a) => a.status === 200 && fromSource(a, STA_SOURCE).length === 1,
      );
      const staDoc = fromSource(own, STA_SOURCE)[0]?.resource as Resource & {
        content?: Array<{ attachment?: { url?: string } }>;
      };
      const staDocId = staDoc.id ?? '';
      const binary = /Binary\/([0-9a-f]{64})/.exec(staDoc.content?.[0]?.attachment?.url ?? '')?.[1] ?? '';
      const eid = enterpriseIdOf(region.remember('sta-ehr PIXm', await region.pix('sta-ehr', sta(p))));
      if (eid === '') throw new Error('setup: no enterprise id for St Aurelia’s record');

      const created = region.remember(
        'sta-ehr POST Consent (opt-out)',
        await region.call('sta-ehr', '/fhir/Consent', {
          method: 'POST',
          purpose: 'TREAT',
          body: optOutConsent(STA_SYSTEM, p.staMrn, 'st-aurelia'),
        }),
      );
      if (created.status !== 201)
        throw new Error(`setup: opt-out not recorded: ${JSON.stringify(summary(created))}`);
      const consentId = typeof created.json['id'] === 'string' ? created.json['id'] : '';
      const consent = created.json;

      // Riverside holds nothing yet: it cannot find the person nor their documents.
      const pdq = region.remember(
        'riverside-ehr PDQm before',
        await region.call('riverside-ehr', pdqQueryOf(p), { purpose: 'TREAT' }),
      );
      const found = entries(pdq).filter(
        (e) => e.resource?.id === eid || JSON.stringify(e.resource?.['identifier'] ?? []).includes(eid),
      );
      const docsBefore = region.remember(
        'riverside-ehr documents before',
        await region.documents('riverside-ehr', sta(p)),
      );
      if (pdq.status !== 200 || found.length !== 0 || fromSource(docsBefore, STA_SOURCE).length !== 0)
        throw new Error(
          `setup: Riverside already sees the person before registering it: ${JSON.stringify({ pdq: summary(pdq), found: found.length, docs: summary(docsBefore) })}`,
        );

      // The attack: an ADT^A04 with a new Riverside MRN and the person's name, birth date and SSN
      // (with the address and phone of a registration, so that the MPI links it to the person).
      await sendAccepted('rcc', [adt('rcc', 'A04', p, control(p, 'rcc-a04'), { ssn: true })]);
      await region.ledgerState(control(p, 'rcc-a04'), ['mapped']);
      await region.until(
        'riverside-ehr PIXm of its new MRN answers (the MPI has the record)',
        () => region.pix('riverside-ehr', rcc(p)),
        (a) => a.status === 200,
      );
      // St Aurelia (a holder) sees whether the MPI linked the new record to the person.
      const linked = await region
        .until(
          'sta-ehr PIXm lists Riverside’s new MRN (the MPI linked it to the person)',
          () => region.pix('sta-ehr', sta(p)),
          (a) => identifiersOf(a).some((i) => i.system === RCC_SYSTEM && i.value === p.rccMrn),
          60_000,
        )
        .then(
          () => true,
          () => false,
        );
      await region.consentCaughtUp();
      if (linked) {
        // Today the consent service then counts Riverside as a holder of the person (bounded wait;
        // a fix may keep the trail closed to it: a 403 lists nothing either).
        await region
          .until(
            'riverside-ehr AuditEvent of the person answers 200 (Riverside counted as a holder)',
            () =>
              region.call('riverside-ehr', `/fhir/AuditEvent?patient=${eid}&_count=200`, {
                purpose: 'TREAT',
              }),
            (a) => a.status === 200,
            30_000,
          )
          .catch(() => undefined);
      }

      const pix = region.remember('riverside-ehr PIXm', await region.pix('riverside-ehr', rcc(p)));
      checks.check(
        'Riverside’s PIXm answer carries no St Aurelia identifier',
        pix.status === 200 && identifiersOf(pix).every((i) => i.system !== STA_SYSTEM),
        { status: pix.status, systems: identifiersOf(pix).map((i) => i.system), linkedToSamePerson: linked },
      );
      const docs = region.remember(
        'riverside-ehr documents (own MRN)',
        await region.documents('riverside-ehr', rcc(p)),
      );
      checks.check(
        'Riverside’s document search returns no St Aurelia document',
        docs.status === 200 && fromSource(docs, STA_SOURCE).length === 0,
        summary(docs),
      );
      const content = region.remember(
        'riverside-ehr $content',
        await region.call('riverside-ehr', `/fhir/DocumentReference/${staDocId}/$content`, {
          purpose: 'TREAT',
        }),
      );
      checks.check('St Aurelia document $content → 404 for Riverside', content.status === 404, {
        status: content.status,
      });
      const bin = region.remember(
        'riverside-ehr Binary',
        await region.call('riverside-ehr', `/fhir/Binary/${binary}`, { purpose: 'TREAT' }),
      );
      checks.check('St Aurelia document Binary → 404 for Riverside', binary !== '' && bin.status === 404, {
        status: bin.status,
        binaryKnown: binary !== '',
      });

      // North Valley breaks the glass and reads the document: St Aurelia's trail shows it, Riverside's must not.
      const glass = region.remember(
        'north-valley-ehr ETREAT search',
        await region.documents('north-valley-ehr', sta(p), 'ETREAT', {
          'x-tessera-break-glass-reason': BREAK_GLASS_REASON,
        }),
      );
      if (glass.status !== 200 || !idsOf(fromSource(glass, STA_SOURCE)).includes(staDocId))
        throw new Error(
          `setup: break-the-glass did not return the document: ${JSON.stringify(summary(glass))}`,
        );
      await region.until(
        'sta-ehr AuditEvent lists North Valley’s break-the-glass',
        () => region.call('sta-ehr', `/fhir/AuditEvent?patient=${eid}&_count=200`, { purpose: 'TREAT' }),
        (a) =>
          a.status === 200 &&
          accessesOf(a).some((x) => x.client === 'north-valley-ehr' && x.purposes.includes('BTG')),
        60_000,
      );
      const trail = region.remember(
        'riverside-ehr AuditEvent',
        await region.call('riverside-ehr', `/fhir/AuditEvent?patient=${eid}&_count=200`, {
          purpose: 'TREAT',
        }),
      );
      // Riverside's own calls (its refused $content, say) are its own to see; anyone else's are not.
      const leaked = accessesOf(trail).filter(
        (x) => x.client !== 'riverside-ehr' && (x.client === 'north-valley-ehr' || x.text.includes(staDocId)),
      );
      checks.check(
        'Riverside’s audit trail lists no access to St Aurelia’s items (North Valley’s break-the-glass, St Aurelia’s document)',
        (trail.status === 200 && leaked.length === 0) || trail.status === 403,
        {
          status: trail.status,
          total: trail.json['total'],
          leaked: leaked.map((x) => ({ id: x.id, client: x.client, purposes: x.purposes })),
        },
      );

      const read = region.remember(
        'riverside-ehr GET Consent/{St Aurelia’s id}',
        await region.call('riverside-ehr', `/fhir/Consent/${consentId}`, { purpose: 'TREAT' }),
      );
      checks.check('Riverside GET of St Aurelia’s Consent → 403', read.status === 403, summary(read));
      const listed = region.remember(
        'riverside-ehr Consent search',
        await region.call('riverside-ehr', `/fhir/Consent?patient=${encodeURIComponent(rcc(p))}`, {
          purpose: 'TREAT',
        }),
      );
      checks.check(
        'Riverside’s consent search lists no St Aurelia Consent',
        staConsents(listed, consentId).length === 0,
        { ...summary(listed), staConsents: staConsents(listed, consentId) },
      );
      const put = region.remember(
        'riverside-ehr PUT St Aurelia’s Consent',
        await region.call('riverside-ehr', `/fhir/Consent/${consentId}`, {
          method: 'PUT',
          purpose: 'TREAT',
          headers: { 'if-match': 'W/"1"' },
          body: { ...consent, status: 'inactive' },
        }),
      );
      checks.check('Riverside PUT of St Aurelia’s Consent → 403', put.status === 403, summary(put));
      checks.done();
    },
  );

  step(
    'finding 3 (high): a PD1-12 "Y" opt-out survives an MDM^T02 without PD1 and is withdrawn only by PD1-12 "N"',
    async () => {
      const p = people.feedFlag;
      const checks = new Checks('finding 3');
      expectAccepted(['sta-a04', 'rcc-a04', 'rcc-t02'].map((s) => control(p, s)));
      const consentsOf = () =>
        region.call('sta-ehr', `/fhir/Consent?patient=${encodeURIComponent(sta(p))}`, { purpose: 'TREAT' });
      const feedDirective = (a: Answer) =>
        entries(a).find((e) => e.resource?.resourceType === 'Consent')?.resource;
      const active = await region.until(
        'sta-ehr sees the active feed-managed directive (PD1-12 Y)',
        consentsOf,
        (a) => a.status === 200 && feedDirective(a)?.['status'] === 'active',
      );
      const directiveId = feedDirective(active)?.id ?? '';
      await region.until(
        'records linked (the MPI links both MRNs to one person) and Riverside sees its own note',
        async () => {
          const docs = await region.documents('riverside-ehr', rcc(p));
          const staPerson = await region.enterpriseIdOf(STA_SYSTEM, p.staMrn);
          const linked =
            staPerson !== null && staPerson === (await region.enterpriseIdOf(RCC_SYSTEM, p.rccMrn));
          return { ...docs, status: linked ? docs.status : 0 };
        },
        (a) => a.status === 200 && fromSource(a, RCC_SOURCE).length === 1,
      );

      // The document update that follows carries no PD1 segment.
      const t02 = mdmT02('sta', p, control(p, 'sta-t02'), `DOC-${p.tag}`, pdfNote);
      await sendAccepted('sta', [t02]);
      await region.ledgerState(t02.controlId, ['mapped']);
      await region.until(
        'sta-ehr sees its new document',
        () => region.documents('sta-ehr', sta(p)),
        (a) => a.status === 200 && fromSource(a, STA_SOURCE).length === 1,
      );
      await region.consentCaughtUp();
      const afterT02 = region.remember('sta-ehr Consent search after the T02', await consentsOf());
      checks.check(
        'after the MDM^T02 without PD1 the feed directive is still active',
        feedDirective(afterT02)?.id === directiveId && feedDirective(afterT02)?.['status'] === 'active',
        {
          directiveId,
          seen: entries(afterT02).map((e) => ({
            id: e.resource?.id,
            status: e.resource?.['status'],
            version: e.resource?.meta?.versionId,
          })),
        },
      );
      const hidden = region.remember(
        'riverside-ehr documents after the T02',
        await region.documents('riverside-ehr', rcc(p)),
      );
      checks.check(
        'Riverside still sees nothing of St Aurelia after the T02',
        hidden.status === 200 && fromSource(hidden, STA_SOURCE).length === 0,
        summary(hidden),
      );

      // PD1-12 N withdraws it: Riverside sees St Aurelia's document again.
      await sendAccepted('sta', [adt('sta', 'A08', p, control(p, 'sta-a08'), { protection: 'N' })]);
      await region.ledgerState(control(p, 'sta-a08'), ['mapped']);
      await region.consentCaughtUp();
      const withdrawn = region.remember('sta-ehr Consent search after PD1-12 N', await consentsOf());
      checks.check(
        'after ADT^A08 with PD1-12 N the feed directive is inactive',
        feedDirective(withdrawn)?.['status'] === 'inactive',
        entries(withdrawn).map((e) => ({ id: e.resource?.id, status: e.resource?.['status'] })),
      );
      let visible: Answer | undefined;
      try {
        visible = await region.until(
          'riverside-ehr sees St Aurelia’s document again',
          () => region.documents('riverside-ehr', rcc(p)),
          (a) => a.status === 200 && fromSource(a, STA_SOURCE).length === 1,
          30_000,
        );
      } catch {
        visible = undefined;
      }
      checks.check(
        'Riverside sees St Aurelia’s document after PD1-12 N',
        visible !== undefined,
        region.lastAnswer,
      );
      checks.done();
    },
  );

  describe('finding 4 (high): MLLP senders are authenticated by their port’s allow-list, not by MSH-4', () => {
    const p = people.facility;

    step(
      'from St Aurelia’s address to its port, MSH-4 RIVERSIDE → AR (ERR at MSH-4), nothing indexed for Riverside',
      async () => {
        const checks = new Checks('finding 4 / forged MSH-4');
        const forged = adt('rcc', 'A04', p, control(p, 'forged-a04'));
        const sentAt = new Date(Date.now() - 2_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        const outcome = await send('sta', [forged]);
        const ack = ackOf(outcome.acks[0]);
        checks.check(
          'AR with ERR-2 at MSH-4 and an HL7 table 0357 code',
          ack.code === 'AR' &&
            ack.errLocations.some((l) => l.startsWith('MSH^1^4')) &&
            ack.errTables.includes('HL70357') &&
            ack.errCodes.every((c) => /^\d{3}$/.test(c)),
          { ...ack, closedEarly: outcome.closedEarly, error: outcome.error },
        );
        const row = await region
          .ledgerState(forged.controlId, ['rejected', 'published', 'mapped', 'failed'], 30_000)
          .catch(() => undefined);
        const ledgerId = typeof row?.['id'] === 'string' ? row['id'] : forged.controlId;
        checks.check(
          'ledger row rejected',
          row?.['state'] === 'rejected',
          row === undefined ? 'no row' : { state: row['state'], institutionId: row['institutionId'] },
        );
        const pix = region.remember(
          'riverside-ehr PIXm of the forged MRN',
          await region.pix('riverside-ehr', rcc(p)),
        );
        checks.check('the forged MRN is unknown to Riverside’s PIXm (404)', pix.status === 404, summary(pix));
        const docs = region.remember(
          'riverside-ehr documents of the forged MRN',
          await region.documents('riverside-ehr', rcc(p)),
        );
        checks.check(
          'no documents under the forged MRN',
          docs.status === 200 && entries(docs).length === 0,
          summary(docs),
        );
        const alert = await region
          .until(
            'privacy-officer: security-alert audit record of the refused message',
            () =>
              region.call(
                'privacy-officer',
                `${region.consentUrl}/AuditEvent?type=security-alert&date=ge${sentAt}&_count=100`,
              ),
            (a) =>
              a.status === 200 &&
              entries(a).some((e) =>
                [forged.controlId, ledgerId, 'RIVERSIDE', STA_ADDRESS].some((mark) =>
                  JSON.stringify(e.resource ?? {}).includes(mark),
                ),
              ),
            20_000,
          )
          .catch(() => undefined);
        checks.check(
          'a security-alert audit record names the refused message',
          alert !== undefined,
          region.lastAnswer,
        );
        checks.done();
      },
    );

    step('from Riverside’s address to St Aurelia’s port → connection closed before any ACK', async () => {
      const checks = new Checks('finding 4 / allow-list');
      const message = adt('sta', 'A04', p, control(p, 'wrong-address-a04'));
      region.lastStep = 'MLLP from 127.0.0.3 to St Aurelia’s port';
      const outcome = await mllpFrom(region.staPort, [message.bytes], {
        localAddress: RCC_ADDRESS,
        timeoutMs: 15_000,
      });
      region.lastAnswer = JSON.stringify({
        acks: outcome.acks.map((a) => ackOf(a).code),
        closed: outcome.closedEarly,
        error: outcome.error,
      });
      checks.check('closed with no ACK', outcome.acks.length === 0 && outcome.closedEarly, {
        acks: outcome.acks.map((a) => ackOf(a).code),
        closedEarly: outcome.closedEarly,
        error: outcome.error,
      });
      checks.done();
    });

    step(
      'St Aurelia’s own message from its address → AA; its ledger row says senderAuthentication ip-allow-list',
      async () => {
        const checks = new Checks('finding 4 / authenticated sender');
        const message = adt('sta', 'A04', p, control(p, 'own-a04'));
        const outcome = await send('sta', [message]);
        const ack = ackOf(outcome.acks[0]);
        checks.check('AA', ack.code === 'AA' && ack.controlId === message.controlId, {
          code: ack.code,
          controlId: ack.controlId,
          closed: outcome.closedEarly,
        });
        const [row] = await region.ledger(message.controlId);
        const detail =
          row === undefined ? {} : await region.ledgerDetail(typeof row['id'] === 'string' ? row['id'] : '');
        const method = row?.['senderAuthentication'] ?? detail['senderAuthentication'];
        checks.check('ledger senderAuthentication is "ip-allow-list"', method === 'ip-allow-list', {
          row: row === undefined ? 'none' : { state: row['state'], institutionId: row['institutionId'] },
          senderAuthentication: method ?? 'absent',
        });
        checks.done();
      },
    );

    step(
      'a gateway with a plain shared port on 0.0.0.0 and no MLLP_SHARED_PORT_UNAUTHENTICATED exits 78 at boot',
      async () => {
        const database = `tessera_gateway_test_${run}b`;
        try {
          region.lastStep = 'gateway boot with MLLP_HOST=0.0.0.0';
          const booted = await bootGateway(tools, {
            DB_NAME: database,
            MLLP_HOST: '0.0.0.0',
            MLLP_PORT: String(await freePort()),
            GATEWAY_ROLES: 'mllp',
            KAFKA_GROUP_SUFFIX: `trust-${run}-boot`,
            KAFKA_GROUP_START: 'latest',
            AUTH_ISSUER: region.exchangeUrl,
          });
          region.lastAnswer = JSON.stringify({ outcome: booted.outcome });
          if (booted.outcome !== 78)
            throw new Error(
              `finding 4 / boot: expected exit code 78, got ${JSON.stringify(booted.outcome)}; log tail:\n${booted.log}`,
            );
        } finally {
          await region.dropDatabase(database);
        }
      },
    );
  });

  step(
    'finding 5 (medium): a psychiatry consult note (OBX-3 LOINC 34788-0) is labelled PSY: Riverside does not see it, St Aurelia does',
    async () => {
      const p = people.psych;
      const checks = new Checks('finding 5');
      expectAccepted(['sta-a04', 'sta-t02', 'sta-psy', 'rcc-a04'].map((s) => control(p, s)));
      const own = await region.until(
        'sta-ehr sees both of its documents',
        () => region.documents('sta-ehr', sta(p)),
        (a) => a.status === 200 && fromSource(a, STA_SOURCE).length === 2,
      );
      const psy = docByNumber(own, `PSY-${p.tag}`)?.resource;
      const summaryDoc = docByNumber(own, `DOC-${p.tag}`)?.resource;
      checks.check('St Aurelia sees its psychiatry note', psy !== undefined, summary(own));
      checks.check(
        'the psychiatry note carries the PSY security label',
        (psy?.meta?.security ?? []).some((s) => s.code === 'PSY'),
        { id: psy?.id, security: (psy?.meta?.security ?? []).map((s) => s.code) },
      );
      const riverside = await region.until(
        'riverside-ehr (TREAT) sees St Aurelia’s discharge summary',
        () => region.documents('riverside-ehr', rcc(p)),
        (a) => a.status === 200 && idsOf(fromSource(a, STA_SOURCE)).includes(summaryDoc?.id ?? '-'),
      );
      checks.check(
        'Riverside does not see the psychiatry note',
        !idsOf(fromSource(riverside, STA_SOURCE)).includes(psy?.id ?? '-'),
        { psychNote: psy?.id, ...summary(riverside) },
      );
      checks.done();
    },
  );

  step(
    'finding 6 (low): system/Consent.cud asked with only system/Consent.write registered is granted system/Consent.cu',
    async () => {
      const checks = new Checks('finding 6');
      const answer = await region.requestToken('sta-ehr', 'system/Consent.cud');
      region.lastStep = 'token sta-ehr scope system/Consent.cud';
      region.lastAnswer = JSON.stringify({
        status: answer.status,
        scope: answer.body['scope'],
        error: answer.body['error'],
      });
      checks.check(
        'granted scope is exactly "system/Consent.cu"',
        answer.status === 200 && answer.body['scope'] === 'system/Consent.cu',
        {
          status: answer.status,
          scope: answer.body['scope'],
          error: answer.body['error'],
        },
      );
      checks.done();
    },
  );

  describe('held: refused cleanly', () => {
    const target = () => `/fhir/DocumentReference?patient=${encodeURIComponent(sta(people.optOut))}`;
    const expectRefused = (answer: Answer, status: number, code?: string) => {
      region.remember('held', answer);
      expect({ status: answer.status, resourceType: answer.json['resourceType'] }).toEqual({
        status,
        resourceType: 'OperationOutcome',
      });
      if (code !== undefined) expect(issueCodes(answer)).toContain(code);
    };
    const realToken = () => region.token('sta-ehr');
    const exchangeKid = async (): Promise<{ kid: string; jwk: JWK }> => {
      const jwks = (await (await fetch(`${region.exchangeUrl}/.well-known/jwks.json`)).json()) as {
        keys: JWK[];
      };
      const jwk = jwks.keys[0];
      if (jwk?.kid === undefined) throw new Error('the exchange publishes no key');
      return { kid: jwk.kid, jwk };
    };
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

    step('a token signed by another key (same kid) → 401', async () => {
      const payload = decodeJwt(await realToken());
      const { kid } = await exchangeKid();
      const foreign = await generateKeyPair('ES256');
      const forged = await new SignJWT({ ...payload })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
        .sign(foreign.privateKey);
      expectRefused(await region.call(null, target(), { purpose: 'TREAT', bearer: forged }), 401);
    });

    step('alg "none" → 401', async () => {
      const payload = decodeJwt(await realToken());
      const { kid } = await exchangeKid();
      const unsigned = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(payload)}.`;
      expectRefused(await region.call(null, target(), { purpose: 'TREAT', bearer: unsigned }), 401);
    });

    step('HS256 signed with the exchange’s public key (JWK and PEM as the secret) → 401', async () => {
      const payload = decodeJwt(await realToken());
      const { kid, jwk } = await exchangeKid();
      const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString();
      for (const secret of [JSON.stringify(jwk), pem]) {
        const signingInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64(payload)}`;
        const mac = createHmac('sha256', secret).update(signingInput).digest('base64url');
        expectRefused(
          await region.call(null, target(), { purpose: 'TREAT', bearer: `${signingInput}.${mac}` }),
          401,
        );
      }
    });

    step('an internal service token (aud tessera:internal) at the exchange → 401', async () => {
      const key = JSON.parse(
        readFileSync(workspacePath('deploy/demo-region/keys/exchange-signing.private.jwk'), 'utf8'),
      ) as JWK;
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ tessera_kind: 'service', tessera_roles: ['service.exchange'] })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid ?? '' })
        .setIssuer(region.exchangeUrl)
        .setSubject('exchange')
        .setAudience('tessera:internal')
        .setIssuedAt(now)
        .setExpirationTime(now + 120)
        .setJti(randomUUID())
        .sign(await importJWK(key, 'ES256'));
      expect(decodeProtectedHeader(token).kid).toBe((await exchangeKid()).kid);
      expectRefused(await region.call(null, target(), { purpose: 'TREAT', bearer: token }), 401);
    });

    step('a replayed client assertion (same jti twice) → 401 invalid_client', async () => {
      const assertion = await region.assertion('riverside-ehr');
      const first = await region.requestToken('riverside-ehr', 'system/Patient.read', assertion);
      const second = await region.requestToken('riverside-ehr', 'system/Patient.read', assertion);
      region.lastStep = 'replayed assertion';
      region.lastAnswer = JSON.stringify({
        first: first.status,
        second: second.status,
        error: second.body['error'],
      });
      expect(first.status).toBe(200);
      expect({
        status: second.status,
        error: second.body['error'],
        token: second.body['access_token'],
      }).toEqual({
        status: 401,
        error: 'invalid_client',
        token: undefined,
      });
    });

    step('scope escalation (a scope not registered) → 400 invalid_scope', async () => {
      for (const scope of ['system/Organization.read', 'system/*.*', 'system/Patient.write']) {
        const answer = await region.requestToken('riverside-ehr', scope);
        region.lastStep = `token riverside-ehr ${scope}`;
        region.lastAnswer = JSON.stringify({ status: answer.status, error: answer.body['error'] });
        expect({ scope, status: answer.status, error: answer.body['error'] }).toEqual({
          scope,
          status: 400,
          error: 'invalid_scope',
        });
      }
    });

    step('break-the-glass (ETREAT) by a client without it registered → 403 OperationOutcome', async () => {
      expectRefused(
        await region.documents('riverside-ehr', sta(people.optOut), 'ETREAT', {
          'x-tessera-break-glass-reason': BREAK_GLASS_REASON,
        }),
        403,
      );
    });

    step(
      'parameter injection (_include, SQL-ish values, unknown parameters) → 400 OperationOutcome',
      async () => {
        const base = `/fhir/DocumentReference?patient=${encodeURIComponent(sta(people.optOut))}`;
        for (const query of [
          `${base}&_include=DocumentReference:patient`,
          `/fhir/DocumentReference?patient=${encodeURIComponent(`${STA_SYSTEM}|x' OR '1'='1`)}`,
          `${base}&status=${encodeURIComponent("current'; DROP TABLE registry_items;--")}`,
          `/fhir/Consent?patient=${encodeURIComponent('1 OR 1=1; --')}`,
        ]) {
          expectRefused(await region.call('sta-ehr', query, { purpose: 'TREAT' }), 400);
        }
      },
    );

    step('a body over 1 MiB → 413 OperationOutcome', async () => {
      const big = JSON.stringify({
        ...optOutConsent(STA_SYSTEM, people.optOut.staMrn, 'st-aurelia'),
        text: { div: 'x'.repeat(1_100_000) },
      });
      expectRefused(
        await region.call('sta-ehr', '/fhir/Consent', { method: 'POST', purpose: 'TREAT', rawBody: big }),
        413,
      );
    });
  });
});
