// Step 0 of `npm start` / `npm test`: make sure the dependencies in package-lock.json are
// installed (npm ci) — on a fresh clone, or when the lockfile changed since the last install.
// Uses only Node built-ins: it runs before node_modules exists.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Tessera needs Node.js >= 20.19 (found ${process.versions.node}).`);
  process.exit(1);
}

const lock = readFileSync('package-lock.json');
const hash = createHash('sha256').update(lock).digest('hex');
const marker = 'node_modules/.tessera-lock-sha256';
const installed = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '';

if (installed !== hash) {
  console.log('bootstrap: installing npm dependencies (npm ci) …');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('bootstrap: npm ci failed; see the output above.');
    process.exit(result.status ?? 1);
  }
  writeFileSync(marker, `${hash}\n`);
}
