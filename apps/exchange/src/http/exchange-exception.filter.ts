import { Catch, Inject, NotFoundException } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import {
  FHIR_JSON,
  LOGGER,
  operationOutcome,
  OperationOutcomeException,
  OperationOutcomeFilter,
} from '@tessera/platform-service';
import type { Response } from 'express';
import type { Logger } from 'pino';

/**
 * Every error of the exchange as an OperationOutcome (the platform filter), with one change: Nest's
 * "Cannot GET /path" of an unknown route would echo the path (which may carry identifiers), so it
 * becomes a fixed `not-found` text.
 */
@Catch()
export class ExchangeExceptionFilter implements ExceptionFilter {
  private readonly inner: OperationOutcomeFilter;

  constructor(@Inject(LOGGER) logger: Logger) {
    this.inner = new OperationOutcomeFilter(logger);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    if (exception instanceof NotFoundException && !(exception instanceof OperationOutcomeException)) {
      const response = host.switchToHttp().getResponse<Response>();
      if (response.headersSent) return;
      response
        .status(404)
        .type(FHIR_JSON)
        .send(
          JSON.stringify(
            operationOutcome([
              {
                code: 'not-found',
                diagnostics: 'no such route on the exchange; see /openapi.json or /fhir/metadata',
              },
            ]),
          ),
        );
      return;
    }
    this.inner.catch(exception, host);
  }
}
