import { z } from 'zod';
import { defineConfig } from '@tessera/platform-config';

/**
 * Settings of the MPI's matching (read once at boot; see .env.example and apps/mpi/README.md
 * "Configuration"). Region and rule set are deployment choices, not code.
 */
export const mpiConfig = defineConfig(
  'mpi',
  z.object({
    MPI_REGION: z
      .enum(['us', 'cn', 'eu'])
      .default('us')
      .describe('normalization region: us, cn or eu (phone prefixes, date order, national id scheme)'),
    MPI_NATIONAL_ID_PROFILE: z
      .enum(['strict', 'synthetic'])
      .default('strict')
      .describe(
        'national id validation: strict (real-world rules; US SSNs in the 9xx area are invalid) or synthetic ' +
          '(also accepts the 9xx test range the synthetic population uses: demo region and benchmark only)',
      ),
    MPI_RULE_SET_VERSION: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,40}$/)
      .default('v2')
      .describe('version of the rule set the engine decides with: a built-in one (v1, v2) or the one in MPI_RULE_SET_FILE'),
    MPI_RULE_SET_FILE: z
      .string()
      .min(1)
      .optional()
      .describe('JSON rule-set file (libs/matching format) added to the known rule sets (re-match jobs may name it too)'),
  }),
);

export type MpiSettings = z.output<(typeof mpiConfig)['schema']>;
