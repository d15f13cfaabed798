// Compiles every app, lib and tool to dist/ (tsc, incremental) and rewrites @tessera/* path
// aliases to relative requires (tsc-alias), so `node dist/apps/<svc>/src/main.js` runs as is.
import { run } from './lib/proc.mjs';

export async function build({ quiet = false } = {}) {
  const started = Date.now();
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { quiet });
  await run('npx', ['tsc-alias', '-p', 'tsconfig.build.json'], { quiet });
  if (!quiet) console.log(`build: done in ${((Date.now() - started) / 1000).toFixed(1)} s (dist/)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  build().catch((error) => {
    console.error(`build failed: ${error.message}`);
    process.exit(1);
  });
}
