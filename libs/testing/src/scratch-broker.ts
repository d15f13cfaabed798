import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { workspacePath } from './child-process.helper';
import { freePort } from './service-process';

const run = promisify(execFile);

/**
 * A second, real Kafka broker (same jars, own state directory and ports) that a test may stop and
 * start — for proving behaviour during a broker outage without disturbing the shared broker.
 */
export class ScratchBroker {
  private constructor(
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly stateDir: string,
  ) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async create(): Promise<ScratchBroker> {
    const port = await freePort();
    const controllerPort = await freePort();
    const stateDir = path.join(os.tmpdir(), `tessera-scratch-kafka-${port}`);
    const env = {
      ...process.env,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(controllerPort),
      KAFKA_STATE_DIR: stateDir,
      KAFKA_HEAP_OPTS: '-Xms256m -Xmx512m',
    };
    const broker = new ScratchBroker(port, env, stateDir);
    await broker.start();
    return broker;
  }

  async start(): Promise<void> {
    await run('bash', [workspacePath('deploy/kafka/kafka.sh'), 'start'], { env: this.env, timeout: 120_000 });
  }

  async stop(): Promise<void> {
    await run('bash', [workspacePath('deploy/kafka/kafka.sh'), 'stop'], { env: this.env, timeout: 60_000 });
  }

  /** Stops the broker and deletes its state. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
