import { context, trace } from '@opentelemetry/api';
import type { LoggerService } from '@nestjs/common';
import pino from 'pino';
import type { Logger } from 'pino';

/**
 * Paths redacted from every log line. Patient data never reaches logs: these paths are the
 * safety net for a field that slips through (FHIR Patient fields, HL7 text, names, identifiers).
 */
export const REDACTED_PATHS: readonly string[] = [
  'name',
  '*.name',
  'given',
  'family',
  '*.given',
  '*.family',
  'birthDate',
  '*.birthDate',
  'address',
  '*.address',
  'telecom',
  '*.telecom',
  'identifier',
  '*.identifier',
  'patient',
  '*.patient',
  'message',
  'hl7',
  '*.hl7',
  'raw',
  '*.raw',
  'payload',
  '*.payload',
  'data',
  '*.data',
  'body',
  '*.body',
  'req.headers.authorization',
  'headers.authorization',
  'password',
  '*.password',
  'secret',
  '*.secret',
  // A failed SQL statement (TypeORM QueryFailedError, pg's error) carries the statement's bound
  // values — raw HL7, names, identifiers — and Postgres's detail repeats a conflicting key's values.
  'err.parameters',
  'err.driverError',
  'err.detail',
  'error.parameters',
  'error.driverError',
  'error.detail',
];

export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const span = trace.getSpan(context.active());
      if (span === undefined) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** Nest's LoggerService backed by pino, so framework messages are structured JSON too. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: pino.Level, message: unknown, rest: unknown[]): void {
    const contextName = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const fields = contextName === undefined ? {} : { context: contextName };
    if (message instanceof Error) {
      this.logger[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...fields, ...message });
    } else {
      this.logger[level](fields, String(message));
    }
  }
}
