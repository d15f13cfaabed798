// `npm run compose:check`: docker-compose.yml brought up for real with Podman and exercised end to
// end, then torn down. Not part of `npm test`: it builds ten images (about 8 minutes from nothing on
// two cores, 3 with the images cached) and would double what CI's run of `npm test` costs.
//
//   1. installs podman, podman-compose, buildah, runc and debootstrap from Debian when missing;
//   2. builds the base images locally (no registry reachable): a debootstrap'ed Debian bookworm
//      (minbase) imported with `podman import`, Node.js on top of it (the pinned runtime of
//      package.json `tessera.node`), then Kafka, Postgres and Redis on that Debian;
//   3. builds the service images with the root Dockerfile (build arg NODE_IMAGE = the local base);
//   4. brings docker-compose.yml + deploy/containers/compose.podman.yml up one dependency level at a
//      time, waiting for each service's own healthcheck (podman-compose runs none) or for init's exit 0;
//   5. sends the demo regional feed into the containers' MLLP port and runs the exchange tour against
//      the containers' FHIR base, and reads the services' Prometheus metrics;
//   6. tears everything down, network and volumes included (also on failure).
//
//   npm run compose:check                     # all of the above
//   npm run compose:check -- --keep           # leave the containers running (then: -- down)
//   npm run compose:check -- install|images|up|exercise|down
//
// Host ports (the local platform owns 5432, 6379, 9092, 2575 and 8080-8084): TESSERA_PORT_OFFSET
// (default 10000) is added to every published port, so the exchange answers on 127.0.0.1:18080.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { run } from './lib/proc.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CONTAINERS = join(ROOT, 'deploy/containers');
const WORK = join(ROOT, '.tessera/containers');
const PROJECT = 'tessera-check';
const OFFSET = Number(process.env.TESSERA_PORT_OFFSET ?? 10000);
const DEBIAN_IMAGE = 'localhost/tessera/debian:bookworm';
const pin = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).tessera.node;
const NODE_IMAGE = `localhost/tessera/node:${pin.version}-bookworm`;

/** Podman and Buildah read this instead of /etc/containers/containers.conf (runc, cgroupfs, ulimits). */
const env = {
  ...process.env,
  CONTAINERS_CONF: join(CONTAINERS, 'containers.conf'),
  COMPOSE_PROJECT_NAME: PROJECT,
  TESSERA_PORT_OFFSET: String(OFFSET),
  // The tour calls the exchange by its compose name (see exercise()); client assertions name it as `aud`.
  EXCHANGE_PUBLIC_BASE_URL: 'http://exchange:8080',
  // The gateway's MLLP listeners on the container's loopback: see exercise().
  MLLP_HOST: '127.0.0.1',
  NODE_IMAGE,
  BASE_IMAGE: DEBIAN_IMAGE,
};
const log = (line) => console.log(`compose:check: ${line}`);
/** Image builds and containers share two cores with everything else: below normal priority. */
const nice = (command, args, options = {}) =>
  run('nice', ['-n', '10', command, ...args], { env, ...options });

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

// ------------------------------------------------------------------ 1. tools
async function install() {
  const missing = ['podman', 'podman-compose', 'buildah', 'runc', 'debootstrap'].filter((c) => !has(c));
  if (missing.length === 0) return log('podman, podman-compose, buildah, runc, debootstrap present');
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(', ')}: install them (root needed)`);
  log(`installing ${missing.join(', ')} from Debian`);
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-q'], { env: aptEnv });
  await run(
    'apt-get',
    [
      'install',
      '-y',
      '-q',
      '--no-install-recommends',
      'podman',
      'podman-compose',
      'buildah',
      'runc',
      'debootstrap',
      'netavark',
      'aardvark-dns',
      'fuse-overlayfs',
      'uidmap',
      'iptables',
      'catatonit',
    ],
    { env: aptEnv },
  );
}

const imageExists = (name) => spawnSync('podman', ['image', 'exists', name], { env }).status === 0;

// ------------------------------------------------------------------ 2. base images
/** Debian bookworm (minbase) from the Debian mirror, imported as an image: no registry involved. */
async function debianBase() {
  if (imageExists(DEBIAN_IMAGE)) return log(`${DEBIAN_IMAGE} present`);
  const rootfs = join(WORK, 'debian-rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  log(`debootstrap --variant=minbase bookworm -> ${DEBIAN_IMAGE} (a few minutes, once)`);
  await nice('debootstrap', [
    '--variant=minbase',
    '--include=ca-certificates',
    'bookworm',
    rootfs,
    'http://deb.debian.org/debian',
  ]);
  // The certificate authorities this machine added (a TLS-inspecting proxy's, a company's) go into
  // the base too: npm, Maven and apt inside the builds reach the registries through the same network.
  const localCas = '/usr/local/share/ca-certificates';
  if (existsSync(localCas)) {
    cpSync(localCas, join(rootfs, localCas), { recursive: true });
    await run('chroot', [rootfs, 'update-ca-certificates'], { quiet: true });
  }
  // The security and point-release updates too, like the registry's debian:bookworm-slim; no
  // recommends and no apt caches in layers built on it.
  writeFileSync(
    join(rootfs, 'etc/apt/sources.list'),
    'deb http://deb.debian.org/debian bookworm main\n' +
      'deb http://deb.debian.org/debian bookworm-updates main\n' +
      'deb http://deb.debian.org/debian-security bookworm-security main\n',
  );
  writeFileSync(
    join(rootfs, 'etc/apt/apt.conf.d/90tessera-slim'),
    'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n',
  );
  rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
  await nice('sh', [
    '-c',
    `tar -C '${rootfs}' -c . | podman import --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - ${DEBIAN_IMAGE}`,
  ]);
  rmSync(rootfs, { recursive: true, force: true });
}

/** `npm pack <spec>` into dir (once); returns the tarball path. */
function npmPack(spec, dir) {
  mkdirSync(dir, { recursive: true });
  const out = execFileSync('npm', ['pack', spec, '--pack-destination', dir, '--json', '--loglevel=error'], {
    encoding: 'utf8',
  });
  const [{ filename, integrity }] = JSON.parse(out);
  return { tarball: join(dir, filename), integrity };
}

/**
 * Node.js on the local Debian: the runtime package.json pins (npm package `tessera.node.package`,
 * its integrity checked as scripts/bootstrap.mjs does) plus npm, and the `node` user (uid 1000)
 * that the registry's node images have and the Dockerfile relies on.
 */
async function nodeBase() {
  if (imageExists(NODE_IMAGE)) return log(`${NODE_IMAGE} present`);
  const context = join(WORK, 'node-base');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(join(context, 'node'), { recursive: true });
  mkdirSync(join(context, 'npm'), { recursive: true });
  const node = npmPack(`${pin.package}@${pin.version}`, join(WORK, 'packs'));
  if (node.integrity !== pin.integrity)
    throw new Error(`${node.tarball}: integrity ${node.integrity} is not the pinned ${pin.integrity}`);
  execFileSync('tar', ['-xzf', node.tarball, '-C', join(context, 'node'), '--strip-components=1']);
  const npmVersion = execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
  const npm = npmPack(`npm@${npmVersion}`, join(WORK, 'packs'));
  execFileSync('tar', ['-xzf', npm.tarball, '-C', join(context, 'npm'), '--strip-components=1']);
  cpSync(join(CONTAINERS, 'node/Containerfile'), join(context, 'Containerfile'));
  log(`building ${NODE_IMAGE} (Node.js ${pin.version}, npm ${npmVersion})`);
  await nice('podman', [
    'build',
    '--format',
    'docker',
    '--build-arg',
    `BASE_IMAGE=${DEBIAN_IMAGE}`,
    '-t',
    NODE_IMAGE,
    context,
  ]);
}

/** Kafka (jars from Maven Central, KRaft), Postgres and Redis from Debian packages on the local Debian. */
const INFRA = [
  { name: 'kafka', image: 'localhost/tessera/kafka:3.9.2', context: join(ROOT, 'deploy') },
  { name: 'postgres', image: 'localhost/tessera/postgres:15', context: join(CONTAINERS, 'postgres') },
  { name: 'redis', image: 'localhost/tessera/redis:7', context: join(CONTAINERS, 'redis') },
];

async function infraImages() {
  for (const { name, image, context } of INFRA) {
    log(`building ${image}`);
    await nice('podman', [
      'build',
      '--format',
      'docker',
      '--build-arg',
      `BASE_IMAGE=${DEBIAN_IMAGE}`,
      '-f',
      join(CONTAINERS, name, 'Containerfile'),
      '-t',
      image,
      context,
    ]);
  }
}

/** The services' images from the root Dockerfile, on the local Node base (the build stage is shared). */
async function serviceImages() {
  for (const service of composeServices()) {
    const args = service.build?.args ?? {};
    if (args.SERVICE === undefined || service.name === 'init') continue;
    log(`building ${interpolate(service.image)} (Dockerfile, NODE_IMAGE=${NODE_IMAGE})`);
    await nice('podman', [
      'build',
      '--format',
      'docker',
      '--build-arg',
      `NODE_IMAGE=${NODE_IMAGE}`,
      ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      '-t',
      interpolate(service.image),
      ROOT,
    ]);
  }
}

async function images() {
  await debianBase();
  await nodeBase();
  await infraImages();
  await serviceImages();
}

// ------------------------------------------------------------------ compose model
const COMPOSE_FILES = ['docker-compose.yml', 'deploy/containers/compose.podman.yml'];

/** `${VAR:-default}` / `${VAR}` as compose interpolates them, from this script's environment. */
function interpolate(text) {
  return text.replace(
    /\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g,
    (_, name, fallback) => env[name] || fallback || '',
  );
}

/** docker-compose.yml with the override merged the way compose merges maps (enough for what we read). */
function composeServices() {
  const merge = (a, b) => {
    if (Array.isArray(a) || Array.isArray(b) || typeof a !== 'object' || typeof b !== 'object' || !a || !b)
      return b ?? a;
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
    return out;
  };
  const [main, ...overrides] = COMPOSE_FILES.map(
    (f) => parse(readFileSync(join(ROOT, f), 'utf8'), { merge: true }).services,
  );
  const merged = overrides.reduce((acc, o) => merge(acc, o), main);
  return Object.entries(merged).map(([name, s]) => ({ name, ...s }));
}

// ------------------------------------------------------------------ 4. up, one dependency level at a time
/** Published host ports: each docker-compose.yml default moved by OFFSET (the local platform owns the defaults). */
const HOST_PORTS = {
  HOST_PORT_EXCHANGE: 8080,
  HOST_PORT_GATEWAY: 8081,
  HOST_PORT_MLLP: 2575,
  HOST_PORT_MPI: 8082,
  HOST_PORT_CONSENT: 8083,
  HOST_PORT_REGISTRY: 8084,
  HOST_PORT_POSTGRES: 5432,
  HOST_PORT_REDIS: 6379,
  HOST_PORT_KAFKA: 29092,
};
for (const [name, port] of Object.entries(HOST_PORTS)) env[name] = String(port + OFFSET);
const hostPort = (name) => Number(env[name]);

const compose = (args, options = {}) =>
  nice('podman-compose', ['-p', PROJECT, ...COMPOSE_FILES.flatMap((f) => ['-f', join(ROOT, f)]), ...args], {
    cwd: ROOT,
    ...options,
  });

function podmanOut(args) {
  const result = spawnSync('podman', args, { env, encoding: 'utf8' });
  return { ok: result.status === 0, out: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

function containerOf(service) {
  const { out } = podmanOut([
    'ps',
    '-a',
    '--filter',
    `label=io.podman.compose.project=${PROJECT}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
    '--format',
    '{{.Names}}',
  ]);
  const name = out.split('\n').filter(Boolean)[0];
  if (name === undefined) throw new Error(`no container for service ${service}`);
  return name;
}

/** Services in start order: level n depends only on levels < n (depends_on, any condition). */
function startLevels(services) {
  const byName = new Map(services.map((s) => [s.name, s]));
  const level = new Map();
  const levelOf = (name, path = []) => {
    if (level.has(name)) return level.get(name);
    if (path.includes(name)) throw new Error(`depends_on cycle: ${[...path, name].join(' -> ')}`);
    const deps = Object.keys(byName.get(name)?.depends_on ?? {});
    const value = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((d) => levelOf(d, [...path, name])));
    level.set(name, value);
    return value;
  };
  for (const s of services) levelOf(s.name);
  const levels = [];
  for (const [name, n] of level) (levels[n] ??= []).push(name);
  return levels.map((names) => names.sort());
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * What "ready" means for a service, from the compose file itself: exited 0 when another service
 * waits for `service_completed_successfully`, else its healthcheck (the compose file's or the
 * image's HEALTHCHECK, run with `podman healthcheck run`, since podman-compose schedules none).
 */
async function waitReady(service, services, timeoutMs) {
  const container = containerOf(service.name);
  const completes = services.some(
    (s) => s.depends_on?.[service.name]?.condition === 'service_completed_successfully',
  );
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const state = podmanOut(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', container]).out;
    const [status, code] = state.split(' ');
    if (completes) {
      if (status === 'exited') {
        if (code === '0') return log(`${service.name}: completed`);
        throw new Error(
          `${service.name} exited with ${code}:\n${podmanOut(['logs', '--tail', '40', container]).out}`,
        );
      }
    } else if (status === 'exited') {
      throw new Error(
        `${service.name} exited with ${code}:\n${podmanOut(['logs', '--tail', '40', container]).out}`,
      );
    } else if (service.healthcheck?.disable === true) {
      if (status === 'running') return log(`${service.name}: running`);
    } else if (status === 'running') {
      const check = podmanOut(['healthcheck', 'run', container]);
      if (check.ok) return log(`${service.name}: healthy`);
      last = check.out;
    }
    await sleep(2000);
  }
  throw new Error(
    `${service.name} not ready within ${timeoutMs / 1000} s (${last}):\n${podmanOut(['logs', '--tail', '40', container]).out}`,
  );
}

async function portsFree() {
  const { portOpen } = await import('./lib/infra.mjs');
  const taken = [];
  for (const name of Object.keys(HOST_PORTS))
    if (await portOpen(hostPort(name))) taken.push(`${name}=${hostPort(name)}`);
  if (taken.length > 0)
    throw new Error(`host ports in use: ${taken.join(', ')} (set TESSERA_PORT_OFFSET, or run -- down first)`);
}

async function up() {
  await portsFree();
  const services = composeServices();
  // podman-compose creates the network, volumes and containers; this script starts them in
  // dependency order (podman-compose 1.0.3 starts everything at once and ignores --no-deps).
  await compose(['up', '--no-build', '--no-start']);
  for (const names of startLevels(services)) {
    log(`starting ${names.join(', ')}`);
    await nice('podman', ['start', ...names.map(containerOf)], { quiet: true });
    for (const name of names)
      await waitReady(
        services.find((s) => s.name === name),
        services,
        360_000,
      );
  }
}

// ------------------------------------------------------------------ 5. exercise
async function exercise() {
  // The feed and the tour run in the gateway container's network namespace, where this run bound
  // the MLLP listeners (MLLP_HOST=127.0.0.1): loopback senders are authenticated as under
  // `npm start`, and only records from authenticated senders give their institution holder powers
  // (recording a consent, reading the audit trail), which the tour exercises. The published,
  // unauthenticated 0.0.0.0 mode of docker-compose.yml would leave those steps nothing to act on.
  const gateway = containerOf('interop-gateway');
  const image = interpolate(composeServices().find((s) => s.name === 'interop-gateway').image);
  const inGateway = (args) =>
    nice('podman', [
      'run',
      '--rm',
      '--network',
      `container:${gateway}`,
      '--user',
      '0',
      '-v',
      `${join(ROOT, 'deploy/demo-region/keys')}:/app/deploy/demo-region/keys:ro`,
      '--entrypoint',
      'node',
      image,
      ...args,
    ]);
  log(`sending the demo regional feed to the gateway's MLLP port (mllp://127.0.0.1:2575 in ${gateway})`);
  await inGateway([
    'dist/tools/demo-feed/demo-feed.js',
    '--host',
    '127.0.0.1',
    '--port',
    '2575',
    '--run-tag',
    `compose-${Date.now().toString(36)}`,
  ]);

  // The tour reads what the consumers made of the feed: wait until every group has caught up, as
  // the autoscalers would see it (tessera_kafka_consumer_lag on each service's /metrics).
  await waitForNoLag(300_000);

  // The tour also opens North Valley's own port (2576, admitting 127.0.0.1 only) and sends on it
  // from 127.0.0.1; it calls the exchange by its compose name, the base URL this run gave
  // EXCHANGE_PUBLIC_BASE_URL (client assertions' aud). The demo keys are mounted read-only: the
  // image never carries them.
  log(`running the exchange tour against ${env.EXCHANGE_PUBLIC_BASE_URL}`);
  // Its notification steps need a webhook the exchange can reach over loopback (or HTTPS with a
  // certificate): from the gateway's namespace the exchange container cannot reach the tour's
  // receiver, so they are left to npm start's tour and the notifications e2e suite of npm test.
  await inGateway([
    'dist/tools/demo-exchange/demo-exchange.js',
    '--url',
    env.EXCHANGE_PUBLIC_BASE_URL,
    '--gateway',
    'http://127.0.0.1:8081',
    '--skip-notifications',
  ]);

  // The series the autoscalers read, from the published ports.
  for (const [service, port, series] of [
    [
      'mpi',
      'HOST_PORT_MPI',
      ['tessera_kafka_consumer_lag{', 'tessera_kafka_consumer_records_total{', 'tessera_outbox_backlog'],
    ],
    ['interop-gateway', 'HOST_PORT_GATEWAY', ['tessera_kafka_consumer_lag{', 'tessera_outbox_backlog']],
  ]) {
    const text = await (await fetch(`http://127.0.0.1:${hostPort(port)}/metrics`)).text();
    const missing = series.filter((s) => !text.includes(s));
    if (missing.length > 0) throw new Error(`${service} /metrics lacks ${missing.join(', ')}`);
    const lag = text
      .split('\n')
      .filter((l) => l.startsWith('tessera_kafka_consumer_lag{') && !l.includes('.retry'));
    log(`${service} /metrics: ${lag.join('; ')}`);
  }
}

/** The services' HTTP ports (every published port but MLLP and the infrastructure's). */
const SERVICE_PORTS = Object.keys(HOST_PORTS).filter(
  (name) => !['HOST_PORT_MLLP', 'HOST_PORT_POSTGRES', 'HOST_PORT_REDIS', 'HOST_PORT_KAFKA'].includes(name),
);

/** Main-topic lag of every consumer group, from the services' own metrics: { 'group topic': lag }. */
async function consumerLag() {
  const lag = {};
  for (const port of SERVICE_PORTS) {
    const text = await (await fetch(`http://127.0.0.1:${hostPort(port)}/metrics`)).text();
    for (const line of text.split('\n')) {
      const m = /^tessera_kafka_consumer_lag\{consumer_group="([^"]+)",topic="([^"]+)"[^}]*\} (\d+)$/.exec(
        line,
      );
      if (m !== null && !m[2].endsWith('.retry')) lag[`${m[1]} ${m[2]}`] = Number(m[3]);
    }
  }
  return lag;
}

async function waitForNoLag(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = {};
  while (Date.now() < deadline) {
    last = await consumerLag();
    const behind = Object.entries(last).filter(([, n]) => n > 0);
    if (Object.keys(last).length > 0 && behind.length === 0)
      return log(`every consumer group caught up (${Object.keys(last).length} group/topic pairs at lag 0)`);
    await sleep(3000);
  }
  throw new Error(`consumers still behind after ${timeoutMs / 1000} s: ${JSON.stringify(last)}`);
}

// ------------------------------------------------------------------ 6. down
async function down({ quiet = false } = {}) {
  if (!quiet) log('tearing down (containers, volumes, network)');
  await compose(['down', '-v', '-t', '45'], { quiet }).catch((error) => {
    if (!quiet) log(`podman-compose down: ${error.message}`);
  });
  // podman-compose 1.0.3 leaves the network (and, after a failed up, sometimes containers) behind.
  const left = podmanOut(['ps', '-a', '-q', '--filter', `label=io.podman.compose.project=${PROJECT}`]).out;
  if (left !== '') podmanOut(['rm', '-f', '-t', '10', ...left.split('\n')]);
  const volumes = podmanOut([
    'volume',
    'ls',
    '-q',
    '--filter',
    `label=io.podman.compose.project=${PROJECT}`,
  ]).out;
  if (volumes !== '') podmanOut(['volume', 'rm', '-f', ...volumes.split('\n')]);
  const networks = podmanOut([
    'network',
    'ls',
    '-q',
    '--filter',
    `label=io.podman.compose.project=${PROJECT}`,
  ]).out;
  for (const network of new Set([...networks.split('\n').filter(Boolean), `${PROJECT}_default`]))
    podmanOut(['network', 'rm', '-f', network]);
  const pods = podmanOut(['pod', 'ls', '-q', '--filter', `name=pod_${PROJECT}`]).out;
  if (pods !== '') podmanOut(['pod', 'rm', '-f', ...pods.split('\n')]);
}

// ------------------------------------------------------------------ main
const command = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'all';
const keep = process.argv.includes('--keep');
const steps = {
  install,
  images: async () => {
    await install();
    await images();
  },
  // Parts of `images`, for working on one of them.
  base: async () => {
    await debianBase();
    await nodeBase();
  },
  infra: infraImages,
  services: serviceImages,
  up,
  exercise,
  down,
  all: async () => {
    const started = Date.now();
    await install();
    await images();
    await down({ quiet: true }); // what a previous, interrupted run left
    try {
      await up();
      await exercise();
      log(`passed in ${Math.round((Date.now() - started) / 1000)} s`);
    } finally {
      if (!keep) await down();
    }
  },
};
if (!(command in steps)) {
  console.error(`usage: npm run compose:check [-- ${Object.keys(steps).join('|')}] [--keep]`);
  process.exit(2);
}
try {
  await steps[command]();
} catch (error) {
  console.error(`compose:check: FAILED: ${error.message}`);
  process.exit(1);
}
