import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Res,
  UseFilters,
} from '@nestjs/common';
import { RequireRoles } from '@tessera/platform-auth';
import type { Response } from 'express';
import { issuesFromZod, OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import { institutionSchema } from './institution';
import type { Institution } from './institution';
import { InstitutionRegistry } from './institution.registry';
import { InstitutionConflictError, InstitutionTypeormRepository } from './institution.typeorm-repository';
import type { VersionedInstitution } from './institution.typeorm-repository';

/** An institution as the admin API shows it: the document plus its version (also the ETag). */
export type InstitutionView = Institution & {
  readonly meta: { readonly version: number; readonly updatedAt: string };
};

export function toView(entry: VersionedInstitution): InstitutionView {
  return { ...entry.institution, meta: { version: entry.version, updatedAt: entry.updatedAt.toISOString() } };
}

/** Weak ETag of a version (RFC 9110 §8.8.3): W/"3". */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/**
 * The version named by an If-Match header (RFC 9110 §13.1.1): `W/"3"` or `"3"`. Undefined when
 * absent (→ 428); throws a 400 OperationOutcome when malformed or when it lists several tags.
 */
export function versionFromIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(header);
  if (match === null) {
    throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
      {
        code: 'invalid',
        expression: 'If-Match',
        diagnostics: 'If-Match must be one ETag of this institution, e.g. W/"3" (from its GET).',
      },
    ]);
  }
  return Number(match[1]);
}

/** Validates a request body as an Institution; 400 with one issue per problem, named by path. */
export function parseInstitution(body: unknown): Institution {
  const result = institutionSchema.safeParse(body);
  if (!result.success)
    throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, issuesFromZod(result.error, ''));
  return result.data;
}

function notFound(id: string): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.NOT_FOUND, [
    {
      code: 'not-found',
      diagnostics: `Institution ${id} is not registered (POST /admin/institutions creates it).`,
    },
  ]);
}

/**
 * Institutions admin API (operators with the platform.admin role). Changes go through
 * InstitutionRegistry.save, which invalidates the cache of every replica; updates are optimistic:
 * If-Match with the version read (412 when stale, 428 when missing).
 */
@Controller('admin/institutions')
@UseFilters(OperationOutcomeFilter)
@RequireRoles('platform.admin')
export class InstitutionsController {
  constructor(
    private readonly registry: InstitutionRegistry,
    private readonly repository: InstitutionTypeormRepository,
  ) {}

  @Get()
  async list(): Promise<InstitutionView[]> {
    return (await this.repository.all()).map(toView);
  }

  @Get(':id')
  async get(
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<InstitutionView> {
    const entry = await this.repository.get(id);
    if (entry === undefined) throw notFound(id);
    response.setHeader('ETag', etagOf(entry.version));
    return toView(entry);
  }

  @Post()
  @HttpCode(HttpStatus.CREATED)
  async create(
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ): Promise<InstitutionView> {
    const institution = parseInstitution(body);
    try {
      const saved = await this.registry.save(institution, undefined);
      response.setHeader('ETag', etagOf(saved.version));
      response.setHeader('Location', `/admin/institutions/${institution.id}`);
      return toView(saved);
    } catch (error) {
      if (error instanceof InstitutionConflictError) {
        throw new OperationOutcomeException(HttpStatus.CONFLICT, [
          { code: 'conflict', diagnostics: error.message },
        ]);
      }
      throw error;
    }
  }

  @Put(':id')
  async update(
    @Param('id') id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ): Promise<InstitutionView> {
    const expected = versionFromIfMatch(ifMatch);
    if (expected === undefined) {
      throw new OperationOutcomeException(HttpStatus.PRECONDITION_REQUIRED, [
        {
          code: 'required',
          expression: 'If-Match',
          diagnostics: 'Send If-Match with the ETag of the version you read (GET /admin/institutions/{id}).',
        },
      ]);
    }
    const institution = parseInstitution(
      typeof body === 'object' && body !== null && !('id' in body) ? { ...body, id } : body,
    );
    if (institution.id !== id) {
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
        {
          code: 'invalid',
          expression: 'id',
          diagnostics: 'The id in the body must equal the id in the path (ids never change).',
        },
      ]);
    }
    const stale = (current: number) =>
      new OperationOutcomeException(HttpStatus.PRECONDITION_FAILED, [
        {
          code: 'conflict',
          diagnostics: `Institution ${id} is at version ${current}, not ${expected}: read it again and re-apply your change.`,
        },
      ]);
    const current = await this.repository.get(id);
    if (current === undefined) throw notFound(id);
    if (current.version !== expected) throw stale(current.version);
    try {
      const saved = await this.registry.save(institution, expected);
      response.setHeader('ETag', etagOf(saved.version));
      return toView(saved);
    } catch (error) {
      if (!(error instanceof InstitutionConflictError)) throw error;
      // Either someone else saved in between (412) or a sending facility belongs to another institution (409).
      const now = await this.repository.get(id);
      if (now !== undefined && now.version !== expected) throw stale(now.version);
      throw new OperationOutcomeException(HttpStatus.CONFLICT, [
        { code: 'conflict', diagnostics: error.message },
      ]);
    }
  }
}
