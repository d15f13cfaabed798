import { loadConfig } from '@tessera/platform-config';
import { createDataSource } from '@tessera/platform-persistence';
import { loadPlatformSettings } from '@tessera/platform-service';
import type { ServiceOptions } from '@tessera/platform-service';
import { registryConfig } from '../registry.config';
import { ItemLabeler } from './item-labeler';
import { relabel } from './relabel.command';

/** `node dist/apps/document-registry/src/main.js relabel`: progress on stderr, summary on stdout. */
export async function runRelabel(options: ServiceOptions): Promise<void> {
  const settings = loadPlatformSettings(options);
  const rulesFile = loadConfig(registryConfig).REGISTRY_LABELING_RULES_FILE;
  const rules = ItemLabeler.loadRules(rulesFile);
  const dataSource = createDataSource({
    settings: settings.postgres,
    database: settings.service.DB_NAME,
    migrations: options.migrations,
    applicationName: `${options.name}-relabel`,
  });
  await dataSource.initialize();
  try {
    process.stderr.write(`relabel with ${rulesFile} (version ${rules.version})\n`);
    const summary = await relabel(dataSource, rules, (p) =>
      process.stderr.write(`relabel ${p.table}: ${p.scanned} scanned, ${p.changed} changed\n`),
    );
    const changed = summary.reduce((sum, s) => sum + s.changed, 0);
    process.stdout.write(`${JSON.stringify({ rulesFile, rulesVersion: rules.version, changed, summary })}\n`);
  } catch (error) {
    process.stderr.write(`relabel failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await dataSource.destroy();
  }
}
