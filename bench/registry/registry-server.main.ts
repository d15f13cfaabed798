import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../apps/document-registry/src/app.module';
import { REGISTRY_CONSUMER_OPTIONS } from '../../apps/document-registry/src/indexing/registry.consumer';

/*
 * The compiled document-registry module in its own process, for the benchmark only: the same
 * AppModule as `npm start`, but its consumer joins the group `document-registry-bench` (from the
 * latest offsets) so the benchmark never takes partitions from, or replays shared topics into, a
 * real registry. Config (DB_NAME, HTTP_PORT, LOG_LEVEL) comes from the environment as usual.
 */
async function main(): Promise<void> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(REGISTRY_CONSUMER_OPTIONS)
    .useValue({ groupId: 'document-registry-bench', fromBeginning: false })
    .compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  const port = Number(process.argv[2]);
  await app.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

void main();
