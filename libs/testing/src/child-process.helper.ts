import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { processEnv } from '@tessera/platform-config';

/** The `--require` hook that lets `node` run workspace TypeScript with @tessera/* aliases. */
export const TS_REGISTER_PATH = path.join(__dirname, 'ts-register.cjs');

/** Absolute path of a file given relative to the workspace root. */
export function workspacePath(relative: string): string {
  return path.join(__dirname, '..', '..', '..', relative);
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface TsChild {
  readonly process: ChildProcess;
  readonly exited: Promise<ChildExit>;
  /** stdout and stderr so far (for assertion messages). */
  output(): string;
  /** Resolves when a stdout line equals `line` (rejects if the child exits first). */
  waitForLine(line: string, timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Runs a TypeScript entry point of the workspace in a child `node` process. `env` is added to the
 * parent's environment (PATH etc. pass through).
 */
export function spawnTs(entry: string, env: Readonly<Record<string, string>> = {}): TsChild {
  const child = spawn(process.execPath, ['--require', TS_REGISTER_PATH, workspacePath(entry)], {
    env: { ...processEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const lines: string[] = [];
  const lineWaiters = new Set<() => void>();
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    pending += text;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts.map((l) => l.trim()));
    for (const waiter of lineWaiters) waiter();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const exited = new Promise<ChildExit>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const waiter of lineWaiters) waiter();
    });
  });
  return {
    process: child,
    exited,
    output: () => output,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitForLine: (line, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          lineWaiters.delete(check);
          reject(new Error(`Child ${entry} did not print "${line}" within ${timeoutMs} ms. Output:\n${output}`));
        }, timeoutMs);
        const check = (): void => {
          if (lines.includes(line)) {
            clearTimeout(timer);
            lineWaiters.delete(check);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            lineWaiters.delete(check);
            reject(new Error(`Child ${entry} exited before printing "${line}". Output:\n${output}`));
          }
        };
        lineWaiters.add(check);
        check();
      }),
  };
}
