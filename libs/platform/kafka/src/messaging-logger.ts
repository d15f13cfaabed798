import { logLevel } from 'kafkajs';
import type { logCreator, LogEntry } from 'kafkajs';

/**
 * The logger the messaging libs write to: pino-compatible `(obj, msg)` methods, so a pino logger
 * (or a Nest adapter around one) can be passed as is. kafkajs never writes to the console.
 */
export interface MessagingLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** A logger that drops everything (tests, tools). */
export const silentLogger: MessagingLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

/** Routes one kafkajs log entry to the messaging logger, keeping kafkajs' structured fields. */
export function routeKafkaLogEntry(logger: MessagingLogger, entry: LogEntry): void {
  const { message, timestamp: _timestamp, ...extra } = entry.log;
  const obj = { component: 'kafkajs', namespace: entry.namespace, ...extra };
  const msg = String(message);
  switch (entry.level) {
    case logLevel.ERROR:
      logger.error(obj, msg);
      return;
    case logLevel.WARN:
      logger.warn(obj, msg);
      return;
    case logLevel.INFO:
      logger.info(obj, msg);
      return;
    case logLevel.DEBUG:
    case logLevel.NOTHING:
      logger.debug(obj, msg);
      return;
  }
}

/** A kafkajs `logCreator` writing to `logger` instead of the console. */
export function kafkaLogCreator(logger: MessagingLogger): logCreator {
  return () => (entry: LogEntry) => routeKafkaLogEntry(logger, entry);
}
