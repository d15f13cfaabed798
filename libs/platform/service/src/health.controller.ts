import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { runHealthChecks } from '@tessera/platform-health';
import type { HealthReport } from '@tessera/platform-health';
import { HealthRegistry } from './health.registry';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY, SERVICE_OPTIONS } from './tokens';
import type { ServiceOptions } from './platform-settings';

const startedAt = Date.now();

@Controller()
export class HealthController {
  constructor(
    @Inject(SERVICE_OPTIONS) private readonly options: ServiceOptions,
    private readonly checks: HealthRegistry,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
  ) {}

  /** Readiness: 200 when Postgres, Redis and Kafka (and any service-specific check) answer. */
  @Get('health')
  async health(@Res({ passthrough: true }) res: Response): Promise<HealthReport> {
    const report = await runHealthChecks(this.options.name, this.checks.all(), 2_000, startedAt);
    res.status(report.status === 'ok' ? 200 : 503);
    return report;
  }

  /** Liveness: the event loop answers. */
  @Get('health/live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('metrics')
  async metrics(@Res() res: Response): Promise<void> {
    res.setHeader('Content-Type', this.registry.contentType);
    res.send(await this.registry.metrics());
  }
}
