import { Injectable } from '@nestjs/common';
import type { HealthCheck } from '@tessera/platform-health';

/** The checks behind `/health`: the platform's (Postgres, Redis, Kafka) plus any a feature adds. */
@Injectable()
export class HealthRegistry {
  private readonly checks: HealthCheck[] = [];

  add(check: HealthCheck): void {
    if (this.checks.some((c) => c.name === check.name)) throw new Error(`Health check ${check.name} is registered twice`);
    this.checks.push(check);
  }

  all(): readonly HealthCheck[] {
    return this.checks;
  }
}
