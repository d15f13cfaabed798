// One shared, type-aware ESLint config (docs/conventions.md §2–§4).
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// Infrastructure packages a pure domain or contracts library may never import.
const INFRA_PACKAGES = ['@nestjs/*', 'typeorm', 'kafkajs', 'redis', '@redis/*', 'ioredis', 'pg', '@opentelemetry/*', 'express'];

// Module boundaries (docs/conventions.md §3).
const BOUNDARIES = {
  enforceBuildableLibDependency: false,
  allow: [],
  banTransitiveDependencies: false,
  depConstraints: [
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:domain', 'type:platform', 'type:contracts'] },
    // Infrastructure may build on pure rules (the MLLP client frames and parses with libs/hl7v2); the
    // reverse stays forbidden by the type:domain constraint.
    { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:platform', 'type:domain', 'type:contracts'] },
    { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'], bannedExternalImports: INFRA_PACKAGES },
    { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: INFRA_PACKAGES },
    { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:domain', 'type:platform', 'type:contracts', 'type:testing'] },
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
    { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared'] },
    { sourceTag: 'scope:mpi', onlyDependOnLibsWithTags: ['scope:mpi', 'scope:shared'] },
    { sourceTag: 'scope:consent', onlyDependOnLibsWithTags: ['scope:consent', 'scope:shared'] },
    { sourceTag: 'scope:registry', onlyDependOnLibsWithTags: ['scope:registry', 'scope:shared'] },
    { sourceTag: 'scope:exchange', onlyDependOnLibsWithTags: ['scope:exchange', 'scope:shared'] },
  ],
};

// Test files of any project may also use the shared testing lib (libs/testing, type:testing).
const TEST_BOUNDARIES = {
  ...BOUNDARIES,
  depConstraints: BOUNDARIES.depConstraints.map((c) =>
    c.sourceTag.startsWith('type:') && c.sourceTag !== 'type:testing'
      ? { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testing'] }
      : c,
  ),
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.nx/**', '.tessera/**', 'coverage/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/unbound-method': 'off',
      eqeqeq: ['error', 'always'],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name=/^(describe|it|test)$/][callee.property.name='only']", message: 'No committed .only' },
      ],
      '@nx/enforce-module-boundaries': ['error', BOUNDARIES],
    },
  },
  {
    // Tests may use the testing lib and looser typing of fixtures.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', TEST_BOUNDARIES],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    // Configuration is read only in config files (docs/conventions.md §7).
    files: ['**/*.ts'],
    ignores: ['**/*.config.ts', 'libs/platform/config/**', 'libs/testing/**', '**/*.spec.ts', '**/*.int-spec.ts', 'tools/**', 'bench/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings through a validated config (libs/platform/config).' }],
    },
  },
);
