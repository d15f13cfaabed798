// `npm start`: builds, brings up Postgres/Redis/Kafka, creates topics, starts every service,
// waits for their health, (runs the demo regional feed,) prints where to look, and stays in the
// foreground. Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { build } from './build.mjs';
import { ensureInfrastructure } from './lib/infra.mjs';
import { run } from './lib/proc.mjs';
import { SERVICES, serviceCommand, waitHealthy } from './lib/services.mjs';

const LOG_DIR = '.tessera/logs';
const children = new Map();
let stopping = false;
let kafkaStarted = false;

async function main() {
  console.log('Tessera: starting the regional exchange\n');
  await build();
  ({ kafkaStarted } = await ensureInfrastructure());
  process.stdout.write(await run('node', ['dist/tools/platform/init.js'], { quiet: true }));

  mkdirSync(LOG_DIR, { recursive: true });
  for (const service of SERVICES) {
    const logFile = `${LOG_DIR}/${service.name}.log`;
    const out = createWriteStream(logFile, { flags: 'a' });
    const child = spawn('node', serviceCommand(service.name), {
      env: { ...(service.env ?? {}), ...process.env, HTTP_PORT: String(service.port), DB_NAME: service.database },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    children.set(service.name, { child, service, logFile, exited: false });
    child.on('exit', (code, signal) => {
      children.get(service.name).exited = true;
      if (!stopping) console.error(`\n${service.name} exited (${code ?? signal}); see ${logFile}`);
    });
  }

  const results = await Promise.allSettled(
    SERVICES.map((s) =>
      waitHealthy(`http://127.0.0.1:${s.port}`, 120_000, () => !children.get(s.name).exited),
    ),
  );

  console.log('\nService              URL                     Health   Log');
  console.log('-------------------  ----------------------  -------  ------------------------------');
  results.forEach((result, i) => {
    const s = SERVICES[i];
    const health = result.status === 'fulfilled' ? 'ok' : 'DOWN';
    console.log(
      `${s.name.padEnd(19)}  ${`http://127.0.0.1:${s.port}`.padEnd(22)}  ${health.padEnd(7)}  ${LOG_DIR}/${s.name}.log`,
    );
    if (result.status === 'rejected') console.log(`    ${result.reason.message}`);
  });
  if (results.every((r) => r.status === 'fulfilled')) {
    console.log('\nSending the demo regional feed over MLLP (127.0.0.1:2575) …\n');
    // A new run tag each start: the feed is new traffic, not a resend the gateway would deduplicate.
    await run('node', ['dist/tools/demo-feed/demo-feed.js', '--host', '127.0.0.1', '--port', '2575', '--run-tag', Date.now().toString(36)]).catch(
      (error) => console.error(`demo feed: ${error.message}`),
    );
    console.log('\nA tour of the exchange API (tokens, consent, break-the-glass, audit) …');
    await run('node', ['dist/tools/demo-exchange/demo-exchange.js', '--url', 'http://127.0.0.1:8080']).catch((error) =>
      console.error(`exchange tour: ${error.message}`),
    );
  }
  console.log('\nKafka 127.0.0.1:9092 (log: ~/.cache/tessera/kafka-state/kafka.log), Postgres 127.0.0.1:5432, Redis 127.0.0.1:6379');
  console.log('Each service: /health (dependencies), /metrics (Prometheus).');
  if (results.some((r) => r.status === 'rejected')) {
    console.error('\nSome services did not become healthy; stopping.');
    await stop(1);
    return;
  }
  console.log(`\nRunning. Press Ctrl-C to stop every service${kafkaStarted ? ' and the Kafka broker this started' : ''}.`);
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping services …');
  await Promise.all(
    [...children.values()].map(
      ({ child, exited }) =>
        new Promise((resolve) => {
          if (exited) return resolve();
          child.once('exit', resolve);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 40_000).unref();
        }),
    ),
  );
  if (kafkaStarted) {
    await run('bash', ['deploy/kafka/kafka.sh', 'stop'], { quiet: true }).catch((e) => console.error(e.message));
  }
  console.log('stopped.');
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
main().catch(async (error) => {
  console.error(`\nnpm start failed: ${error.message}`);
  await stop(1);
});
