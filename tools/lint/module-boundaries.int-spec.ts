import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// Proves the module-boundary rules really constrain (docs/conventions.md §3): a domain library that
// imports infrastructure, or a lib that reaches into a layer it may not, fails lint — with the
// repository's own ESLint CLI and config, on real files placed inside the libraries.
const ROOT = path.resolve(__dirname, '../..');

interface Case {
  readonly name: string;
  readonly lib: string;
  readonly code: string;
  /** Substring the boundary error must contain; undefined means "no boundary error". */
  readonly expected?: string;
}

const cases: readonly Case[] = [
  ...['@nestjs/common', 'typeorm', 'kafkajs', 'redis', '@opentelemetry/api'].map((pkg) => ({
    name: `a type:domain library importing ${pkg}`,
    lib: 'libs/hl7v2/src',
    code: `import * as forbidden from '${pkg}';\nexport const x = forbidden;\n`,
    expected: `not allowed to import "${pkg}"`,
  })),
  {
    name: 'a type:domain library importing a platform library',
    lib: 'libs/matching/src',
    code: "import { connectRedis } from '@tessera/platform-redis';\nexport const x = connectRedis;\n",
    expected: 'type:domain',
  },
  {
    name: 'the contracts library importing kafkajs',
    lib: 'libs/contracts/src',
    code: "import { Kafka } from 'kafkajs';\nexport const x = Kafka;\n",
    expected: 'not allowed to import "kafkajs"',
  },
  {
    name: 'a platform library using infrastructure and contracts',
    lib: 'libs/platform/kafka/src',
    code: "import { Kafka } from 'kafkajs';\nimport { Topics } from '@tessera/contracts';\nexport const x = [Kafka, Topics];\n",
  },
  {
    name: 'a platform library building on a pure domain library',
    lib: 'libs/platform/mllp-client/src',
    code: "import { parseHl7 } from '@tessera/hl7v2';\nexport const x = parseHl7;\n",
  },
  {
    name: 'a platform library importing the testing library outside a test',
    lib: 'libs/platform/mllp-client/src',
    code: "import { uniqueTestId } from '@tessera/testing';\nexport const x = uniqueTestId;\n",
    expected: 'type:platform',
  },
];

describe('@nx/enforce-module-boundaries', () => {
  const files = cases.map((c) => path.join(ROOT, c.lib, `boundary-probe-${randomUUID().slice(0, 8)}.ts`));
  const errorsByFile = new Map<string, string[]>();

  beforeAll(() => {
    cases.forEach((c, i) => writeFileSync(files[i], c.code));
    try {
      const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
      // The rule reads Nx's cached project graph; compute it (no daemon) as `npm test` does.
      spawnSync('npx', ['nx', 'show', 'projects'], { cwd: ROOT, env, stdio: 'ignore' });
      const result = spawnSync('npx', ['eslint', '--format', 'json', ...files], { cwd: ROOT, env, encoding: 'utf8' });
      const reports = JSON.parse(result.stdout) as Array<{
        filePath: string;
        messages: Array<{ ruleId: string | null; message: string }>;
      }>;
      for (const report of reports) {
        errorsByFile.set(
          report.filePath,
          report.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message),
        );
      }
    } finally {
      for (const file of files) rmSync(file, { force: true });
    }
  });

  it.each(cases.map((c, i) => [c.name, c, i] as const))('lints %s as expected', (_name, c, i) => {
    const errors = errorsByFile.get(files[i]);
    expect(errors).toBeDefined();
    if (c.expected === undefined) expect(errors).toEqual([]);
    else expect(errors!.join('\n')).toContain(c.expected);
  });
});
