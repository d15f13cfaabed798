import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpStatus, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FHIR_JSON, operationOutcome, OperationOutcomeException } from '@tessera/platform-service';

/** Largest Bundle accepted (documents travel inline as base64). */
export const FHIR_MAX_BODY_BYTES = 10 * 1024 * 1024;

const TOO_LARGE = `The Bundle is larger than ${FHIR_MAX_BODY_BYTES / (1024 * 1024)} MB: split it into several Bundles.`;

type BodyRequest = IncomingMessage & { body?: unknown };

export class FhirBodyTooLargeError extends Error {
  constructor() {
    super(TOO_LARGE);
    this.name = 'FhirBodyTooLargeError';
  }
}

/** Reads the whole request body, up to `limit` bytes (then drains the rest and rejects). */
export function readBody(req: IncomingMessage, limit = FHIR_MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new FhirBodyTooLargeError());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? reject(new FhirBodyTooLargeError()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/**
 * The body of a FHIR request as bytes (the ledger keeps exactly what was sent): read by the early
 * middleware below when it is installed, else read here (application/fhir+json is never consumed
 * by Nest's JSON parser), else — application/json already parsed by Nest — re-serialized.
 */
export async function fhirBodyOf(req: BodyRequest): Promise<Buffer> {
  if (Buffer.isBuffer(req.body)) return req.body;
  if (req.readableEnded || (typeof req.body === 'object' && req.body !== null)) {
    return Buffer.from(req.body === undefined ? '' : JSON.stringify(req.body), 'utf8');
  }
  try {
    return await readBody(req);
  } catch (error) {
    if (error instanceof FhirBodyTooLargeError) {
      throw new OperationOutcomeException(HttpStatus.PAYLOAD_TOO_LARGE, [
        { code: 'too-costly', expression: 'Bundle', diagnostics: TOO_LARGE },
      ]);
    }
    throw error;
  }
}

/**
 * Reads `POST /fhir…` bodies before Nest's JSON parser (100 kB limit, application/json only) can:
 * installed on the HTTP adapter when this provider is created, which with NestFactory.create is
 * before the application registers its body parsers. Bodies over FHIR_MAX_BODY_BYTES are answered
 * 413 with an OperationOutcome here.
 */
@Injectable()
export class FhirBodyReader {
  readonly installed: boolean;

  constructor(adapterHost: HttpAdapterHost) {
    const adapter = adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    this.installed = adapter !== undefined;
    adapter?.use('/fhir', (req: BodyRequest, res: ServerResponse, next: (error?: unknown) => void) => {
      if (req.method !== 'POST') return next();
      readBody(req).then(
        (body) => {
          req.body = body;
          next();
        },
        (error: unknown) => {
          if (!(error instanceof FhirBodyTooLargeError)) return next(error);
          res.statusCode = HttpStatus.PAYLOAD_TOO_LARGE;
          res.setHeader('Content-Type', FHIR_JSON);
          res.setHeader('Connection', 'close');
          res.end(
            JSON.stringify(
              operationOutcome([{ code: 'too-costly', expression: 'Bundle', diagnostics: TOO_LARGE }]),
            ),
          );
        },
      );
    });
  }
}
