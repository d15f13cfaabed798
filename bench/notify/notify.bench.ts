import os from 'node:os';
import { parseArgs } from 'node:util';
import { findInstitutionsFile, loadInstitutions } from '../../tools/demo-feed/institutions.loader';
import { ExchangeCaller } from '../../tools/exchange-client/exchange-caller';
import { subscriptionOf } from '../../tools/exchange-client/subscriptions';
import { WebhookReceiver } from '../../tools/exchange-client/webhook-receiver';
import { table } from '../../tools/report/text-report';
import { runLoad } from '../gateway/load.runner';
import { intArg } from '../bench-support';

/*
 * Notification benchmark against the running platform (`npm start`: every service as it runs there):
 *   npm run bench -- notify [--url http://127.0.0.1:8080] [--mllp-port 2575] [--roster 100000]
 *                           [--persons 2000] [--rate 500] [--duration 20] [--connections 8] [--drain-s 180]
 *
 * 1. Riverside uploads a roster of `--roster` identifiers (CSV): `--persons` St Aurelia patients the
 *    run admits, the rest Riverside MRNs nobody sends (members that never resolve, as on a payer's list).
 * 2. St Aurelia registers the persons (ADT^A04) and the run waits until the MPI has linked them all.
 * 3. Riverside subscribes to admissions (full-resource, so each notification names its visit).
 * 4. St Aurelia's feed sends ADT^A01 at `--rate` messages/s for `--duration` s over MLLP, each a new
 *    visit of one of the persons; the ACK time of each is kept.
 * 5. Until every accepted admission was notified (or `--drain-s` passes without progress): the
 *    latency from the inbound ACK to the webhook's receipt, per visit, and how many arrived, twice or never.
 */

const ST_AURELIA = 'st-aurelia';
const RIVERSIDE_CLIENT = 'riverside-ehr';

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

function stamp(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      'mllp-port': { type: 'string' },
      roster: { type: 'string' },
      persons: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      'drain-s': { type: 'string' },
    },
  });
  const base = (values.url ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const mllpPort = intArg(values['mllp-port'], 'mllp-port', 2575, 1, 65535);
  const rosterSize = intArg(values.roster, 'roster', 100_000, 1, 400_000);
  const persons = intArg(values.persons, 'persons', 2_000, 1, Math.min(rosterSize, 50_000));
  const rate = intArg(values.rate, 'rate', 500, 1, 5_000);
  const durationS = intArg(values.duration, 'duration', 20, 1, 300);
  const connections = intArg(values.connections, 'connections', 8, 1, 64);
  const drainS = intArg(values['drain-s'], 'drain-s', 180, 10, 1800);

  const institutions = loadInstitutions(findInstitutionsFile(__dirname));
  const sta = institutions.find((i) => i.id === ST_AURELIA);
  if (sta === undefined) throw new Error('the demo region has no St Aurelia');
  const facility = sta.sendingFacilities[0] ?? 'STAURELIA';
  const staSystem = 'urn:oid:2.16.840.1.113883.3.9999.1.1';
  const rccSystem = 'urn:oid:2.16.840.1.113883.3.9999.2.1';
  const run = Date.now().toString(36).toUpperCase();
  const mrn = (i: number) => `NB${run}-${i}`;
  const exchange = new ExchangeCaller(base);

  // 1. The roster.
  const rows = ['system,value'];
  for (let i = 0; i < persons; i++) rows.push(`${staSystem},${mrn(i)}`);
  for (let i = persons; i < rosterSize; i++) rows.push(`${rccSystem},RB${run}-${i}`);
  const started = Date.now();
  const roster = await exchange.call(RIVERSIDE_CLIENT, '/fhir/Group', {
    method: 'POST',
    rawBody: `${rows.join('\r\n')}\r\n`,
    contentType: 'text/csv',
  });
  const group =
    (roster.json['parameter'] as { name?: string; valueReference?: { reference?: string } }[] | undefined) ??
    [];
  const rosterId = (group.find((p) => p.name === 'group')?.valueReference?.reference ?? '').replace(
    'Group/',
    '',
  );
  if (roster.status !== 201 || rosterId === '')
    throw new Error(`roster upload refused: HTTP ${roster.status}`);
  const uploadMs = Date.now() - started;
  console.log(`roster of ${rosterSize} members uploaded in ${uploadMs} ms (Group/${rosterId})`);

  // 2. Register the persons and wait for the MPI to link them (the roster's resolved count).
  const family = (i: number) => `Benchmark${String.fromCharCode(65 + (i % 26))}${i.toString(36)}`;
  const person = (i: number) =>
    `PID|1||${mrn(i)}^^^${sta.assigningAuthority}^MR||${family(i)}^Notify^^^^^L||19${String(40 + (i % 60)).padStart(2, '0')}0${1 + (i % 9)}1${i % 9}|${i % 2 === 0 ? 'F' : 'M'}`;
  const registration = await runLoad({
    host: '127.0.0.1',
    port: mllpPort,
    mode: 'max',
    connections,
    window: 16,
    rate: 0,
    durationMs: 600_000,
    maxMessages: persons,
    timeoutMs: 30_000,
    messageFor: (n) => ({
      text: [
        `MSH|^~\\&|ADT|${facility}|TESSERA|REGION|${stamp(new Date())}||ADT^A04^ADT_A01|NBR${run}-${n}|P|2.5.1`,
        `EVN|A04|${stamp(new Date())}`,
        person(n),
        'PV1|1|O',
      ].join('\r'),
      charset: 'UNICODE UTF-8',
    }),
  });
  console.log(
    `registered ${registration.acked} persons (${JSON.stringify(registration.ackCodes)}); waiting for the MPI …`,
  );
  const resolvedNow = async (): Promise<number> => {
    const list = await exchange.call(RIVERSIDE_CLIENT, '/fhir/Group');
    const entry = (
      (list.json['entry'] as
        | {
            resource?: {
              id?: string;
              extension?: { extension?: { url: string; valueInteger?: number }[] }[];
            };
          }[]
        | undefined) ?? []
    ).find((e) => e.resource?.id === rosterId);
    return entry?.resource?.extension?.[0]?.extension?.find((x) => x.url === 'resolved')?.valueInteger ?? 0;
  };
  for (let last = -1, stalled = 0; ;) {
    const resolved = await resolvedNow();
    if (resolved >= persons) break;
    stalled = resolved === last ? stalled + 1 : 0;
    last = resolved;
    if (stalled > 60) throw new Error(`the MPI linked only ${resolved} of ${persons} persons`);
    await new Promise((r) => setTimeout(r, 2_000));
  }

  // 3. Subscribe with a webhook that keeps each receipt.
  const webhook = new WebhookReceiver();
  const hook = await webhook.start();
  const created = await exchange.call(RIVERSIDE_CLIENT, '/fhir/Subscription', {
    method: 'POST',
    body: subscriptionOf({
      topic: 'admission',
      roster: rosterId,
      endpoint: `${hook}/bench`,
      payload: 'full-resource',
    }),
  });
  const subscriptionId = typeof created.json['id'] === 'string' ? created.json['id'] : '';
  if (created.status !== 201) throw new Error(`subscription refused: HTTP ${created.status}`);
  webhook.trust(subscriptionId, created.headers.get('x-tessera-webhook-secret') ?? '');
  await webhook.until(() => webhook.received.some((r) => r.type === 'handshake'), 60_000, 'the handshake');

  // 4. Admissions at the offered rate.
  const ackAt = new Map<string, number>();
  const visit = (n: number) => `NBV${run}-${n}`;
  const load = await runLoad({
    host: '127.0.0.1',
    port: mllpPort,
    mode: 'rate',
    connections,
    window: 1,
    rate,
    durationMs: durationS * 1000,
    maxMessages: rate * durationS,
    timeoutMs: 30_000,
    messageFor: (n) => {
      const at = stamp(new Date());
      const pv1 = new Array<string>(45).fill('');
      pv1[0] = 'PV1';
      pv1[1] = '1';
      pv1[2] = 'I';
      pv1[3] = `WARD${n % 9}^${n % 40}^1^${facility}`;
      pv1[19] = `${visit(n)}^^^${sta.assigningAuthority}^VN`;
      pv1[44] = at;
      return {
        text: [
          `MSH|^~\\&|ADT|${facility}|TESSERA|REGION|${at}||ADT^A01^ADT_A01|NBA${run}-${n}|P|2.5.1`,
          `EVN|A01|${at}`,
          `PID|1||${mrn(n % persons)}^^^${sta.assigningAuthority}^MR`,
          pv1.join('|'),
        ].join('\r'),
        charset: 'UNICODE UTF-8',
      };
    },
    onAck: (n, code, at) => {
      if (code === 'AA' || code === 'CA') ackAt.set(visit(n), at);
    },
  });

  // 5. Drain: until every accepted admission is notified, or no progress for --drain-s.
  const visitOf = (bundle: {
    entry?: readonly { resource?: Record<string, unknown> }[];
  }): string | undefined => {
    const encounter = bundle.entry?.find((e) => e.resource?.['resourceType'] === 'Encounter')?.resource as
      { identifier?: { value?: string }[] } | undefined;
    return encounter?.identifier?.find((i) => i.value?.startsWith(`NBV${run}-`) === true)?.value;
  };
  const arrivals = () => webhook.events(subscriptionId);
  for (let last = -1, since = Date.now(); ;) {
    const seen = new Set(arrivals().map((r) => visitOf(r.bundle)));
    if ([...ackAt.keys()].every((v) => seen.has(v))) break;
    if (seen.size !== last) {
      last = seen.size;
      since = Date.now();
    }
    if (Date.now() - since > drainS * 1000) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const received = arrivals();
  const latencies: number[] = [];
  const firstReceipt = new Map<string, number>();
  const ids = new Map<string, Set<string>>();
  for (const r of received) {
    const v = visitOf(r.bundle);
    if (v === undefined) continue;
    if (!firstReceipt.has(v)) firstReceipt.set(v, r.at);
    ids.set(v, (ids.get(v) ?? new Set()).add(r.notificationId));
  }
  for (const [v, at] of firstReceipt) {
    const acked = ackAt.get(v);
    if (acked !== undefined) latencies.push(at - acked);
  }
  latencies.sort((a, b) => a - b);
  const lost = [...ackAt.keys()].filter((v) => !firstReceipt.has(v)).length;
  const redelivered = received.length - firstReceipt.size;
  const twoIds = [...ids.values()].filter((s) => s.size > 1).length;
  const badSignatures = received.filter((r) => !r.signature.ok).length;
  const firstAck = Math.min(...ackAt.values());
  const lastReceipt = Math.max(...firstReceipt.values());
  const spanS = (lastReceipt - firstAck) / 1000;

  await exchange.call(RIVERSIDE_CLIENT, `/fhir/Subscription/${subscriptionId}`, {
    method: 'PUT',
    body: { resourceType: 'Subscription', id: subscriptionId, status: 'off' },
  });
  await webhook.stop();

  console.log(
    `\nNotification benchmark (${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, every service running)`,
  );
  console.log(
    table(
      ['measure', 'value'],
      [
        ['roster members (resolved / not)', `${rosterSize} (${persons} / ${rosterSize - persons})`],
        ['roster CSV upload', `${uploadMs} ms`],
        ['offered ADT^A01 rate', `${rate}/s for ${durationS} s over ${connections} connections`],
        ['sent / accepted (AA)', `${load.sent} / ${ackAt.size}`],
        [
          'inbound ACK latency p50 / p99',
          `${load.latency?.p50.toFixed(1) ?? '-'} / ${load.latency?.p99.toFixed(1) ?? '-'} ms`,
        ],
        ['notifications received (distinct visits)', `${firstReceipt.size}`],
        ['lost (accepted, never notified)', `${lost}`],
        ['redelivered (same id again) / under two ids', `${redelivered} / ${twoIds}`],
        ['signatures not verified', `${badSignatures}`],
        [
          'delivered per second (first ACK → last receipt)',
          `${(firstReceipt.size / Math.max(spanS, 0.001)).toFixed(1)}`,
        ],
        [
          'ACK → webhook receipt p50 / p95 / p99 / max',
          `${percentile(latencies, 50)} / ${percentile(latencies, 95)} / ${percentile(latencies, 99)} / ${latencies.at(-1) ?? '-'} ms`,
        ],
      ],
    ),
  );
  return lost === 0 && twoIds === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`notify bench: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
