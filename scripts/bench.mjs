// `npm run bench -- <target> [options]`: builds (tsc, incremental) and runs a compiled benchmark
// from dist/bench. Targets:
//   gateway   MLLP load against the interop-gateway (bench/gateway/gateway.bench.ts has the options)
//   registry  document-registry queries on a bulk-loaded database (bench/registry/registry.bench.ts)
//   mpi       MPI matching quality and latency on a seeded synthetic population (bench/mpi/mpi.bench.ts)
//   notify    notifications: roster, admissions at a rate, ACK → webhook latency (bench/notify/notify.bench.ts)
// Pass --no-build to skip the build step.
import { existsSync } from 'node:fs';
import { build } from './build.mjs';
import { run } from './lib/proc.mjs';

const TARGETS = {
  gateway: 'dist/bench/gateway/gateway.bench.js',
  registry: 'dist/bench/registry/registry.bench.js',
  exchange: 'dist/bench/exchange/exchange.bench.js',
  mpi: 'dist/bench/mpi/mpi.bench.js',
  notify: 'dist/bench/notify/notify.bench.js',
};

async function main() {
  const [target, ...rest] = process.argv.slice(2);
  if (target === undefined || !(target in TARGETS)) {
    console.error(`usage: npm run bench -- <${Object.keys(TARGETS).join('|')}> [options]`);
    process.exit(2);
  }
  const skipBuild = rest.includes('--no-build');
  const args = rest.filter((a) => a !== '--no-build');
  if (!skipBuild) await build({ quiet: true });
  if (!existsSync(TARGETS[target])) {
    console.error(`${TARGETS[target]} is missing: run \`npm run build\` first.`);
    process.exit(1);
  }
  await run('node', [TARGETS[target], ...args]);
}

main().catch((error) => {
  console.error(
    error.code !== undefined ? `bench exited with ${error.code}` : `bench failed: ${error.message}`,
  );
  process.exit(typeof error.code === 'number' ? error.code : 1);
});
