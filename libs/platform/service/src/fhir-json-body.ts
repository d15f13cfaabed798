import type { IncomingMessage } from 'node:http';
import { HttpStatus } from '@nestjs/common';
import { OperationOutcomeException } from './operation-outcome';

/** Largest FHIR request body read by readFhirJson (one resource: a Consent, a Parameters with one Patient). */
const MAX_BYTES = 1024 * 1024;

type BodyRequest = IncomingMessage & { body?: unknown };

function invalid(diagnostics: string, status = HttpStatus.BAD_REQUEST): OperationOutcomeException {
  return new OperationOutcomeException(status, [{ code: status === HttpStatus.PAYLOAD_TOO_LARGE ? 'too-costly' : 'invalid', diagnostics }]);
}

/**
 * The JSON body of a FHIR request: already parsed when sent as application/json, read here when sent
 * as application/fhir+json (FHIR R4 §3.1.0.1.6), which Express's JSON parser leaves alone.
 */
export async function readFhirJson(req: BodyRequest): Promise<unknown> {
  if (req.readableEnded || req.body !== undefined) {
    if (req.body === undefined || (typeof req.body === 'object' && req.body !== null && Object.keys(req.body).length === 0)) {
      throw invalid('a JSON body is required');
    }
    return req.body;
  }
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(fhir\+)?json\b/i.test(type)) throw invalid('send the body as application/fhir+json', HttpStatus.UNSUPPORTED_MEDIA_TYPE);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BYTES) throw invalid(`the body is larger than ${MAX_BYTES} bytes`, HttpStatus.PAYLOAD_TOO_LARGE);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw invalid('the body is not valid JSON');
  }
}
