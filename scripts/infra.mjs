// `npm run infra`: Postgres and Redis up, the Kafka broker started, every topic created (idempotent).
// `npm run migrate`: the same, then each service's migrations applied to its database
// (`main.js migrate`, as the compose/Kubernetes init job runs it), without starting the services.
import { build } from './build.mjs';
import { ensureInfrastructure } from './lib/infra.mjs';
import { run } from './lib/proc.mjs';
import { SERVICES } from './lib/services.mjs';

async function main() {
  const migrate = process.argv[2] === 'migrate';
  await build({ quiet: true });
  await ensureInfrastructure();
  process.stdout.write(await run('node', ['dist/tools/platform/init.js'], { quiet: true }));
  if (!migrate) return;
  for (const service of SERVICES) {
    await run('node', [`dist/apps/${service.name}/src/main.js`, 'migrate'], {
      quiet: true,
      env: { ...(service.env ?? {}), ...process.env, DB_NAME: service.database },
    });
    console.log(`migrate: ${service.name.padEnd(18)} ${service.database}: up to date`);
  }
}

main().catch((error) => {
  console.error(`infra failed: ${error.message}`);
  process.exit(1);
});
