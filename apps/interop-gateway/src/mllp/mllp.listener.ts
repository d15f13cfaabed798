import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import { buildAckForUnparseable, Hl7ErrorCodes } from '@tessera/hl7v2';
import type { MllpFramingError } from '@tessera/hl7v2';
import { AuditWriter } from '@tessera/platform-audit';
import { Counter as PromCounter } from '@tessera/platform-observability';
import { LifecycleService, LOGGER, METRICS_REGISTRY } from '@tessera/platform-service';
import { GATEWAY_SETTINGS } from '../gateway.config';
import type { GatewaySettings } from '../gateway.config';
import { encodeAck, nextAckControlId, peekHeader } from '../ingest/ack-text';
import { IngestHandler } from '../ingest/ingest.handler';
import { InstitutionRegistry } from '../institutions/institution.registry';
import type { AuthenticatedSender } from '../ingest/sender.types';
import {
  authenticateConnection,
  institutionListenerSecurity,
  sharedListenerSecurity,
} from './listener-security.policy';
import type { ConnectionVerdict, ListenerSecurity } from './listener-security.policy';
import { MllpConnection } from './mllp-connection';

const SHARED = '(shared)';

/** The CN of a verified client certificate; undefined when its subject has none or several. */
function clientCertificateName(socket: tls.TLSSocket): string | undefined {
  const subject = socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined;
  const cn = subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

type OpenSecurity = Exclude<ListenerSecurity, { kind: 'refused' }>;

/** Shutdown: the MLLP listener closes before consumers drain (stage 10), so no new message arrives. */
const MLLP_STAGE = 5;

interface ListenerSpec {
  readonly port: number;
  readonly security: OpenSecurity;
  /** Institution the port is reserved for; undefined for the shared port. */
  readonly institutionId: string | undefined;
}

interface OpenListener extends ListenerSpec {
  readonly server: net.Server;
  /** How alerts and the ledger name it: `mllp shared :2575`, `mllp riverside :12575`. */
  readonly label: string;
}

/**
 * The MLLP listeners hospitals connect to: the shared port (default 2575, any registered
 * institution) and, per institution that has one, a port of its own on which only that
 * institution's facilities may send. Each connection is authenticated before a byte is read (see
 * listener-security.policy): a TLS client certificate whose CN is one of the institution's
 * certificate names, a source address on its allow-list, or — on a loopback MLLP_HOST — the
 * loopback itself. A refused connection is closed and recorded as a security alert. Institution
 * ports follow the registry: adding, moving or removing one takes effect on every replica without
 * a restart.
 */
@Injectable()
export class MllpListener implements OnApplicationBootstrap {
  private readonly listeners = new Map<string, OpenListener>();
  private readonly connections = new Set<MllpConnection>();
  private readonly sockets = new Set<net.Socket>();
  private closing = false;
  private reconciling: Promise<void> = Promise.resolve();
  /** Institution ports not opened because they would not authenticate their senders (logged once per change). */
  private readonly refusedPorts = new Map<string, string>();
  private readonly refusedConnections: Counter<'listener' | 'cause'>;

  constructor(
    private readonly ingest: IngestHandler,
    private readonly institutions: InstitutionRegistry,
    private readonly audit: AuditWriter,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
    lifecycle: LifecycleService,
  ) {
    lifecycle.register({ name: 'mllp-listener', stage: MLLP_STAGE, drain: () => this.close() });
    this.refusedConnections = new PromCounter({
      name: 'gateway_mllp_connections_refused_total',
      help: "MLLP connections closed before reading: source address not allowed, client certificate not the institution's, TLS handshake failed",
      labelNames: ['listener', 'cause'],
      registers: [registry],
    });
  }

  /** The shared listener's address (tests read the port when MLLP_PORT=0). */
  get address(): net.AddressInfo | undefined {
    const address = this.listeners.get(SHARED)?.server.address();
    return typeof address === 'object' && address !== null ? address : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.settings.GATEWAY_ROLES.includes('mllp')) return;
    const shared = sharedListenerSecurity(this.settings);
    // loadGatewaySettings refuses to boot with such a shared port; this guards any other way in.
    if (shared.kind === 'refused') throw new Error(`MLLP: ${shared.reason}`);
    await this.open(SHARED, { port: this.settings.MLLP_PORT, security: shared, institutionId: undefined });
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
    const wanted = new Map<string, ListenerSpec>();
    for (const { institution } of this.institutions.list()) {
      if (!institution.active || institution.feed.port === undefined) continue;
      const security = institutionListenerSecurity(institution.feed, this.settings);
      if (security.kind === 'refused') {
        if (this.refusedPorts.get(institution.id) !== security.reason) {
          this.logger.error(
            { institutionId: institution.id, port: institution.feed.port, host: this.settings.MLLP_HOST },
            `MLLP institution port not opened: ${security.reason}. Set feed.tls (client certificates) or feed.allowedAddresses for it, or bind MLLP_HOST to a loopback address.`,
          );
          this.refusedPorts.set(institution.id, security.reason);
        }
        continue;
      }
      this.refusedPorts.delete(institution.id);
      wanted.set(institution.id, { port: institution.feed.port, security, institutionId: institution.id });
    }
    for (const [key, open] of this.listeners) {
      if (key === SHARED) continue;
      const want = wanted.get(key);
      if (want === undefined || want.port !== open.port || want.security.kind !== open.security.kind) {
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

  private async open(key: string, spec: ListenerSpec): Promise<void> {
    const tlsListener = spec.security.kind === 'tls';
    let label = `mllp ${spec.institutionId ?? 'shared'} :${spec.port}`;
    const onSocket = (socket: net.Socket, certificateName?: string) =>
      this.accept(socket, { ...spec, label }, certificateName);
    const server = tlsListener
      ? tls.createServer({ ...this.tlsOptions(), requestCert: true, rejectUnauthorized: true }, (socket) =>
          onSocket(socket, clientCertificateName(socket)),
        )
      : net.createServer((socket) => onSocket(socket));
    server.maxConnections = this.settings.MLLP_MAX_CONNECTIONS;
    if (tlsListener) {
      server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
        this.refusedConnections.inc({ listener: spec.institutionId ?? 'shared', cause: 'handshake' });
        this.logger.warn(
          { institutionId: key, peer: `${socket.remoteAddress ?? '?'}`, error: error.message },
          'MLLP TLS handshake refused',
        );
      });
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
    label = `mllp ${spec.institutionId ?? 'shared'} :${port}`;
    this.listeners.set(key, { ...spec, server, port, label });
    this.logger.info(
      {
        host: this.settings.MLLP_HOST,
        port,
        authentication: spec.security.kind,
        institutionId: spec.institutionId ?? '(shared)',
      },
      'MLLP listener ready',
    );
  }

  private tlsOptions(): tls.TlsOptions {
    const { MLLP_TLS_CERT_FILE: cert, MLLP_TLS_KEY_FILE: key, MLLP_TLS_CA_FILE: ca } = this.settings;
    if (cert === undefined || key === undefined || ca === undefined) {
      throw new Error(
        'A TLS MLLP port (feed.tls or MLLP_SHARED_TLS) needs MLLP_TLS_CERT_FILE, MLLP_TLS_KEY_FILE and MLLP_TLS_CA_FILE (PEM files)',
      );
    }
    return { cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(ca), minVersion: 'TLSv1.2' };
  }

  /** Authenticates a new connection before reading from it; a refused one is closed and alerted. */
  private accept(
    socket: net.Socket,
    listener: ListenerSpec & { readonly label: string },
    certificateName: string | undefined,
  ): void {
    const institution =
      listener.institutionId === undefined
        ? undefined
        : this.institutions.get(listener.institutionId)?.institution;
    const verdict = authenticateConnection(
      {
        label: listener.label,
        security: listener.security,
        ...(listener.institutionId === undefined ? {} : { reservedFor: listener.institutionId }),
      },
      institution,
      {
        remoteAddress: socket.remoteAddress ?? '',
        ...(certificateName === undefined ? {} : { certificateName }),
      },
      (name) => this.institutions.byCertificateName(name),
    );
    if (!verdict.accepted) {
      this.refuse(socket, listener, verdict);
      return;
    }
    const sender: AuthenticatedSender = verdict.sender;
    const connection = new MllpConnection(socket, {
      maxFrameBytes: this.settings.MLLP_MAX_FRAME_BYTES,
      maxInFlight: this.settings.MLLP_MAX_IN_FLIGHT,
      idleTimeoutMs: this.settings.MLLP_IDLE_TIMEOUT_MS,
      onFrame: async (payload, peer) =>
        (
          await this.ingest.ingest(payload, {
            peer: certificateName === undefined ? peer : `CN=${certificateName}@${peer}`,
            channel: 'mllp',
            sender,
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

  /** Closes a connection that did not prove to be the port's institution, and records a security alert. */
  private refuse(
    socket: net.Socket,
    listener: ListenerSpec & { readonly label: string },
    verdict: Extract<ConnectionVerdict, { accepted: false }>,
  ): void {
    socket.destroy();
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.refusedConnections.inc({ listener: listener.institutionId ?? 'shared', cause: verdict.cause });
    this.logger.warn(
      { peer, listener: listener.label, cause: verdict.cause },
      `MLLP connection refused: ${verdict.reason}`,
    );
    this.audit.recordDetached({
      type: 'security-alert',
      subtype: 'mllp-connect',
      action: 'E',
      outcome: '8',
      outcomeDesc: `connection refused: ${verdict.reason}`.slice(0, 500),
      agent: {
        clientId: verdict.identity ?? null,
        institutionId: null,
        network: peer.slice(0, 100),
      },
      entities: [{ type: 'listener', reference: listener.label }],
      detail: `MLLP connection closed before reading: ${verdict.reason}`.slice(0, 1000),
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
