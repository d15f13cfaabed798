import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Histogram, Registry } from 'prom-client';
import type { Observable } from 'rxjs';
import { finalize } from 'rxjs';
import { httpRequestDuration } from '@tessera/platform-observability';
import { METRICS_REGISTRY } from './tokens';

/** Request duration by route template (`/Patient/:id`), never by raw URL (it can carry identifiers). */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  private readonly histogram: Histogram<'method' | 'route' | 'status'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.histogram = httpRequestDuration(registry);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const stop = this.histogram.startTimer({ method: req.method });
    return next.handle().pipe(
      finalize(() => {
        const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
        stop({ route, status: String(res.statusCode) });
      }),
    );
  }
}
