import { connect, readAck } from '@tessera/platform-mllp-client';
import type { AckSummary, MllpClient } from '@tessera/platform-mllp-client';
import type { DemoMessage } from './demo-feed.builder';

/*
 * Sends a demo feed over MLLP: one connection per institution (as each hospital's interface engine
 * would), messages in feed order on it, at most `window` unacknowledged at a time (1 = the strict
 * send / wait-for-ACK exchange of MLLP R2 §2.2).
 */

export interface SendFeedOptions {
  readonly host: string;
  readonly port: number;
  /** Messages in flight per connection. Default 1. */
  readonly window?: number;
  /** ACK timeout per message. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface SentMessage {
  readonly message: DemoMessage;
  /** Parsed ACK; absent when `error` is set. */
  readonly ack?: AckSummary;
  readonly latencyMs?: number;
  /** No ACK (timeout, connection failure) or an ACK that is not HL7. */
  readonly error?: string;
}

export async function sendFeed(
  messages: readonly DemoMessage[],
  options: SendFeedOptions,
): Promise<SentMessage[]> {
  const window = Math.max(1, options.window ?? 1);
  const groups = new Map<string, number[]>();
  messages.forEach((m, i) => groups.set(m.institution, [...(groups.get(m.institution) ?? []), i]));
  const results: SentMessage[] = new Array<SentMessage>(messages.length);

  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      let client: MllpClient;
      try {
        client = await connect({ host: options.host, port: options.port });
      } catch (error) {
        for (const i of indexes) results[i] = { message: messages[i], error: (error as Error).message };
        return;
      }
      const inFlight = new Set<Promise<void>>();
      for (const i of indexes) {
        const message = messages[i];
        const done = client
          .send(message.hl7, {
            charset: message.charset,
            ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
          })
          .then(
            (ack) => {
              try {
                results[i] = { message, ack: readAck(ack.text), latencyMs: ack.latencyMs };
              } catch (error) {
                results[i] = {
                  message,
                  latencyMs: ack.latencyMs,
                  error: `ACK is not HL7: ${(error as Error).message}`,
                };
              }
            },
            (error: Error) => {
              results[i] = { message, error: error.message };
            },
          )
          .finally(() => inFlight.delete(done));
        inFlight.add(done);
        if (inFlight.size >= window) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      await client.close();
    }),
  );
  return results;
}
