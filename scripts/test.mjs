// `npm test`: every check of every project, against the real Postgres, Redis and Kafka.
//   build (tsc of apps/libs/tools) → infrastructure + topics → typecheck incl. tests → lint (with
//   module boundaries) → unit tests (*.spec.ts) → integration tests (*.int-spec.ts, in band).
// Ends with one line "tests: N passed, N failed" (lint/typecheck/build failures count as failed).
// Extra arguments are passed to Jest (e.g. `npm test -- libs/hl7v2`), which then skips lint.
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { build } from './build.mjs';
import { ensureInfrastructure } from './lib/infra.mjs';
import { run } from './lib/proc.mjs';

const jestArgs = process.argv.slice(2);
const focused = jestArgs.length > 0;
const env = { ...process.env, TZ: 'UTC', NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NODE_OPTIONS: '--max-old-space-size=4096' };
const steps = [];
let passed = 0;
let failed = 0;

async function step(name, fn) {
  const started = Date.now();
  console.log(`\n=== ${name}`);
  try {
    const note = await fn();
    steps.push({ name, ok: true, seconds: (Date.now() - started) / 1000, note });
  } catch (error) {
    steps.push({ name, ok: false, seconds: (Date.now() - started) / 1000, note: error.message.split('\n')[0] });
  }
}

function jestCounts(file) {
  if (!existsSync(file)) return { passed: 0, failed: 0, suitesFailed: 1 };
  const report = JSON.parse(readFileSync(file, 'utf8'));
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    suitesFailed: report.numFailedTestSuites,
    pending: report.numPendingTests,
  };
}

async function jest(project, extra) {
  const out = `.tessera/jest-${project}.json`;
  rmSync(out, { force: true });
  try {
    // A focused run (`npm test -- <path>`) may hold only unit or only integration tests.
    const focus = focused ? ['--passWithNoTests'] : [];
    await run('npx', ['jest', '--selectProjects', project, '--json', `--outputFile=${out}`, ...focus, ...extra, ...jestArgs], { env });
  } finally {
    const counts = jestCounts(out);
    passed += counts.passed;
    failed += counts.failed + (counts.failed === 0 ? counts.suitesFailed : 0);
    if (counts.pending > 0) {
      failed += counts.pending;
      console.error(`${counts.pending} skipped/todo test(s) in ${project}: skipped checks are defects`);
    }
  }
  return undefined;
}

async function main() {
  mkdirSync('.tessera', { recursive: true });
  await step('build (tsc → dist)', () => build());
  await step('infrastructure (Postgres, Redis, Kafka) and topics', async () => {
    await ensureInfrastructure();
    process.stdout.write(await run('node', ['dist/tools/platform/init.js'], { quiet: true, env }));
  });
  if (steps.some((s) => !s.ok)) return finish();
  if (!focused) {
    await step('typecheck (incl. tests)', () => run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'], { env }));
    await step('lint (type-aware, module boundaries)', async () => {
      // @nx/enforce-module-boundaries reads Nx's cached project graph: compute it first.
      await run('npx', ['nx', 'show', 'projects'], { env, quiet: true });
      await run('npx', ['eslint', '--max-warnings', '0', '--cache', '--cache-location', '.tessera/eslintcache', '.'], { env });
    });
  }
  await step('unit tests', () => jest('unit', ['--maxWorkers=2']));
  await step('integration tests (real Postgres, Redis, Kafka)', () => jest('integration', ['--runInBand']));
  finish();
}

function finish() {
  const stepFailures = steps.filter((s) => !s.ok && !s.name.includes('tests')).length;
  console.log('\n=== summary');
  for (const s of steps) {
    console.log(`${s.ok ? 'ok  ' : 'FAIL'}  ${s.name.padEnd(48)} ${s.seconds.toFixed(1).padStart(6)} s${s.ok ? '' : `  ${s.note}`}`);
  }
  failed += stepFailures;
  console.log(`\nruntime: Node.js ${process.version} (${process.execPath})`);
  console.log(`tests: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && steps.every((s) => s.ok) ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
