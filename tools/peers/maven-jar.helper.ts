import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/*
 * The Java peers (tools/peers/hapi-*) are Maven projects built on first use: `mvn package` writes
 * target/<name>.jar and its dependencies to target/lib. A jar newer than the pom and every source is
 * reused. One build per project per process: concurrent callers share it (two mvn runs writing the
 * same target/ would trip over each other).
 */

const execFileAsync = promisify(execFile);
const builds = new Map<string, Promise<string>>();

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Path of `<project>/target/<jarName>`, built with `mvn package` unless it is already newer than its sources. */
export function ensureMavenJar(project: string, jarName: string): Promise<string> {
  const jar = path.join(project, 'target', jarName);
  let build = builds.get(jar);
  if (build === undefined) {
    build = buildIfStale(project, jar);
    builds.set(jar, build);
    // A failed build is retried by the next caller instead of being remembered.
    build.catch(() => builds.delete(jar));
  }
  return build;
}

async function buildIfStale(project: string, jar: string): Promise<string> {
  const sourcesMtime = Math.max(
    statSync(path.join(project, 'pom.xml')).mtimeMs,
    newestMtime(path.join(project, 'src')),
  );
  if (
    existsSync(jar) &&
    existsSync(path.join(project, 'target', 'lib')) &&
    statSync(jar).mtimeMs >= sourcesMtime
  )
    return jar;
  await execFileAsync('mvn', ['-q', '-B', '-f', path.join(project, 'pom.xml'), 'package'], {
    timeout: 600_000,
    maxBuffer: 16 << 20,
  });
  if (!existsSync(jar)) throw new Error(`mvn package finished but ${jar} is missing.`);
  return jar;
}
