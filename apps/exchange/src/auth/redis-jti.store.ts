import { Inject, Injectable } from '@nestjs/common';
import type { RedisClient } from '@tessera/platform-redis';
import { REDIS_CLIENT } from '@tessera/platform-service';
import type { JtiStore } from './client-assertion.validator';

/**
 * Replay protection of client assertions shared by every exchange replica: `SET NX PX` of
 * `auth:jti:{client}:{jti}` until the assertion expires. Redis down → the error propagates
 * and the token endpoint answers 503 (fail closed: no replay check, no token).
 */
@Injectable()
export class RedisJtiStore implements JtiStore {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  async claim(clientId: string, jti: string, ttlMs: number): Promise<boolean> {
    const reply = await this.redis.set(`auth:jti:${clientId}:${jti}`, '1', {
      condition: 'NX',
      expiration: { type: 'PX', value: Math.ceil(ttlMs) },
    });
    return reply === 'OK';
  }
}
