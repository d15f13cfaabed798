// Compiles every app, lib and tool to dist/ (tsc, incremental) and rewrites @tessera/* path
// aliases to relative requires (tsc-alias), so `node dist/apps/<svc>/src/main.js` runs as is.
import { run } from './lib/proc.mjs';

export async function build({ quiet = false } = {}) {
  const started = Date.now();
  // tsc emits even when it reports type errors; rewrite aliases anyway so dist/ stays runnable,
  // then fail the build with tsc's errors.
  const compiled = await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { quiet }).then(
    () => undefined,
    (error) => error,
  );
  await run('npx', ['tsc-alias', '-p', 'tsconfig.build.json'], { quiet });
  if (compiled !== undefined) throw compiled;
  if (!quiet) console.log(`build: done in ${((Date.now() - started) / 1000).toFixed(1)} s (dist/)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  build().catch((error) => {
    console.error(`build failed: ${error.message}`);
    process.exit(1);
  });
}
