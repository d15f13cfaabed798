import { parseArgs } from 'node:util';
import { buildDemoFeed } from './demo-feed.builder';
import { sendFeed } from './demo-feed.sender';
import { formatSummary, summarizeFeed } from './feed-summary.formatter';
import { findInstitutionsFile, loadInstitutions } from './institutions.loader';

/*
 * The demo regional feed, end to end: builds the seeded feed, sends it to the gateway over MLLP
 * (one connection per institution) and prints what came back.
 *
 *   npm run build
 *   node dist/tools/demo-feed/demo-feed.js --host 127.0.0.1 --port 2575 [--seed N] [--persons N]
 *       [--window N] [--timeout-ms N] [--run-tag TAG] [--institutions FILE] [--dry-run]
 *
 * Exit code 0 when every ACK was the expected one, 1 otherwise, 2 on bad arguments.
 */

/**
 * Where to look next. Every API but the exchange's discovery documents needs a token: the demo
 * region's clients and keys are in deploy/demo-region, and tools/exchange-client gets tokens.
 */
export const GATEWAY_HTTP_URL = 'http://127.0.0.1:8081';
export const GATEWAY_LEDGER_URL = `${GATEWAY_HTTP_URL}/ledger/messages`;
const CLIENT = 'node dist/tools/exchange-client/exchange-client.js';
export const WHERE_TO_LOOK: readonly (readonly [string, string])[] = [
  ['Exchange FHIR base (CapabilityStatement)', 'http://127.0.0.1:8080/fhir/metadata'],
  ['Exchange API documentation', 'http://127.0.0.1:8080/docs'],
  ['PDQm through the exchange', `${CLIENT} get '/fhir/Patient?gender=female&_count=5' --client riverside-ehr --purpose TREAT`],
  ['Gateway message ledger (operator token)', `${CLIENT} get /ledger/messages --client ops-console --api ${GATEWAY_HTTP_URL}`],
  ['Health and metrics', 'http://127.0.0.1:<8080-8084>/health, /metrics'],
  ['Service logs', '.tessera/logs/<service>.log'],
  ['Raw messages topic (Kafka)', 'hie.inbound.hl7v2 @ 127.0.0.1:9092'],
];

function intArg(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be an integer >= ${min} (got "${value}")`);
  return n;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let options;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '2575' },
        seed: { type: 'string' },
        persons: { type: 'string' },
        window: { type: 'string' },
        'timeout-ms': { type: 'string' },
        'run-tag': { type: 'string' },
        institutions: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(
        'usage: node dist/tools/demo-feed/demo-feed.js [--host 127.0.0.1] [--port 2575] [--seed 1] [--persons 60]\n' +
          '       [--window 1] [--timeout-ms 30000] [--run-tag TAG] [--institutions FILE] [--dry-run]',
      );
      return 0;
    }
    options = {
      host: values.host,
      port: intArg(values.port, 'port', 2575, 1),
      seed: intArg(values.seed, 'seed', 1, 0),
      persons: intArg(values.persons, 'persons', 60, 4),
      window: intArg(values.window, 'window', 1, 1),
      timeoutMs: intArg(values['timeout-ms'], 'timeout-ms', 30_000, 1),
      // Distinct per run by default so a second run is not answered as duplicates of the first.
      runTag: values['run-tag'] ?? Date.now().toString(36).toUpperCase(),
      institutionsFile: values.institutions ?? findInstitutionsFile(__dirname),
      dryRun: values['dry-run'],
    };
  } catch (error) {
    console.error(`demo-feed: ${(error as Error).message}`);
    return 2;
  }

  const institutions = loadInstitutions(options.institutionsFile);
  const feed = buildDemoFeed({
    institutions,
    seed: options.seed,
    persons: options.persons,
    runTag: options.runTag,
  });
  const perInstitution = new Set(feed.map((m) => m.institution)).size;
  console.log(
    `demo-feed: ${feed.length} messages (seed ${options.seed}, ${options.persons} persons, run ${options.runTag}) ` +
      `${options.dryRun ? 'built (dry run)' : `→ mllp://${options.host}:${options.port} on ${perInstitution} connections, window ${options.window}`}\n`,
  );
  if (options.dryRun) {
    for (const m of feed)
      console.log(
        `${m.institution.padEnd(15)} ${m.messageType.padEnd(8)} ${m.controlId.padEnd(28)} expect ${m.expectedAck}${m.note ? `  (${m.note})` : ''}`,
      );
    return 0;
  }

  const started = Date.now();
  const results = await sendFeed(feed, {
    host: options.host,
    port: options.port,
    window: options.window,
    timeoutMs: options.timeoutMs,
  });
  const summary = summarizeFeed(results);
  console.log(formatSummary(summary, WHERE_TO_LOOK));
  console.log(`Sent in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return summary.unexpected.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`demo-feed failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
