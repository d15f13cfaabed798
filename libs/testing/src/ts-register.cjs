'use strict';
// Lets plain `node` run the workspace's TypeScript (child processes of integration tests):
//   node --require libs/testing/src/ts-register.cjs tools/messaging-test/src/consumer.child.ts
// .ts files are transpiled by @swc/core with the same options as jest.config.js, and the
// @tessera/* path aliases of tsconfig.base.json resolve to their index.ts.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

const root = path.resolve(__dirname, '..', '..', '..');
const { compilerOptions } = require(path.join(root, 'tsconfig.base.json'));
const aliases = new Map(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [alias, path.join(root, target)]),
);

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveWithAliases(request, parent, isMain, options) {
  const target = aliases.get(request);
  return resolveFilename.call(this, target === undefined ? request : target, parent, isMain, options);
};

Module._extensions['.ts'] = function compileTypeScript(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = transformSync(source, {
    filename,
    sourceMaps: 'inline',
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
