import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FHIR_JSON, LOGGER, operationOutcome } from '@tessera/platform-service';
import type { IssueCode } from '@tessera/platform-service';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

/** Largest request body the exchange reads (design: 1 MiB). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Largest CSV roster upload (about 400,000 identifiers). */
export const MAX_CSV_BYTES = 32 * 1024 * 1024;

interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
  readonly statusCode?: number;
}

/**
 * Installs the body parsers before Nest would install its own (Nest skips parsers named
 * `jsonParser`/`urlencodedParser` already on the app): JSON and FHIR JSON up to 1 MiB, forms up to
 * 1 MiB, and an error handler right behind them, so a body-parser failure (too large, malformed
 * JSON, bad charset) is an OperationOutcome like every other error — never Express's HTML page with
 * a stack trace. Runs when the module is instantiated, i.e. before `app.init()`.
 */
@Injectable()
export class BodyLimits {
  constructor(adapterHost: HttpAdapterHost, @Inject(LOGGER) logger: Logger) {
    const app = adapterHost.httpAdapter.getInstance<express.Express>();
    const json = express.json({
      limit: MAX_BODY_BYTES,
      type: ['application/json', 'application/fhir+json', 'application/*+json'],
    });
    const form = express.urlencoded({ limit: MAX_BODY_BYTES, extended: true });
    // Rosters are uploaded as CSV: a region's care-management roster runs to 100,000s of rows.
    const csv = express.text({ limit: MAX_CSV_BYTES, type: ['text/csv'] });
    app.use(function jsonParser(req: Request, res: Response, next: NextFunction) {
      json(req, res, next);
    });
    app.use(function urlencodedParser(req: Request, res: Response, next: NextFunction) {
      form(req, res, next);
    });
    app.use(function csvParser(req: Request, res: Response, next: NextFunction) {
      csv(req, res, next);
    });
    app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) {
        next(error);
        return;
      }
      const e = (error ?? {}) as BodyParserError;
      const status = e.status ?? e.statusCode ?? 500;
      let code: IssueCode = 'invalid';
      let diagnostics = 'the request body could not be read';
      if (e.type === 'entity.too.large' || status === 413) {
        code = 'too-costly';
        diagnostics = `the request body is larger than ${MAX_BODY_BYTES} bytes (1 MiB; a CSV roster: ${MAX_CSV_BYTES} bytes)`;
      } else if (e.type === 'entity.parse.failed') {
        code = 'structure';
        diagnostics = 'the request body is not valid JSON';
      } else if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') {
        code = 'not-supported';
        diagnostics = 'send the body as UTF-8 JSON (application/fhir+json)';
      } else if (status >= 500) {
        logger.error({ err: error }, 'request body failed');
        code = 'exception';
        diagnostics = 'Internal error reading the request body.';
      }
      res
        .status(e.type === 'entity.too.large' ? 413 : status >= 400 && status < 600 ? status : 400)
        .type(FHIR_JSON)
        .send(JSON.stringify(operationOutcome([{ code, diagnostics }])));
    });
  }
}
