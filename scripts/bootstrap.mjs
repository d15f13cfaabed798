// Step 0 of every npm script that runs project code (`npm start`, `npm test`, build, bench, …):
//
//   node scripts/bootstrap.mjs <script.mjs|.js|.cjs | command> [args…]
//
// 1. Picks the Node.js runtime. package.json `tessera.node` pins one exact version (with the npm
//    package that carries its binary and that tarball's integrity). The machine's Node is used when
//    it is that major at that version or newer (e.g. the node:24 image); otherwise the pinned binary
//    is fetched once with `npm pack` into .tessera/runtime/, checked against the pinned integrity,
//    and used from then on.
// 2. Runs `npm ci` under that runtime when node_modules does not match the lockfile and the
//    runtime's major (native add-ons are built for one).
// 3. Runs the script (with the runtime's node) or the command, with the runtime's bin/ first on
//    PATH, so every child that starts `node`, `npx` or a node_modules/.bin tool gets the same Node.
//    With no arguments it stops after step 2; with --dry-run first it prints what it would run.
//
// Uses only Node built-ins and runs under whatever Node the machine has (>= 18): it runs before
// node_modules exists and before the pinned runtime does.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNTIME_DIR = join(ROOT, '.tessera', 'runtime');

function fail(message) {
  console.error(`bootstrap: ${message}`);
  process.exit(1);
}

function parseVersion(text) {
  const [major, minor, patch] = text.replace(/^v/, '').split('.').map(Number);
  return { major, minor, patch };
}

function atLeast(a, b) {
  if (a.major !== b.major) return a.major > b.major;
  if (a.minor !== b.minor) return a.minor > b.minor;
  return a.patch >= b.patch;
}

/** package.json `tessera.node`: { version, package, integrity }. */
function pinnedRuntime() {
  const pin = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).tessera?.node;
  if (
    typeof pin?.version !== 'string' ||
    typeof pin?.package !== 'string' ||
    typeof pin?.integrity !== 'string'
  ) {
    fail('package.json has no complete "tessera.node" { version, package, integrity } pin.');
  }
  return pin;
}

function sha512Integrity(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** `npm pack` the pinned package into `work`, check its integrity, unpack it to `work/package`. */
function unpackVerified(pin, wanted, work) {
  const packed = spawnSync(
    'npm',
    ['pack', wanted, '--pack-destination', work, '--json', '--loglevel=error'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (packed.status !== 0)
    throw new Error(`npm pack ${wanted} failed (exit ${packed.status ?? packed.signal}); see above.`);
  const tarball = join(work, JSON.parse(packed.stdout)[0].filename);
  const integrity = sha512Integrity(tarball);
  if (integrity !== pin.integrity) {
    throw new Error(
      `${wanted}: the tarball's integrity ${integrity} is not the one pinned in package.json (${pin.integrity}).`,
    );
  }
  const untar = spawnSync('tar', ['-xzf', tarball, '-C', work], { stdio: 'inherit' });
  if (untar.status !== 0)
    throw new Error(`could not unpack ${tarball} (tar exit ${untar.status ?? untar.signal}).`);
  const reported = spawnSync(join(work, 'package', 'bin', 'node'), ['--version'], {
    encoding: 'utf8',
  }).stdout?.trim();
  if (reported !== `v${pin.version}`)
    throw new Error(`${wanted} unpacked a node that reports "${reported}", not v${pin.version}.`);
  writeFileSync(join(work, 'package', '.integrity'), `${pin.integrity}\n`);
}

/** The pinned binary under .tessera/runtime/, fetched and verified on first use. */
function installPinned(pin) {
  const home = join(RUNTIME_DIR, `node-v${pin.version}-${process.platform}-${process.arch}`);
  const node = join(home, 'bin', 'node');
  const marker = join(home, '.integrity');
  if (existsSync(node) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === pin.integrity) {
    return { node, home };
  }
  const wanted = `${pin.package}@${pin.version}`;
  if (`node-${process.platform}-${process.arch}` !== pin.package) {
    fail(
      `this machine has Node.js ${process.version} on ${process.platform}-${process.arch}; Tessera runs on Node.js ` +
        `${pin.version} (the pinned ${pin.package} is for another platform). Install Node.js ${pin.version.split('.')[0]} ` +
        `>= ${pin.version} and run again.`,
    );
  }
  console.log(`bootstrap: fetching Node.js ${pin.version} (npm package ${wanted}) into .tessera/runtime/ …`);
  mkdirSync(RUNTIME_DIR, { recursive: true });
  const work = mkdtempSync(join(RUNTIME_DIR, '.fetch-'));
  try {
    unpackVerified(pin, wanted, work);
    rmSync(home, { recursive: true, force: true });
    try {
      renameSync(join(work, 'package'), home);
    } catch (error) {
      // Another bootstrap finished the same install first: use its copy.
      if (!existsSync(marker)) throw error;
    }
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    fail(error.message);
  }
  rmSync(work, { recursive: true, force: true });
  return { node, home };
}

function chooseRuntime() {
  const pin = pinnedRuntime();
  const wanted = parseVersion(pin.version);
  const machine = parseVersion(process.versions.node);
  if (machine.major === wanted.major && atLeast(machine, wanted)) {
    return {
      node: process.execPath,
      version: process.version,
      origin: `this machine's, ${process.execPath}`,
    };
  }
  const { node, home } = installPinned(pin);
  return { node, home, version: `v${pin.version}`, origin: `pinned, ${node.slice(ROOT.length + 1)}` };
}

/** The environment every later step runs in: the runtime's node first on PATH (and for npm). */
function runtimeEnv(runtime) {
  const path = [dirname(runtime.node), join(ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(
    delimiter,
  );
  const env = { ...process.env, PATH: path, NODE: runtime.node, npm_node_execpath: runtime.node };
  // Native add-ons built from source compile against this runtime's headers, not a system Node's.
  if (runtime.home !== undefined) env.npm_config_nodedir = runtime.home;
  return env;
}

/** npm's own CLI script, run by the chosen node (not by whichever node `npm`'s shebang finds). */
function npmCli() {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm !== undefined && /npm-cli\.c?js$/.test(fromNpm) && existsSync(fromNpm)) return fromNpm;
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (which === '') fail('npm is not on PATH.');
  return realpathSync(which);
}

function ensureDependencies(runtime, env) {
  const lock = readFileSync(join(ROOT, 'package-lock.json'));
  const abi = `node-${parseVersion(runtime.version).major}`;
  const hash = createHash('sha256').update(lock).update(`\n${abi}\n`).digest('hex');
  const marker = join(ROOT, 'node_modules', '.tessera-lock-sha256');
  const installed = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '';
  if (installed === hash) return;
  console.log(`bootstrap: installing npm dependencies (npm ci under Node.js ${runtime.version}) …`);
  const cli = npmCli();
  const args = /\.c?js$/.test(cli) ? [cli] : [];
  const command = args.length > 0 ? runtime.node : cli;
  const result = spawnSync(command, [...args, 'ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: ROOT,
    env,
    stdio: 'inherit',
  });
  if (result.status !== 0)
    fail(`npm ci failed (exit ${result.status ?? result.signal}); see the output above.`);
  writeFileSync(marker, `${hash}\n`);
}

function runTarget(runtime, env, [target, ...args]) {
  const script = /\.(mjs|cjs|js)$/.test(target);
  const child = spawn(script ? runtime.node : target, script ? [target, ...args] : args, {
    env,
    stdio: 'inherit',
  });
  // Ctrl-C reaches the child from the terminal too; forwarding covers a signal sent to this process alone
  // (the child's handlers, e.g. start.mjs's stop, are idempotent).
  const forward = (signal) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward);
  child.on('error', (error) => fail(`could not start ${target}: ${error.message}`));
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeListener(s, forward);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

const runtime = chooseRuntime();
console.log(`runtime: Node.js ${runtime.version} (${runtime.origin})`);
const env = runtimeEnv(runtime);
// `bootstrap.mjs npm install …` changes the dependencies itself: no npm ci before it.
if (process.argv[2] !== 'npm') ensureDependencies(runtime, env);
const [first, ...rest] = process.argv.slice(2);
if (first === '--dry-run') {
  const script = /\.(mjs|cjs|js)$/.test(rest[0] ?? '');
  console.log(`would run: ${[script ? runtime.node : '', ...rest].filter(Boolean).join(' ')}`);
  console.log(`with PATH starting: ${env.PATH.split(delimiter).slice(0, 2).join(delimiter)}`);
} else if (first !== undefined) {
  runTarget(runtime, env, [first, ...rest]);
}
