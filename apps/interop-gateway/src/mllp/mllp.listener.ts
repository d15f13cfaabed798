import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { buildAckForUnparseable, Hl7ErrorCodes } from '@tessera/hl7v2';
import type { MllpFramingError } from '@tessera/hl7v2';
import { LifecycleService, LOGGER } from '@tessera/platform-service';
import { GATEWAY_SETTINGS } from '../gateway.config';
import type { GatewaySettings } from '../gateway.config';
import { encodeAck, nextAckControlId, peekHeader } from '../ingest/ack-text';
import { IngestHandler } from '../ingest/ingest.handler';
import { InstitutionRegistry } from '../institutions/institution.registry';
import { MllpConnection } from './mllp-connection';

const SHARED = '(shared)';

/** CN of a verified client certificate (recorded with the peer address; never patient data). */
function clientCertificateName(socket: tls.TLSSocket): string | undefined {
  const subject = socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined;
  const cn = subject?.CN;
  return cn === undefined ? undefined : `CN=${Array.isArray(cn) ? cn.join(',') : cn}`;
}

/** Shutdown: the MLLP listener closes before consumers drain (stage 10), so no new message arrives. */
const MLLP_STAGE = 5;

interface OpenListener {
  readonly server: net.Server;
  readonly port: number;
  readonly tls: boolean;
  /** Institution the port is reserved for; undefined for the shared port. */
  readonly institutionId: string | undefined;
}

/**
 * The MLLP listeners hospitals connect to: the shared port (default 2575, any registered
 * institution) and, per institution that has one, a port of its own — optionally TLS with a
 * required client certificate — on which only that institution's facilities may send.
 * Institution ports follow the registry: adding, moving or removing one takes effect on every
 * replica without a restart.
 */
@Injectable()
export class MllpListener implements OnApplicationBootstrap {
  private readonly listeners = new Map<string, OpenListener>();
  private readonly connections = new Set<MllpConnection>();
  private readonly sockets = new Set<net.Socket>();
  private closing = false;
  private reconciling: Promise<void> = Promise.resolve();

  constructor(
    private readonly ingest: IngestHandler,
    private readonly institutions: InstitutionRegistry,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(LOGGER) private readonly logger: Logger,
    lifecycle: LifecycleService,
  ) {
    lifecycle.register({ name: 'mllp-listener', stage: MLLP_STAGE, drain: () => this.close() });
  }

  /** The shared listener's address (tests read the port when MLLP_PORT=0). */
  get address(): net.AddressInfo | undefined {
    const address = this.listeners.get(SHARED)?.server.address();
    return typeof address === 'object' && address !== null ? address : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.settings.GATEWAY_ROLES.includes('mllp')) return;
    await this.open(SHARED, { port: this.settings.MLLP_PORT, tls: false, institutionId: undefined });
    await this.reconcile();
    this.institutions.onChange(() => {
      this.reconciling = this.reconciling.then(() => this.reconcile());
    });
  }

  /** Stops accepting, lets every in-flight message finish and its ACK be written, then closes. */
  async close(): Promise<void> {
    this.closing = true;
    await this.reconciling;
    const closed = [...this.listeners.values()].map(
      (l) => new Promise<void>((resolve) => l.server.close(() => resolve())),
    );
    for (const socket of this.sockets) socket.pause();
    await Promise.all([...this.connections].map((c) => c.settled()));
    for (const socket of this.sockets) socket.end();
    setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 2_000).unref();
    await Promise.all(closed);
    this.listeners.clear();
  }

  /** Opens, moves or closes institution ports so they match the registry. */
  private async reconcile(): Promise<void> {
    if (this.closing) return;
    const wanted = new Map<string, { port: number; tls: boolean; institutionId: string }>();
    for (const { institution } of this.institutions.list()) {
      if (institution.active && institution.feed.port !== undefined) {
        wanted.set(institution.id, {
          port: institution.feed.port,
          tls: institution.feed.tls,
          institutionId: institution.id,
        });
      }
    }
    for (const [key, open] of this.listeners) {
      if (key === SHARED) continue;
      const want = wanted.get(key);
      if (want === undefined || want.port !== open.port || want.tls !== open.tls) {
        await new Promise<void>((resolve) => open.server.close(() => resolve()));
        this.listeners.delete(key);
        this.logger.info({ institutionId: key, port: open.port }, 'MLLP institution port closed');
      }
    }
    for (const [key, want] of wanted) {
      if (this.listeners.has(key)) continue;
      try {
        await this.open(key, want);
      } catch (error) {
        this.logger.error(
          { institutionId: key, port: want.port, err: error },
          'MLLP institution port could not be opened',
        );
      }
    }
  }

  private async open(
    key: string,
    spec: { port: number; tls: boolean; institutionId: string | undefined },
  ): Promise<void> {
    const onSocket = (socket: net.Socket, peer?: string) => this.accept(socket, spec.institutionId, peer);
    const server = spec.tls
      ? tls.createServer({ ...this.tlsOptions(), requestCert: true, rejectUnauthorized: true }, (socket) =>
          onSocket(socket, clientCertificateName(socket)),
        )
      : net.createServer((socket) => onSocket(socket));
    server.maxConnections = this.settings.MLLP_MAX_CONNECTIONS;
    if (spec.tls) {
      server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) =>
        this.logger.warn(
          { institutionId: key, peer: `${socket.remoteAddress ?? '?'}`, error: error.message },
          'MLLP TLS handshake refused',
        ),
      );
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(spec.port, this.settings.MLLP_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.error({ err: error, port: spec.port }, 'MLLP listener error'));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : spec.port;
    this.listeners.set(key, { server, port, tls: spec.tls, institutionId: spec.institutionId });
    this.logger.info(
      { host: this.settings.MLLP_HOST, port, tls: spec.tls, institutionId: spec.institutionId ?? '(shared)' },
      'MLLP listener ready',
    );
  }

  private tlsOptions(): tls.TlsOptions {
    const { MLLP_TLS_CERT_FILE: cert, MLLP_TLS_KEY_FILE: key, MLLP_TLS_CA_FILE: ca } = this.settings;
    if (cert === undefined || key === undefined || ca === undefined) {
      throw new Error(
        'A TLS feed needs MLLP_TLS_CERT_FILE, MLLP_TLS_KEY_FILE and MLLP_TLS_CA_FILE (PEM files)',
      );
    }
    return { cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(ca), minVersion: 'TLSv1.2' };
  }

  private accept(
    socket: net.Socket,
    reservedFor: string | undefined,
    certificateName: string | undefined,
  ): void {
    const connection = new MllpConnection(socket, {
      maxFrameBytes: this.settings.MLLP_MAX_FRAME_BYTES,
      maxInFlight: this.settings.MLLP_MAX_IN_FLIGHT,
      idleTimeoutMs: this.settings.MLLP_IDLE_TIMEOUT_MS,
      onFrame: async (payload, peer) =>
        (
          await this.ingest.ingest(payload, {
            peer: certificateName === undefined ? peer : `${certificateName}@${peer}`,
            channel: 'mllp',
            ...(reservedFor === undefined ? {} : { reservedFor }),
          })
        ).ack,
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
    const fragments = peekHeader(error.head);
    this.logger.warn(
      { peer, code: error.code, bytes: error.byteCount, controlId: fragments.controlId },
      'MLLP: frame rejected',
    );
    const text = buildAckForUnparseable(fragments, {
      code: 'AR',
      controlId: nextAckControlId(),
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
    return encodeAck(text, fragments.characterSet ?? '');
  }
}
