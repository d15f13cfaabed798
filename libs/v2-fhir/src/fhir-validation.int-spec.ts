import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goldenCases, mapGoldenCase, resourcesOf } from './testing/golden-cases.fixture';

/*
 * Independent check: every resource produced from the golden messages is validated by the HAPI FHIR
 * R4 validator (tools/fhir-validator, offline) in ONE JVM run, and must have zero errors.
 * Builds the validator jar with Maven when it is missing.
 */
const REPO_ROOT = join(__dirname, '..', '..', '..');
const POM = join(REPO_ROOT, 'tools', 'fhir-validator', 'pom.xml');
const JAR = join(REPO_ROOT, 'tools', 'fhir-validator', 'target', 'fhir-validator.jar');
/** Set V2FHIR_VALIDATION_DIR to keep the resource files (and inspect the validator's warnings). */
const KEEP_DIR = process.env['V2FHIR_VALIDATION_DIR'];

interface ValidatorIssue {
  readonly location: string;
  readonly message: string;
}
interface ValidatorReport {
  readonly files: readonly {
    readonly file: string;
    readonly errors: readonly ValidatorIssue[];
    readonly warnings: number;
  }[];
  readonly fileCount: number;
  readonly errorCount: number;
}

describe('HAPI FHIR R4 validation of the golden mappings', () => {
  let dir: string;

  beforeAll(() => {
    if (!existsSync(JAR)) execFileSync('mvn', ['-q', '-B', '-f', POM, 'package'], { stdio: 'inherit' });
    dir = KEEP_DIR ?? mkdtempSync(join(tmpdir(), 'v2-fhir-validate-'));
    mkdirSync(dir, { recursive: true });
  });

  afterAll(() => {
    if (KEEP_DIR === undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('every produced resource validates with zero errors', () => {
    let written = 0;
    for (const caseName of goldenCases()) {
      const outcome = mapGoldenCase(caseName);
      expect({ caseName, status: outcome.status }).toEqual({ caseName, status: 'mapped' });
      resourcesOf(outcome).forEach((resource, i) => {
        writeFileSync(
          join(dir, `${caseName}__${String(i).padStart(2, '0')}-${resource.resourceType}.json`),
          JSON.stringify(resource, null, 2),
        );
        written++;
      });
    }
    const run = spawnSync('java', ['-jar', JAR, dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(run.error).toBeUndefined();
    const report = JSON.parse(run.stdout) as ValidatorReport;
    expect(report.fileCount).toBe(written);
    const errors = report.files.flatMap((f) =>
      f.errors.map((e) => `${f.file.slice(dir.length + 1)}: ${e.location}: ${e.message}`),
    );
    if (errors.length > 0) console.error(`FHIR validation errors:\n${errors.join('\n')}`);
    expect(errors).toEqual([]);
    expect(run.status).toBe(0);
  });
});
