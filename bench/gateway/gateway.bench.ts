import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildDemoFeed } from '../../tools/demo-feed/demo-feed.builder';
import { findInstitutionsFile, loadInstitutions } from '../../tools/demo-feed/institutions.loader';
import { table } from '../../tools/report/text-report';
import { runLoad } from './load.runner';
import type { LoadMessage, LoadMode, LoadResult } from './load.runner';
import { freePort, intArg, startBenchProcess } from '../bench-support';
import type { BenchProcess } from '../bench-support';

/*
 * Gateway MLLP benchmark: `npm run bench -- gateway [options]` (scripts/bench.mjs runs this file from dist/).
 *
 *   --host 127.0.0.1 --port 2575   the running gateway's MLLP listener (`npm start`); loopback only
 *   --start                        start a gateway (compiled, own process, free ports) for the run
 *   --mode both|max|rate           A: max throughput, B: fixed offered rate (default both)
 *   --connections 8                MLLP connections
 *   --window 16                    max mode: messages in flight per connection
 *   --rate 1000                    rate mode: offered messages/s over all connections
 *   --duration 20                  seconds per mode (at most 300)
 *   --messages N                   message budget per mode (default 200000, at most 1000000)
 *   --timeout-ms 30000             ACK timeout per message
 *   --gateway-pid PID              gateway process for RSS (default: owner of the MLLP port, from `ss -ltnp`)
 *
 * Messages are the demo feed's well-formed messages (ADT/ORU/MDM from the four demo institutions, in
 * their charsets), each sent with its own MSH-10 so the gateway's dedupe does not short-circuit them.
 */

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1|\[::1\])$/;
const MAX_DURATION_S = 300;
const MAX_MESSAGES = 1_000_000;
const GATEWAY_MAIN = 'dist/apps/interop-gateway/src/main.js';

interface BenchOptions {
  readonly host: string;
  readonly port: number;
  readonly start: boolean;
  readonly modes: readonly LoadMode[];
  readonly connections: number;
  readonly window: number;
  readonly rate: number;
  readonly durationS: number;
  readonly messages: number;
  readonly timeoutMs: number;
  readonly gatewayPid: number | undefined;
  readonly argv: readonly string[];
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      start: { type: 'boolean', default: false },
      mode: { type: 'string', default: 'both' },
      connections: { type: 'string' },
      window: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      messages: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'gateway-pid': { type: 'string' },
    },
  });
  if (!LOOPBACK.test(values.host))
    throw new Error(`--host must be a loopback address (127.0.0.0/8, localhost, ::1); got "${values.host}"`);
  const mode = values.mode;
  if (mode !== 'both' && mode !== 'max' && mode !== 'rate')
    throw new Error('--mode must be both, max or rate');
  return {
    host: values.host,
    port: intArg(values.port, 'port', 2575, 1, 65_535),
    start: values.start,
    modes: mode === 'both' ? ['max', 'rate'] : [mode],
    connections: intArg(values.connections, 'connections', 8, 1, 256),
    window: intArg(values.window, 'window', 16, 1, 1000),
    rate: intArg(values.rate, 'rate', 1000, 1, 100_000),
    durationS: intArg(values.duration, 'duration', 20, 1, MAX_DURATION_S),
    messages: intArg(values.messages, 'messages', 200_000, 1, MAX_MESSAGES),
    timeoutMs: intArg(values['timeout-ms'], 'timeout-ms', 30_000, 100, 300_000),
    gatewayPid:
      values['gateway-pid'] === undefined
        ? undefined
        : intArg(values['gateway-pid'], 'gateway-pid', 0, 1, 2 ** 22),
    argv,
  };
}

// ------------------------------------------------------------------------------------------------
// Messages

interface Template {
  readonly before: string;
  readonly after: string;
  readonly charset: string;
}

/** Well-formed demo-feed messages split around MSH-10, so each send gets a unique control id cheaply. */
function messageTemplates(): Template[] {
  const institutions = loadInstitutions(findInstitutionsFile(__dirname));
  const feed = buildDemoFeed({ institutions, seed: 7, persons: 30 }).filter(
    (m) => m.expectedAck === 'AA' || m.expectedAck === 'CA',
  );
  return feed.map((m) => {
    const at = m.hl7.indexOf(`|${m.controlId}|`);
    return {
      before: m.hl7.slice(0, at + 1),
      after: m.hl7.slice(at + 1 + m.controlId.length),
      charset: m.charset,
    };
  });
}

function messageSource(runTag: string): (n: number) => LoadMessage {
  const templates = messageTemplates();
  return (n) => {
    const t = templates[n % templates.length];
    return { text: `${t.before}B${runTag}${n.toString(36).toUpperCase()}${t.after}`, charset: t.charset };
  };
}

// ------------------------------------------------------------------------------------------------
// Machine and gateway process

export function machineInfo(): { cpu: string; cores: number; memoryGiB: number; os: string; node: string } {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line !== undefined) cpu = line.split(':')[1].trim();
  } catch {
    // not Linux: os.cpus() model
  }
  return {
    cpu,
    cores: os.cpus().length,
    memoryGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

/** VmRSS / VmHWM of a process in MiB, from /proc/<pid>/status; undefined when unreadable. */
export function processMemory(pid: number): { rssMiB: number; peakMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** The pid listening on the TCP port, from `ss -ltnp` (same user or root); undefined when unknown. */
export function pidListeningOn(port: number): number | undefined {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8', timeout: 5_000 });
    const match = /pid=(\d+)/.exec(out);
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

interface StartedGateway extends BenchProcess {
  readonly mllpPort: number;
  readonly httpPort: number;
}

/** Starts the compiled gateway as `npm start` does (own process, free ports) and waits for /health. */
async function startGateway(): Promise<StartedGateway> {
  // The workspace root: the first directory upwards holding the compiled gateway.
  let root = __dirname;
  while (!existsSync(path.join(root, GATEWAY_MAIN)) && path.dirname(root) !== root) root = path.dirname(root);
  const main = path.join(root, GATEWAY_MAIN);
  if (!existsSync(main)) throw new Error(`${GATEWAY_MAIN} is missing: run \`npm run build\` first`);
  const [httpPort, mllpPort] = [await freePort(), await freePort()];
  const started = await startBenchProcess(
    'the gateway',
    ['--import', './dist/apps/interop-gateway/src/instrumentation.js', main],
    { MLLP_PORT: String(mllpPort) },
    httpPort,
    root,
  );
  return { ...started, httpPort, mllpPort };
}

// ------------------------------------------------------------------------------------------------
// Report

const f1 = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(1));

interface ModeReport {
  readonly label: string;
  readonly result: LoadResult;
  readonly rssAfterMiB: number | undefined;
  readonly rssPeakMiB: number | undefined;
}

export function formatReport(reports: readonly ModeReport[]): string {
  const rows = reports.map(({ label, result: r, rssAfterMiB, rssPeakMiB }) => [
    label,
    r.offeredRate === undefined ? '-' : `${r.offeredRate}/s`,
    String(r.sent),
    String(r.acked),
    String(r.failed),
    f1(r.throughput),
    f1(r.latency?.p50),
    f1(r.latency?.p95),
    f1(r.latency?.p99),
    f1(r.latency?.max),
    Object.entries(r.ackCodes)
      .sort()
      .map(([c, n]) => `${c}=${n}`)
      .join(' ') || '-',
    `${f1(rssAfterMiB)} / ${f1(rssPeakMiB)}`,
  ]);
  const out = [
    table(
      [
        'mode',
        'offered',
        'sent',
        'acked',
        'failed',
        'msgs/s',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'max ms',
        'ACK codes',
        'gateway RSS MiB (end / max sampled)',
      ],
      rows,
    ),
  ];
  for (const { label, result } of reports) {
    const failures = Object.entries(result.failures);
    if (failures.length > 0)
      out.push(`${label} failures: ${failures.map(([why, n]) => `${n}× ${why}`).join('; ')}`);
  }
  return out.join('\n');
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv);
  } catch (error) {
    console.error(`bench gateway: ${(error as Error).message}`);
    return 2;
  }
  const machine = machineInfo();
  const started = options.start ? await startGateway() : undefined;
  try {
    const port = started?.mllpPort ?? options.port;
    const pid = started?.pid ?? options.gatewayPid ?? pidListeningOn(port);
    const runTag = Date.now().toString(36).toUpperCase();
    const messageFor = messageSource(runTag);

    console.log(
      `Tessera gateway benchmark: mllp://${options.host}:${port}, ${options.connections} connections, ${options.durationS} s per mode`,
    );
    console.log(
      `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB RAM, ${machine.os}, Node ${machine.node}`,
    );
    const before = pid === undefined ? undefined : processMemory(pid);
    console.log(
      pid === undefined
        ? 'Gateway process: unknown (pass --gateway-pid to report its RSS)'
        : `Gateway process: pid ${pid}${options.start ? ' (started for this run)' : ''}, RSS before ${f1(before?.rssMiB)} MiB`,
    );
    console.log('');

    const reports: ModeReport[] = [];
    for (const mode of options.modes) {
      let peak = before?.rssMiB;
      const sample = (): void => {
        const m = pid === undefined ? undefined : processMemory(pid);
        if (m !== undefined && (peak === undefined || m.rssMiB > peak)) peak = m.rssMiB;
      };
      const label = mode === 'max' ? `A max (window ${options.window})` : `B rate ${options.rate}/s`;
      process.stdout.write(`running ${label} …`);
      const result = await runLoad({
        host: options.host,
        port,
        mode,
        connections: options.connections,
        durationMs: options.durationS * 1000,
        maxMessages: options.messages,
        window: options.window,
        rate: options.rate,
        timeoutMs: options.timeoutMs,
        messageFor: (n) => messageFor(reports.length * MAX_MESSAGES + n),
        onTick: sample,
      });
      sample();
      process.stdout.write(` ${result.acked} ACKs in ${(result.elapsedMs / 1000).toFixed(1)} s\n`);
      reports.push({
        label,
        result,
        rssAfterMiB: pid === undefined ? undefined : processMemory(pid)?.rssMiB,
        rssPeakMiB: peak,
      });
    }
    console.log('');
    console.log(formatReport(reports));
    console.log('');
    console.log('Latency: from the moment a message was due (rate mode) or written (max mode) to its ACK.');
    console.log(`Reproduce: npm run bench -- gateway ${options.argv.join(' ')}`.trimEnd());
    const failed = reports.some((r) => r.result.failed > 0 || r.result.acked === 0);
    return failed ? 1 : 0;
  } finally {
    await started?.stop();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`bench gateway failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
