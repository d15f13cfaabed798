import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { loadConfig, observabilityConfig } from '@tessera/platform-config';

export interface TelemetryHandle {
  readonly exporting: boolean;
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry NodeSDK. Called from each app's `instrumentation.ts`, which is loaded
 * with `node --import` before the app so HTTP, pg, redis and express are patched before they load.
 *
 * Kafka is traced by libs/platform/kafka itself (a producer span per record with `traceparent`
 * injected, a consumer span per record that continues it and wraps inbox + handler + commit);
 * the contrib kafkajs instrumentation would create a second, differently-shaped pair of spans.
 *
 * Without OTEL_EXPORTER_OTLP_ENDPOINT no span processor is installed: context and `traceparent`
 * still propagate (log lines still carry trace ids), nothing is exported and no exporter errors
 * are logged.
 */
export function startTelemetry(serviceName: string, serviceVersion = '0.1.0'): TelemetryHandle {
  const config = loadConfig(observabilityConfig);
  if (config.OTEL_SDK_DISABLED) return { exporting: false, shutdown: async () => undefined };
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName, [ATTR_SERVICE_VERSION]: serviceVersion }),
    // With no exporter a processor that drops every span keeps the tracer provider registered, so
    // trace context still flows (log lines, Kafka `traceparent`) at the cost of creating spans.
    spanProcessors: [
      endpoint === undefined
        ? new DroppingSpanProcessor()
        : new BatchSpanProcessor({
            exporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` }),
          }),
    ],
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => req.url === '/health' || req.url === '/metrics' }),
      new ExpressInstrumentation(),
      new NestInstrumentation(),
      // No bound parameters in spans: they would carry patient data.
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      new RedisInstrumentation({ dbStatementSerializer: (command) => command }),
    ],
  });
  sdk.start();
  return { exporting: endpoint !== undefined, shutdown: () => sdk.shutdown() };
}

/** Exports nothing: spans end where they are made (no OTLP endpoint configured). */
class DroppingSpanProcessor implements SpanProcessor {
  onStart(_span: Span): void {}
  onEnd(_span: ReadableSpan): void {}
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}
