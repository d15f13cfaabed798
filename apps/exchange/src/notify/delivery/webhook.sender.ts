import { SIGNATURE_HEADER, signWebhook } from '@tessera/subscriptions';

/** The outcome of one delivery attempt, whatever the channel. */
export interface SendResult {
  readonly ok: boolean;
  /**
   * Whether the failure says the endpoint is unwell (unreachable, timeout, 5xx, 408, 429; for MLLP:
   * no connection, no ACK, AR/CR) and so counts towards its circuit breaker, rather than a refusal
   * of this one notification (4xx; AE/CE) that another attempt will not fix.
   */
  readonly endpointFault: boolean;
  readonly httpStatus: number | null;
  /** Short, PHI-free: a status, an error class, the receiver's error code. */
  readonly error: string | null;
  readonly latencyMs: number;
}

export const NOTIFICATION_ID_HEADER = 'X-Tessera-Notification-Id';

export interface WebhookRequest {
  readonly endpoint: string;
  readonly body: string;
  readonly secrets: readonly string[];
  readonly notificationId: string;
  /** The subscriber's own headers (channel.header), "Name: value". */
  readonly headers: readonly string[];
  readonly timeoutMs: number;
  readonly nowSeconds: number;
}

/** Headers a subscriber may not set: they are ours (signature, idempotency key) or the transport's. */
const RESERVED = new Set(['content-type', 'content-length', 'host', 'connection', 'transfer-encoding']);

/**
 * POSTs one notification Bundle to a rest-hook endpoint (Subscriptions Backport IG "rest-hook"):
 * `application/fhir+json`, signed (HMAC-SHA256 over "<timestamp>.<body>" with every active secret,
 * docs/design/notifications.md "Verifying a notification"), with the notification's idempotency key,
 * never following redirects (a redirect could carry the payload elsewhere).
 */
export async function sendWebhook(request: WebhookRequest): Promise<SendResult> {
  const headers: Record<string, string> = {};
  for (const line of request.headers) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim();
    if (RESERVED.has(name.toLowerCase()) || name.toLowerCase().startsWith('x-tessera-')) continue;
    headers[name] = line.slice(i + 1).trim();
  }
  headers['Content-Type'] = 'application/fhir+json';
  headers[SIGNATURE_HEADER] = signWebhook(request.body, request.secrets, request.nowSeconds);
  headers[NOTIFICATION_ID_HEADER] = request.notificationId;
  const started = performance.now();
  try {
    const response = await fetch(request.endpoint, {
      method: 'POST',
      headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    const latencyMs = performance.now() - started;
    const status = response.status;
    if (status >= 200 && status < 300)
      return { ok: true, endpointFault: false, httpStatus: status, error: null, latencyMs };
    const endpointFault =
      status >= 500 || status === 408 || status === 429 || (status >= 300 && status < 400);
    return { ok: false, endpointFault, httpStatus: status, error: `HTTP ${status}`, latencyMs };
  } catch (error) {
    const latencyMs = performance.now() - started;
    const name = (error as Error).name === 'TimeoutError' ? 'timeout' : transportError(error);
    return { ok: false, endpointFault: true, httpStatus: null, error: name, latencyMs };
  }
}

/** The transport error's code (ECONNREFUSED, ENOTFOUND, …), never its message (it may echo the URL). */
function transportError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}
