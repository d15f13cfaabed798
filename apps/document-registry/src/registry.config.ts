import { z } from 'zod';
import { defineConfig } from '@tessera/platform-config';

/** Settings of the document registry (read once at boot; see .env.example). */
export const registryConfig = defineConfig(
  'registry',
  z.object({
    REGISTRY_LABELING_RULES_FILE: z
      .string()
      .default('deploy/demo-region/labeling-rules.yaml')
      .describe('YAML labeling rules (codes → sensitivity labels) applied when indexing'),
  }),
);

export type RegistrySettings = z.output<(typeof registryConfig)['schema']>;

export const REGISTRY_SETTINGS = Symbol('REGISTRY_SETTINGS');
