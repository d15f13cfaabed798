import type { z } from 'zod';
import { processEnv } from '@tessera/platform-config';

/** Settings the messaging crash-test children receive from the integration test that spawns them. */
export function readChildEnv<S extends z.ZodObject>(schema: S): z.output<S> {
  const parsed = schema.safeParse(processEnv());
  if (!parsed.success) {
    throw new Error(`Invalid child environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** Warnings and errors to stderr (the parent test shows them when an assertion fails). */
export function childLogger(name: string) {
  const write = (level: string) => (obj: object, msg: string) => {
    process.stderr.write(`[${name}] ${level} ${msg} ${JSON.stringify(obj)}\n`);
  };
  return { error: write('ERROR'), warn: write('WARN'), info: () => undefined, debug: () => undefined };
}

/** Prints a line the parent waits for with `waitForLine`. */
export function signal(line: string): void {
  process.stdout.write(`${line}\n`);
}
