// Keeps package-lock.json installable with `npm ci` from the registry this project builds against.
//
// Native packages (@swc/core, nx, unrs-resolver, …) list one optional dependency per platform.
// The registry available to this project serves the Linux x64 ones only, so `npm install` records
// no lock entries for the others, and `npm ci` then refuses the lock as "not in sync". This drops
// the optional platform dependencies that have no entry in the lock (they cannot be installed
// from this registry anyway). Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
let removed = 0;
for (const [location, entry] of Object.entries(lock.packages)) {
  if (entry.optionalDependencies === undefined) continue;
  for (const name of Object.keys(entry.optionalDependencies)) {
    const nested = `${location}/node_modules/${name}`;
    if (lock.packages[`node_modules/${name}`] === undefined && lock.packages[nested] === undefined) {
      delete entry.optionalDependencies[name];
      removed++;
    }
  }
  if (Object.keys(entry.optionalDependencies).length === 0) delete entry.optionalDependencies;
}
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-tidy: removed ${removed} optional dependencies this registry does not serve`);
