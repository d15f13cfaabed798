import { createClient } from 'redis';
import type { redisConfig } from '@tessera/platform-config';
import type { z } from 'zod';

export type RedisSettings = z.output<(typeof redisConfig)['schema']>;
export type RedisClient = ReturnType<typeof createClient>;

/**
 * A connected node-redis client. Reconnects with capped exponential backoff; connection errors
 * are reported through `onError` (the client emits them, and an unhandled 'error' event would
 * crash the process).
 */
export async function connectRedis(
  settings: RedisSettings,
  onError: (error: Error) => void,
  clientName?: string,
): Promise<RedisClient> {
  const client = createClient({
    url: settings.REDIS_URL,
    ...(clientName === undefined ? {} : { name: clientName }),
    socket: { connectTimeout: 5_000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5_000) },
  });
  client.on('error', onError);
  await client.connect();
  return client;
}
