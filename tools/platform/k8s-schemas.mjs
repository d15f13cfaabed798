#!/usr/bin/env node
// Validates Kubernetes objects against the API's own schemas, offline: the JSON schemas of the
// Kubernetes OpenAPI spec (npm package kubernetes-models) and of the CRDs that have a package
// (@kubernetes-models/keda: ScaledObject; @kubernetes-models/prometheus-operator: PodMonitor,
// PrometheusRule). ESM-only packages, so tools/platform/deployment-manifests.spec.ts (CommonJS
// under Jest) runs this as a child process:
//
//   kubectl kustomize k8s/overlays/demo-region | node tools/platform/k8s-schemas.mjs
//
// Prints one JSON array: { apiVersion, kind, name, result: 'valid' | 'invalid' | 'no-schema',
// errors? } per object. The schemas check types, required fields, enums and formats; like
// `kubectl apply` without --validate=strict they do not reject unknown fields.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where to look for the schema packages: the workspace's node_modules, then TESSERA_SCHEMA_MODULES (':'-separated). */
const moduleDirs = [
  join(root, 'node_modules'),
  ...(process.env.TESSERA_SCHEMA_MODULES ?? '').split(':').filter(Boolean),
];

/** Packages carrying models for an apiVersion, by group: the core API first, then the CRD packages. */
const PACKAGES = ['kubernetes-models', '@kubernetes-models/keda', '@kubernetes-models/prometheus-operator'];

function modelFile(apiVersion, kind) {
  for (const dir of moduleDirs) {
    for (const pkg of PACKAGES) {
      const file = join(dir, pkg, apiVersion, `${kind}.js`);
      if (existsSync(file)) return file;
    }
  }
  return null;
}

export function schemaPackagesPresent() {
  return moduleDirs.some((dir) => existsSync(join(dir, 'kubernetes-models', 'package.json')));
}

export async function validateObjects(objects) {
  const results = [];
  for (const object of objects) {
    const { apiVersion, kind } = object;
    const name = object.metadata?.name ?? '';
    const file = modelFile(apiVersion, kind);
    if (file === null) {
      results.push({ apiVersion, kind, name, result: 'no-schema' });
      continue;
    }
    const Model = (await import(pathToFileURL(file).href))[kind];
    try {
      new Model(object).validate();
      results.push({ apiVersion, kind, name, result: 'valid' });
    } catch (error) {
      results.push({ apiVersion, kind, name, result: 'invalid', errors: error.message });
    }
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!schemaPackagesPresent()) {
    process.stderr.write(
      `kubernetes-models is not installed (looked in ${moduleDirs.join(', ')}): run npm install\n`,
    );
    process.exit(2);
  }
  const objects = parseAllDocuments(readFileSync(0, 'utf8'))
    .map((doc) => doc.toJS())
    .filter((o) => o !== null);
  process.stdout.write(`${JSON.stringify(await validateObjects(objects))}\n`);
}
