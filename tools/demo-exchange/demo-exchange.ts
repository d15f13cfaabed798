import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { buildDemoFeed } from '../demo-feed/demo-feed.builder';
import { findInstitutionsFile, loadInstitutions } from '../demo-feed/institutions.loader';
import { ExchangeCaller } from '../exchange-client/exchange-caller';
import type { Answer } from '../exchange-client/exchange-caller';
import { connect, readAck } from '@tessera/platform-mllp-client';
import { notificationTour } from './notification-tour';
import { optOutConsent, tourCandidates } from './tour-plan';
import type { TourPerson } from './tour-plan';

/*
 * A tour of the exchange API after the demo feed (run by `npm start`):
 *   node dist/tools/demo-exchange/demo-exchange.js [--url http://127.0.0.1:8080] [--gateway http://127.0.0.1:8081] [--wait-s 120]
 *     [--mllp-port 2575] [--skip-notifications]
 * A clinician at Riverside reads a St Aurelia patient's documents; the patient opts out at St Aurelia
 * and Riverside no longer sees them; North Valley breaks the glass in an emergency; St Aurelia asks
 * who accessed the record; a call without a token is refused. The opt-out is withdrawn at the end,
 * so the tour can run again. Synthetic data only. Exit 0 when every step answered as expected.
 */

const ENTERPRISE_ID_SYSTEM = 'urn:tessera:enterprise-id';
const HOLDER = { institution: 'st-aurelia', client: 'sta-ehr' };
const ASKER = { institution: 'riverside', client: 'riverside-ehr' };
const EMERGENCY = { institution: 'north-valley', client: 'north-valley-ehr' };

interface Step {
  readonly what: string;
  readonly who: string;
  readonly purpose: string;
  readonly status: number;
  readonly result: string;
  readonly ok: boolean;
}

function identifierSystem(institutionsFile: string, institution: string): string {
  const doc = parseYaml(readFileSync(institutionsFile, 'utf8')) as {
    institutions: Array<{ id: string; assigningAuthorities: Array<{ system: string; default?: boolean }> }>;
  };
  const found = doc.institutions.find((i) => i.id === institution);
  const authority =
    found?.assigningAuthorities.find((a) => a.default === true) ?? found?.assigningAuthorities[0];
  if (authority === undefined) throw new Error(`no assigning authority for ${institution}`);
  return authority.system;
}

/** Entries of a searchset Bundle, by source institution (meta.source `urn:tessera:institution:<id>`). */
function bySource(bundle: Record<string, unknown>): { total: number; sources: Map<string, number> } {
  const sources = new Map<string, number>();
  for (const entry of (bundle['entry'] as Array<{ resource?: { meta?: { source?: string } } }> | undefined) ??
    []) {
    const source = (entry.resource?.meta?.source ?? '?').replace('urn:tessera:institution:', '');
    sources.set(source, (sources.get(source) ?? 0) + 1);
  }
  return { total: typeof bundle['total'] === 'number' ? bundle['total'] : 0, sources };
}

function describe(counts: { total: number; sources: Map<string, number> }): string {
  const parts = [...counts.sources].map(([s, n]) => `${n} from ${s}`);
  return `${counts.total} document(s)${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

async function poll<T>(
  what: string,
  seconds: number,
  attempt: () => Promise<T>,
  done: (t: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last = await attempt();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
    last = await attempt();
  }
  return last;
}

/** The port the tour gives North Valley's feed (the shared demo port is 2575). */

const FEED_PORT = 2576;
const OPERATOR = 'ops-console';

/**
 * Gives North Valley its own plain MLLP port admitting only 127.0.0.1, through the gateway's admin
 * API (role platform.admin, If-Match); unchanged when a previous tour already did.
 */
async function openFeedPort(exchange: ExchangeCaller, gateway: string): Promise<Answer> {
  const url = `${gateway}/admin/institutions/${EMERGENCY.institution}`;
  const current = await exchange.call(OPERATOR, url, { headers: { accept: 'application/json' } });
  const feed = (current.json['feed'] ?? {}) as { port?: number; allowedAddresses?: string[] };
  if (
    current.status !== 200 ||
    (feed.port === FEED_PORT && (feed.allowedAddresses ?? []).includes('127.0.0.1'))
  )
    return current;
  return exchange.call(OPERATOR, url, {
    method: 'PUT',
    contentType: 'application/json',
    headers: { accept: 'application/json', 'if-match': current.etag ?? '' },
    body: { ...current.json, feed: { ...feed, port: FEED_PORT, allowedAddresses: ['127.0.0.1'] } },
  });
}

/** Sends one synthetic ADT^A04 claiming `facility` as MSH-4 on an institution's own port; reads the ACK. */
async function sendOnFeedPort(
  port: number,
  facility: string,
): Promise<{ code: string; location: string; summary: string }> {
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const control = `TOUR${Date.now().toString(36).toUpperCase()}`;
  const message = [
    `MSH|^~\\&|ADT|${facility}|TESSERA|REGION|${stamp}||ADT^A04^ADT_A01|${control}|P|2.5.1`,
    `EVN|A04|${stamp}`,
    'PID|1||TOUR-0001^^^RCC^MR||Sample^Tour||19800101|U',
    'PV1|1|O',
  ].join('\r');
  try {
    const client = await connect({ host: '127.0.0.1', port });
    try {
      const ack = readAck((await client.send(message, { timeoutMs: 15_000 })).text);
      const error = ack.errors[0];
      return {
        code: ack.code,
        location: error?.location ?? '',
        summary: `${ack.code}${error === undefined ? '' : ` ${error.code} at ${error.location}`}; kept as rejected in the ledger`,
      };
    } finally {
      client.destroy();
    }
  } catch (error) {
    return { code: '', location: '', summary: `no ACK: ${(error as Error).message}` };
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      gateway: { type: 'string' },
      'wait-s': { type: 'string' },
      institutions: { type: 'string' },
      'mllp-port': { type: 'string' },
      'skip-notifications': { type: 'boolean', default: false },
    },
  });
  const mllpPort = Number(values['mllp-port'] ?? '2575');
  const base = (values.url ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const gateway = (values.gateway ?? 'http://127.0.0.1:8081').replace(/\/+$/, '');
  const waitSeconds = Number(values['wait-s'] ?? '120');
  const institutionsFile = values.institutions ?? findInstitutionsFile(__dirname);
  // The same feed npm start sent (seed 1, 60 persons; local ids do not depend on the run tag).
  const feed = buildDemoFeed({ institutions: loadInstitutions(institutionsFile), seed: 1, persons: 60 });
  const candidates = tourCandidates(feed, HOLDER.institution, ASKER.institution);
  if (candidates.length === 0)
    throw new Error('the demo feed has no person with a St Aurelia document who also visited Riverside');
  const holderSystem = identifierSystem(institutionsFile, HOLDER.institution);
  const askerSystem = identifierSystem(institutionsFile, ASKER.institution);
  const exchange = new ExchangeCaller(base);
  const steps: Step[] = [];
  const step = (s: Step) => {
    steps.push(s);
    console.log(
      `  ${String(steps.length).padEnd(2)} ${s.ok ? 'ok  ' : 'FAIL'} ${s.what.padEnd(54)} ${s.who.padEnd(17)} ${s.purpose.padEnd(7)} ${(s.status === 0 ? '-' : String(s.status)).padEnd(4)} ${s.result}`,
    );
  };
  const documents = (
    client: string,
    patient: string,
    purpose: string,
    headers: Record<string, string> = {},
  ) =>
    exchange.call(client, `/fhir/DocumentReference?patient=${encodeURIComponent(patient)}&_count=50`, {
      purpose,
      headers,
    });

  // Follow the first person whose two records the MPI linked (PIXm from St Aurelia lists the
  // Riverside identifier) and whose St Aurelia document the registry indexed.
  const linked = async (): Promise<{ person: TourPerson; answer: Answer } | undefined> => {
    for (const candidate of candidates) {
      const pixOf = await exchange.call(
        HOLDER.client,
        `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${holderSystem}|${candidate.holder.localId}`)}`,
        { purpose: 'TREAT' },
      );
      const systems = (
        (pixOf.json['parameter'] as
          Array<{ valueIdentifier?: { system?: string; value?: string } }> | undefined) ?? []
      ).map((p) => `${p.valueIdentifier?.system ?? ''}|${p.valueIdentifier?.value ?? ''}`);
      if (!systems.includes(`${askerSystem}|${candidate.asker.localId}`)) continue;
      const answer = await documents(ASKER.client, `${askerSystem}|${candidate.asker.localId}`, 'TREAT');
      if (answer.status === 200 && (bySource(answer.json).sources.get(HOLDER.institution) ?? 0) > 0)
        return { person: candidate, answer };
    }
    return undefined;
  };
  const found = await poll(
    "the MPI's links and the registry's index",
    waitSeconds,
    linked,
    (f) => f !== undefined,
  );
  if (found === undefined) throw new Error('unreachable');
  const { person, answer: before } = found;
  const holderId = `${holderSystem}|${person.holder.localId}`;
  const askerId = `${askerSystem}|${person.asker.localId}`;
  console.log(
    `\nExchange tour at ${base}: synthetic person ${person.personId}, known at ${HOLDER.institution} and ${ASKER.institution}`,
  );
  console.log(
    `  #  ${'    '} ${'step'.padEnd(54)} ${'client'.padEnd(17)} ${'purpose'.padEnd(7)} HTTP result`,
  );
  const seenBefore = bySource(before.json);
  step({
    what: "Riverside reads the patient's documents",
    who: ASKER.client,
    purpose: 'TREAT',
    status: before.status,
    result: describe(seenBefore),
    ok: true,
  });

  const pix = await exchange.call(
    HOLDER.client,
    `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(holderId)}`,
    { purpose: 'TREAT' },
  );
  const enterpriseId = (
    (pix.json['parameter'] as Array<{ valueIdentifier?: { system?: string; value?: string } }> | undefined) ??
    []
  )
    .map((p) => p.valueIdentifier)
    .find((i) => i?.system === ENTERPRISE_ID_SYSTEM)?.value;

  const [system, value] = holderId.split('|') as [string, string];
  const created = await exchange.call(HOLDER.client, '/fhir/Consent', {
    method: 'POST',
    purpose: 'TREAT',
    body: optOutConsent(system, value, HOLDER.institution),
  });
  const consentId = typeof created.json['id'] === 'string' ? created.json['id'] : '';
  step({
    what: 'The patient opts out at St Aurelia (FHIR Consent)',
    who: HOLDER.client,
    purpose: 'TREAT',
    status: created.status,
    result: `Consent/${consentId}`,
    ok: created.status === 201,
  });

  const after = await documents(ASKER.client, askerId, 'TREAT');
  const seenAfter = bySource(after.json);
  step({
    what: 'Riverside reads them again',
    who: ASKER.client,
    purpose: 'TREAT',
    status: after.status,
    result: `${describe(seenAfter)}: only its own now`,
    ok: after.status === 200 && !seenAfter.sources.has(HOLDER.institution),
  });

  // Consent belongs to whoever recorded it: another institution holding a record of the patient
  // learns that sharing is restricted, but can neither read nor withdraw St Aurelia's directive.
  const listed = await exchange.call(ASKER.client, `/fhir/Consent?patient=${encodeURIComponent(askerId)}`, {
    purpose: 'TREAT',
  });
  const entries =
    (listed.json['entry'] as
      Array<{ resource?: { resourceType?: string }; search?: { mode?: string } }> | undefined) ?? [];
  const notices = entries.filter((e) => e.search?.mode === 'outcome').length;
  const othersShown = entries.filter((e) => e.resource?.resourceType === 'Consent').length;
  step({
    what: "Riverside lists the patient's consents",
    who: ASKER.client,
    purpose: 'TREAT',
    status: listed.status,
    result: `${othersShown} of St Aurelia's shown; ${notices} notice: sharing restricted`,
    ok: listed.status === 200 && othersShown === 0 && notices === 1,
  });
  if (consentId !== '') {
    const undo = await exchange.call(ASKER.client, `/fhir/Consent/${consentId}`, {
      method: 'PUT',
      purpose: 'TREAT',
      headers: { 'if-match': created.etag ?? 'W/"1"' },
      body: { ...optOutConsent(system, value, HOLDER.institution), id: consentId, status: 'inactive' },
    });
    step({
      what: "Riverside tries to withdraw St Aurelia's opt-out",
      who: ASKER.client,
      purpose: 'TREAT',
      status: undo.status,
      result: 'refused: only the recording institution or a privacy officer',
      ok: undo.status === 403,
    });
  }

  const glass = await documents(EMERGENCY.client, holderId, 'ETREAT', {
    'x-tessera-break-glass-reason': 'Unconscious patient in the emergency department',
  });
  const seenGlass = bySource(glass.json);
  step({
    what: 'North Valley breaks the glass (emergency, with reason)',
    who: EMERGENCY.client,
    purpose: 'ETREAT',
    status: glass.status,
    result: `${describe(seenGlass)}; audited, privacy review opened`,
    ok: glass.status === 200 && (seenGlass.sources.get(HOLDER.institution) ?? 0) > 0,
  });

  // Feeds prove who sends them: an operator gives North Valley a port of its own that admits only
  // its engine's address (here: this machine); a message there that claims another hospital's
  // sending facility is refused (AR, ERR at MSH-4) and audited as a security alert.
  const opened = await openFeedPort(exchange, gateway);
  step({
    what: "An operator opens North Valley's own MLLP port",
    who: OPERATOR,
    purpose: '-',
    status: opened.status,
    result: `:${FEED_PORT}, allowed address 127.0.0.1`,
    ok: opened.status === 200,
  });
  const spoof = await poll(
    'the new MLLP port',
    30,
    () => sendOnFeedPort(FEED_PORT, 'RIVERSIDE'),
    (a) => a.code !== '',
  );
  step({
    what: "A message on North Valley's port claims Riverside's MSH-4",
    who: `MLLP :${FEED_PORT}`,
    purpose: '-',
    status: 0,
    result: spoof.summary,
    // North Valley's feed is in enhanced mode: the refusal is a commit reject (CR), else AR.
    ok: (spoof.code === 'AR' || spoof.code === 'CR') && spoof.location.startsWith('MSH^1^4'),
  });

  const anonymous = await exchange.call(
    null,
    `/fhir/DocumentReference?patient=${encodeURIComponent(holderId)}`,
    { purpose: 'TREAT' },
  );
  step({
    what: 'Anyone without a token',
    who: '-',
    purpose: 'TREAT',
    status: anonymous.status,
    result: String((anonymous.json['resourceType'] as string | undefined) ?? ''),
    ok: anonymous.status === 401,
  });

  if (enterpriseId !== undefined) {
    const trail = await poll(
      'the audit trail',
      20,
      () =>
        exchange.call(HOLDER.client, `/fhir/AuditEvent?patient=${enterpriseId}&_count=100`, {
          purpose: 'TREAT',
        }),
      (a) => a.status !== 200 || JSON.stringify(a.json['entry'] ?? []).includes(EMERGENCY.client),
    );
    const who = new Map<string, number>();
    for (const entry of (trail.json['entry'] as Array<{ resource?: Record<string, unknown> }> | undefined) ??
      []) {
      const agent =
        (
          entry.resource?.['agent'] as
            Array<{ who?: { identifier?: { value?: string } }; requestor?: boolean }> | undefined
        )?.find((a) => a.requestor === true) ??
        (entry.resource?.['agent'] as Array<{ who?: { identifier?: { value?: string } } }> | undefined)?.[0];
      const name = agent?.who?.identifier?.value ?? '?';
      who.set(name, (who.get(name) ?? 0) + 1);
    }
    step({
      what: 'St Aurelia asks who accessed its items of the record',
      who: HOLDER.client,
      purpose: 'TREAT',
      status: trail.status,
      result: `${String(trail.json['total'])} audit events: ${[...who].map(([w, n]) => `${w} ×${n}`).join(', ')}`,
      ok: trail.status === 200,
    });
  }

  if (consentId !== '') {
    const withdrawn = await exchange.call(HOLDER.client, `/fhir/Consent/${consentId}`, {
      method: 'PUT',
      purpose: 'TREAT',
      headers: { 'if-match': created.etag ?? 'W/"1"' },
      body: { ...optOutConsent(system, value, HOLDER.institution), id: consentId, status: 'inactive' },
    });
    step({
      what: 'The opt-out is withdrawn (so the tour can run again)',
      who: HOLDER.client,
      purpose: 'TREAT',
      status: withdrawn.status,
      result: 'Consent inactive',
      ok: withdrawn.status === 200,
    });
  }

  // After the withdrawal: while the patient opted out, Riverside is (rightly) told nothing of St Aurelia's visits.
  const admitting = loadInstitutions(institutionsFile).find((i) => i.id === HOLDER.institution);
  if (admitting !== undefined && values['skip-notifications'] !== true)
    await notificationTour({
      call: (client, path, init) => exchange.call(client, path, init),
      step,
      subscriber: { client: ASKER.client, patient: { system: askerSystem, value: person.asker.localId } },
      admitting: { institution: admitting, localId: person.holder.localId },
      mllp: { host: '127.0.0.1', port: mllpPort },
      waitSeconds: 60,
    });

  const failed = steps.filter((s) => !s.ok).length;
  console.log(
    failed === 0 ? '\nEvery step answered as expected.' : `\n${failed} step(s) did not answer as expected.`,
  );
  return failed === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`demo-exchange: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
