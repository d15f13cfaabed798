import { spawn } from 'node:child_process';

/** Runs a command, inheriting stdio (or capturing it when quiet); rejects on a non-zero exit. */
export function run(command, args, { quiet = false, env = process.env, cwd = process.cwd() } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', env, cwd });
    let output = '';
    if (quiet) {
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(output);
      else {
        const error = new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}${quiet ? `\n${output}` : ''}`);
        error.output = output;
        error.code = code;
        reject(error);
      }
    });
  });
}
