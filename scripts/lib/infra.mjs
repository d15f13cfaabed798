// Local infrastructure for `npm start` and `npm test`: Postgres and Redis on 127.0.0.1 (started
// with the machine's own commands if they are down) and the project's Kafka broker
// (deploy/kafka/kafka.sh, KRaft, 127.0.0.1:9092).
import { execSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { run } from './proc.mjs';

export function portOpen(port, host = '127.0.0.1', timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitForPort(port, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what} did not open 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}

export async function ensurePostgres(log = console.log) {
  if (await portOpen(5432)) return log('infra: postgres  up   127.0.0.1:5432');
  log('infra: postgres is down; starting it (pg_ctlcluster … main start)');
  const version = readdirSync('/etc/postgresql')[0];
  execSync(`pg_ctlcluster --skip-systemctl-redirect ${version} main start`, { stdio: 'inherit' });
  await waitForPort(5432, 'Postgres');
  log('infra: postgres  up   127.0.0.1:5432');
}

export async function ensureRedis(log = console.log) {
  if (await portOpen(6379)) return log('infra: redis     up   127.0.0.1:6379');
  log('infra: redis is down; starting it (redis-server --daemonize yes …)');
  execSync(
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
    { stdio: 'inherit' },
  );
  await waitForPort(6379, 'Redis');
  log('infra: redis     up   127.0.0.1:6379');
}

/** Starts the project's broker unless it runs already; resolves to true when this call started it. */
export async function ensureKafka(log = console.log) {
  const running = await run('bash', ['deploy/kafka/kafka.sh', 'status'], { quiet: true }).then(
    () => true,
    () => false,
  );
  if (running) {
    log('infra: kafka     up   127.0.0.1:9092  (already running)');
    return false;
  }
  await run('bash', ['deploy/kafka/kafka.sh', 'start'], { quiet: true }).then(
    (out) => log(`infra: kafka     up   127.0.0.1:9092  (${out.trim().split('\n').at(-1)})`),
    (error) => {
      throw new Error(`Kafka did not start: ${error.message}`);
    },
  );
  return true;
}

/** Resolves to what this call started, so the caller stops only that. */
export async function ensureInfrastructure(log = console.log) {
  await ensurePostgres(log);
  await ensureRedis(log);
  return { kafkaStarted: await ensureKafka(log) };
}
