import net from 'node:net';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { buildAckForUnparseable, encodeHl7Text, Hl7ErrorCodes, recoverHeaderFragments } from '@tessera/hl7v2';
import type { MllpFramingError } from '@tessera/hl7v2';
import { LifecycleService, LOGGER } from '@tessera/platform-service';
import { GATEWAY_SETTINGS } from '../gateway.config';
import type { GatewaySettings } from '../gateway.config';
import { IngestHandler } from '../ingest/ingest.handler';
import { MllpConnection } from './mllp-connection';

/** Shutdown: the MLLP listener closes before consumers drain (stage 10), so no new message arrives. */
const MLLP_STAGE = 5;

/** The MLLP listener hospitals connect to (default port 2575). */
@Injectable()
export class MllpListener implements OnApplicationBootstrap {
  private server: net.Server | undefined;
  private readonly connections = new Set<MllpConnection>();
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly ingest: IngestHandler,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(LOGGER) private readonly logger: Logger,
    lifecycle: LifecycleService,
  ) {
    lifecycle.register({ name: 'mllp-listener', stage: MLLP_STAGE, drain: () => this.close() });
  }

  get address(): net.AddressInfo | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address !== null ? address : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    server.maxConnections = this.settings.MLLP_MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.MLLP_PORT, this.settings.MLLP_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.error({ err: error }, 'MLLP listener error'));
    this.server = server;
    this.logger.info({ host: this.settings.MLLP_HOST, port: this.address?.port }, 'MLLP listener ready');
  }

  /** Stops accepting, lets every in-flight message finish and its ACK be written, then closes. */
  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.pause();
    await Promise.all([...this.connections].map((c) => c.settled()));
    for (const socket of this.sockets) socket.end();
    setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 2_000).unref();
    await closed;
  }

  private accept(socket: net.Socket): void {
    const connection = new MllpConnection(socket, {
      maxFrameBytes: this.settings.MLLP_MAX_FRAME_BYTES,
      maxInFlight: this.settings.MLLP_MAX_IN_FLIGHT,
      idleTimeoutMs: this.settings.MLLP_IDLE_TIMEOUT_MS,
      onFrame: async (payload, peer) => (await this.ingest.ingest(payload, { peer, channel: 'mllp' })).ack,
      onFramingError: (error, peer) => this.framingAck(error, peer),
      onProblem: (what, detail) => this.logger.warn(detail, `MLLP: ${what}`),
    });
    this.connections.add(connection);
    this.sockets.add(socket);
    socket.once('close', () => {
      this.connections.delete(connection);
      this.sockets.delete(socket);
    });
  }

  /**
   * An oversized or truncated frame is answered AR from what its first bytes tell (MSH-10), so
   * the sender learns which message failed; the connection stays usable.
   */
  private async framingAck(error: MllpFramingError, peer: string): Promise<Buffer | undefined> {
    if (error.head === undefined) return undefined;
    const fragments = recoverHeaderFragments(error.head.toString('latin1'));
    this.logger.warn({ peer, code: error.code, bytes: error.byteCount, controlId: fragments.controlId }, 'MLLP: frame rejected');
    const text = buildAckForUnparseable(fragments, {
      code: 'AR',
      controlId: `F${Date.now().toString(36).toUpperCase()}`,
      now: new Date(),
      sendingApplication: this.settings.GATEWAY_APPLICATION,
      sendingFacility: this.settings.GATEWAY_FACILITY,
      errors: [
        {
          code: Hl7ErrorCodes.ApplicationInternalError,
          severity: 'E',
          userMessage:
            error.code === 'FRAME_TOO_LARGE'
              ? `The message exceeds the exchange's maximum size of ${this.settings.MLLP_MAX_FRAME_BYTES} bytes and was not accepted.`
              : 'The MLLP frame was incomplete (a new start block arrived before its end block); the message was not accepted. Send it again.',
        },
      ],
    });
    try {
      return encodeHl7Text(text, fragments.characterSet ?? '');
    } catch {
      return Buffer.from(text, 'utf8');
    }
  }
}
