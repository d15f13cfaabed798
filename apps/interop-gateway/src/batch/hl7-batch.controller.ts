import { Controller, HttpCode, HttpStatus, Post, Req, UseFilters } from '@nestjs/common';
import type { Request } from 'express';
import { CurrentPrincipal, RequireScopes } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import { OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import { FhirBodyTooLargeError, readBody } from '../fhir/fhir-body.reader';
import { Hl7BatchHandler } from './hl7-batch.handler';
import type { BatchResult } from './hl7-batch.handler';

/** Largest batch file accepted over HTTP. */
export const HL7_BATCH_MAX_BYTES = 64 * 1024 * 1024;

const TYPES = ['x-application/hl7-v2+er7', 'application/hl7-v2', 'text/plain', 'application/octet-stream'];

@Controller('hl7')
@UseFilters(OperationOutcomeFilter)
export class Hl7BatchController {
  constructor(private readonly batches: Hl7BatchHandler) {}

  /**
   * `POST /hl7/batch` with the file as the body: every message ingested as if sent over MLLP; the
   * answer lists each message's ACK code, ledger id and errors (200 even when some were refused:
   * the per-message codes say which). An institution's token may upload only its own feeds'
   * messages: others are answered AR as on an institution's own MLLP port.
   */
  @Post('batch')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('Bundle', 'write')
  async upload(@Req() req: Request, @CurrentPrincipal() principal: Principal): Promise<BatchResult> {
    const institutionId = principal.institutionId;
    if (institutionId === null) {
      throw new OperationOutcomeException(HttpStatus.FORBIDDEN, [
        { code: 'forbidden', diagnostics: 'Batch uploads are made with an institution client token.' },
      ]);
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (!TYPES.includes(type)) {
      throw new OperationOutcomeException(HttpStatus.UNSUPPORTED_MEDIA_TYPE, [
        {
          code: 'not-supported',
          expression: 'Content-Type',
          diagnostics: `Send the batch file as one of ${TYPES.join(', ')}.`,
        },
      ]);
    }
    let bytes: Buffer;
    try {
      bytes = await readBody(req, HL7_BATCH_MAX_BYTES);
    } catch (error) {
      if (error instanceof FhirBodyTooLargeError) {
        throw new OperationOutcomeException(HttpStatus.PAYLOAD_TOO_LARGE, [
          {
            code: 'too-costly',
            diagnostics: `A batch file may be at most ${HL7_BATCH_MAX_BYTES / (1024 * 1024)} MB: split it.`,
          },
        ]);
      }
      throw error;
    }
    const result = await this.batches.ingestFile(
      bytes,
      `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
      {
        authentication: 'access-token',
        identity: principal.clientId,
        institutionId,
        listener: 'http /hl7/batch',
      },
    );
    if (result.messages === 0) {
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
        { code: 'invalid', diagnostics: 'The file holds no HL7 message (no MSH segment).' },
      ]);
    }
    return result;
  }
}
