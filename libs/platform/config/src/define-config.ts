import { z } from 'zod';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * A configuration namespace: a zod object whose keys are environment variable names.
 * Each field should carry `.describe()` text saying what it expects; that text is what a
 * misconfigured operator reads.
 */
export interface ConfigNamespace<S extends z.ZodObject> {
  readonly namespace: string;
  readonly schema: S;
}

export function defineConfig<S extends z.ZodObject>(namespace: string, schema: S): ConfigNamespace<S> {
  return { namespace, schema };
}

export class ConfigError extends Error {
  constructor(
    readonly namespace: string,
    readonly problems: ReadonlyArray<{ variable: string; expected: string; problem: string }>,
  ) {
    super(
      `Invalid configuration (${namespace}):\n` +
        problems.map((p) => `  - ${p.variable}: ${p.problem}; expected ${p.expected}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates one namespace. Fails with every problem at once, naming each variable and
 * what it expects; the offending value is never echoed (it may be a secret).
 */
export function loadConfig<S extends z.ZodObject>(config: ConfigNamespace<S>, env: Env = processEnv()): z.output<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(config.schema.shape)) {
    const value = env[key];
    input[key] = value === '' ? undefined : value;
  }
  const result = config.schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(unknown)');
    const field = config.schema.shape[variable] as z.ZodType | undefined;
    const expected = field?.description ?? 'a valid value';
    const problem = input[variable] === undefined ? 'is missing' : `is malformed (${issue.message})`;
    return { variable, expected, problem };
  });
  throw new ConfigError(config.namespace, problems);
}

/** The only read of the process environment in the code base (docs/conventions.md §7). */
export function processEnv(): Env {
  return process.env;
}

// Reusable field types -------------------------------------------------------------------------

export const port = (fallback: number, what: string) =>
  z.coerce.number().int().min(1).max(65535).default(fallback).describe(`${what}: a TCP port number (1-65535)`);

export const positiveInt = (fallback: number, what: string) =>
  z.coerce.number().int().positive().default(fallback).describe(`${what}: a positive integer`);

export const bool = (fallback: boolean, what: string) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .describe(`${what}: true or false`);

export const csv = (fallback: string, what: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
    .pipe(z.array(z.string()).min(1))
    .describe(`${what}: a comma-separated list`);
