import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, verifyWebhook } from '@tessera/subscriptions';
import type { SignatureCheck } from '@tessera/subscriptions';

/*
 * A subscriber's side of Tessera's notifications, for the tour, the benchmark and the tests: a
 * small HTTP server that takes rest-hook notification Bundles, verifies each signature with the
 * subscription's secret the way a receiving institution would (docs/design/notifications.md
 * "Verifying a notification"), and keeps what arrived. It can be told to be down (connections
 * refused by answering 503) or slow, to exercise retries and the circuit breaker.
 */

export interface ReceivedNotification {
  readonly at: number;
  readonly notificationId: string;
  readonly signature: SignatureCheck;
  readonly bundle: NotificationBundle;
  /** From the SubscriptionStatus: notification type, event numbers, focus references. */
  readonly type: string;
  readonly subscription: string;
  readonly events: readonly { readonly eventNumber: number; readonly focus: string }[];
}

export interface NotificationBundle {
  readonly resourceType?: string;
  readonly type?: string;
  readonly entry?: readonly { readonly fullUrl?: string; readonly resource?: Record<string, unknown> }[];
}

export type ReceiverMode = 'up' | 'down' | 'slow';

interface Parameter {
  readonly name?: string;
  readonly valueCode?: string;
  readonly valueString?: string;
  readonly valueReference?: { reference?: string };
  readonly valueUnsignedInt?: number;
  readonly valueInteger64?: string;
  readonly valueString64?: string;
  readonly part?: readonly Parameter[];
}

/** What the SubscriptionStatus (first entry) says: type, subscription, event numbers and focus. */
export function statusOf(
  bundle: NotificationBundle,
): Pick<ReceivedNotification, 'type' | 'subscription' | 'events'> {
  const parameters = (bundle.entry?.[0]?.resource?.['parameter'] ?? []) as Parameter[];
  const type = parameters.find((p) => p.name === 'type')?.valueCode ?? '';
  const subscription = parameters.find((p) => p.name === 'subscription')?.valueReference?.reference ?? '';
  const events = parameters
    .filter((p) => p.name === 'notification-event')
    .map((p) => {
      const number = p.part?.find((q) => q.name === 'event-number');
      const focus = p.part?.find((q) => q.name === 'focus')?.valueReference?.reference ?? '';
      return {
        eventNumber: Number(number?.valueString ?? number?.valueInteger64 ?? number?.valueUnsignedInt ?? NaN),
        focus,
      };
    });
  return { type, subscription, events };
}

export class WebhookReceiver {
  readonly received: ReceivedNotification[] = [];
  mode: ReceiverMode = 'up';
  /** Requests answered while down (each is a failed delivery or probe). */
  refused = 0;
  slowMs = 200;
  private server: http.Server | undefined;
  private readonly secrets = new Map<string, string>();
  private waiters: { readonly test: () => boolean; readonly resolve: () => void }[] = [];

  /** The secret of a subscription, as its creation answered it (X-Tessera-Webhook-Secret). */
  trust(subscriptionUrlOrId: string, secret: string): void {
    this.secrets.set(subscriptionUrlOrId.replace(/^.*Subscription\//, ''), secret);
  }

  async start(host = '127.0.0.1'): Promise<string> {
    this.server = http.createServer((request, response) => void this.onRequest(request, response));
    this.server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve) => this.server?.listen(0, host, resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://${host}:${port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server === undefined ? resolve() : this.server.close(() => resolve()),
    );
  }

  /** Event notifications received (handshakes and heartbeats left out), in arrival order. */
  events(subscriptionId?: string): ReceivedNotification[] {
    return this.received.filter(
      (r) =>
        r.type === 'event-notification' &&
        (subscriptionId === undefined || r.subscription.endsWith(`/${subscriptionId}`)),
    );
  }

  /** Resolves when `test` holds (checked after every request), or rejects after `timeoutMs`. */
  until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `webhook: ${what} did not happen within ${timeoutMs} ms (${this.received.length} received)`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ test, resolve: done });
    });
  }

  private async onRequest(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (this.mode === 'down') {
      this.refused += 1;
      response.writeHead(503).end();
      this.wake();
      return;
    }
    if (this.mode === 'slow') await new Promise((r) => setTimeout(r, this.slowMs));
    let bundle: NotificationBundle = {};
    try {
      bundle = JSON.parse(body) as NotificationBundle;
    } catch {
      response.writeHead(400).end();
      return;
    }
    const status = statusOf(bundle);
    const secret = this.secrets.get(status.subscription.replace(/^.*Subscription\//, ''));
    const header = request.headers[SIGNATURE_HEADER.toLowerCase()];
    const signature: SignatureCheck =
      secret === undefined
        ? { ok: false, reason: 'mismatch' }
        : verifyWebhook(typeof header === 'string' ? header : undefined, body, secret, {
            nowSeconds: Math.floor(Date.now() / 1000),
          });
    this.received.push({
      at: Date.now(),
      notificationId: String(request.headers['x-tessera-notification-id'] ?? ''),
      signature,
      bundle,
      ...status,
    });
    response.writeHead(200).end();
    this.wake();
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => w.test());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}
