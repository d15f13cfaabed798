import { Controller, Get, Header, HttpStatus, Inject, Param, Req, Res, UseFilters } from '@nestjs/common';
import type { Bundle, Coding, DiagnosticReport } from '@medplum/fhirtypes';
import type { Request, Response } from 'express';
import { DOCUMENT_CONTENT_STORE } from '../content/document-content.store';
import type { DocumentContentStore } from '../content/document-content.store';
import { resultIdsOf } from '../indexing/index-row.mapper';
import { ItemLabeler } from '../indexing/item-labeler';
import type { LabeledResource } from '../indexing/item-labeler';
import { RequireService } from '@tessera/platform-auth';
import { FHIR_JSON, OperationOutcomeException, OperationOutcomeFilter } from '@tessera/platform-service';
import { historyBundle, nextPageUrl, presentItem, searchsetBundle } from './registry-item.presenter';
import { RegistryQueryService } from './registry-query.service';
import type { ItemFacts, SearchPage, SearchResource } from './registry-query.service';
import { parsePatient, parseSearch, SEARCH_SPECS } from './search-params';
import type { SearchQuery, SearchSpec } from './search-params';
import { isVisible, requireSamePerson, requireVisibility } from './visibility.header';

const SHA256_RE = /^[0-9a-f]{64}$/;
const FACT_TYPES: readonly SearchResource[] = [
  'Encounter',
  'DocumentReference',
  'DiagnosticReport',
  'Observation',
];

/**
 * FHIR R4 read side of the registry, shaped after IHE MHD: ITI-67 (Find Document References),
 * ITI-68 (Retrieve Document), plus Encounter / DiagnosticReport / Observation searches and the
 * patient timeline. Thin: parse, call the query service, render the Bundle.
 *
 * Only the exchange calls it (service token): searches, timeline and history answer within the
 * exchange's decision (`X-Tessera-Visibility`, pushed into SQL); content is served after the
 * exchange decided on the item's facts (`/_facts/...`).
 */
@Controller()
@UseFilters(OperationOutcomeFilter)
@RequireService()
export class RegistrySearchController {
  constructor(
    private readonly queries: RegistryQueryService,
    @Inject(DOCUMENT_CONTENT_STORE) private readonly contents: DocumentContentStore,
    private readonly labeler: ItemLabeler,
  ) {}

  @Get('DocumentReference')
  @Header('content-type', FHIR_JSON)
  findDocuments(@Req() request: Request): Promise<Bundle> {
    return this.searchFor('DocumentReference', request);
  }

  @Get('Encounter')
  @Header('content-type', FHIR_JSON)
  findEncounters(@Req() request: Request): Promise<Bundle> {
    return this.searchFor('Encounter', request);
  }

  @Get('DiagnosticReport')
  @Header('content-type', FHIR_JSON)
  findReports(@Req() request: Request): Promise<Bundle> {
    return this.searchFor('DiagnosticReport', request);
  }

  @Get('Observation')
  @Header('content-type', FHIR_JSON)
  findObservations(@Req() request: Request): Promise<Bundle> {
    return this.searchFor('Observation', request);
  }

  /** `GET /Patient/:enterpriseId/$timeline`: everything current about the person, newest first. */
  @Get('Patient/:id/:operation')
  @Header('content-type', FHIR_JSON)
  async timeline(
    @Param('id') id: string,
    @Param('operation') operation: string,
    @Req() request: Request,
  ): Promise<Bundle> {
    const visibility = requireVisibility(request);
    if (operation !== '$timeline') throw unsupported(`Patient operation ${operation.slice(0, 40)}`);
    const patient = parsePatient(id);
    if (patient?.kind !== 'enterprise') {
      throw new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
        { code: 'value', diagnostics: 'the path must name an enterprise id', expression: 'id' },
      ]);
    }
    const url = requestUrl(request);
    const query = parse(url, SEARCH_SPECS.timeline);
    requireSamePerson(visibility, patient.enterpriseId);
    const resolved = await this.queries.resolvePatient(patient, query.includeProbable);
    return bundleOf(await this.queries.timeline(resolved.sources, query, visibility), url, query);
  }

  /** `GET /<type>/:id/_history`: every version the registry indexed, newest first. */
  @Get([
    'Encounter/:id/_history',
    'DocumentReference/:id/_history',
    'DiagnosticReport/:id/_history',
    'Observation/:id/_history',
  ])
  @Header('content-type', FHIR_JSON)
  async history(@Param('id') id: string, @Req() request: Request): Promise<Bundle> {
    const resourceType = request.path.split('/').at(-3) as SearchResource;
    const visibility = requireVisibility(request);
    const history = await this.queries.history(resourceType, id);
    if (history === undefined) throw notFound(resourceType);
    requireSamePerson(visibility, history.enterpriseId);
    // A hidden item is answered as an unknown one: its existence is not disclosed.
    if (!isVisible(visibility, history)) throw notFound(resourceType);
    // Older versions may carry codes the current one no longer has: each version is also judged
    // on its own labels (the rules over its codes and the labels it was sent with) and, for a
    // report, on the labels of the observations that version lists (it may name one the current
    // version no longer lists).
    const listed =
      resourceType === 'DiagnosticReport'
        ? await this.queries.observationLabelCodes(
            history.institutionId,
            history.versions.flatMap((v) => resultIdsOf(v.resource as unknown as DiagnosticReport)),
          )
        : new Map<string, readonly string[]>();
    const versions = history.versions.filter((v) => {
      const resource = v.resource as unknown as LabeledResource & {
        meta?: { security?: Coding[] };
        securityLabel?: { coding?: Coding[] }[];
      };
      const sent = [
        ...(resource.meta?.security ?? []),
        ...(resource.securityLabel ?? []).flatMap((c) => c.coding ?? []),
      ];
      const own = this.labeler.labels(resource, sent).labelCodes;
      const results =
        resource.resourceType === 'DiagnosticReport'
          ? resultIdsOf(resource).flatMap((observationId) => listed.get(observationId) ?? [])
          : [];
      return isVisible(visibility, {
        institutionId: v.institutionId,
        labelCodes: [...history.labelCodes, ...own, ...results],
      });
    });
    return historyBundle(resourceType, id, versions);
  }

  /**
   * `GET /_facts/<type>/:id`: what the exchange decides on before serving one item or its content
   * (`enterpriseId` through MATCH links only, source institution, security labels).
   */
  @Get('_facts/:type/:id')
  async facts(
    @Param('type') type: string,
    @Param('id') id: string,
  ): Promise<{ readonly items: readonly ItemFacts[] }> {
    let items: readonly ItemFacts[];
    if (type === 'Binary') {
      if (!SHA256_RE.test(id)) throw badDigest();
      items = await this.queries.factsOfContent(id);
    } else if ((FACT_TYPES as readonly string[]).includes(type)) {
      items = await this.queries.factsOf(type as SearchResource, id);
    } else {
      throw unsupported(`facts of ${type.slice(0, 40)}`);
    }
    if (items.length === 0) throw notFound(type);
    return { items };
  }

  /** ITI-68 through the DocumentReference: the bytes of its content, whatever its status. */
  @Get('DocumentReference/:id/:operation')
  async documentContent(
    @Param('id') id: string,
    @Param('operation') operation: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    if (operation !== '$content') throw unsupported(`DocumentReference operation ${operation.slice(0, 40)}`);
    const sha256 = await this.queries.contentDigestOf(id);
    if (sha256 === undefined) throw notFound('DocumentReference');
    await this.sendContent(sha256, request, response);
  }

  /** ITI-68 by content address: `Binary/<sha256>` (the URL in DocumentReference.content.attachment.url). */
  @Get('Binary/:sha256')
  async binary(
    @Param('sha256') sha256: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    if (!SHA256_RE.test(sha256)) throw badDigest();
    await this.sendContent(sha256, request, response);
  }

  private async sendContent(sha256: string, request: Request, response: Response): Promise<void> {
    const content = await this.contents.get(sha256);
    if (content === undefined) throw notFound('Binary');
    const etag = `"${sha256}"`;
    response.setHeader('ETag', etag);
    // RFC 9530 Repr-Digest and the older RFC 3230 Digest, both base64 of the SHA-256.
    const b64 = Buffer.from(sha256, 'hex').toString('base64');
    response.setHeader('Repr-Digest', `sha-256=:${b64}:`);
    response.setHeader('Digest', `SHA-256=${b64}`);
    if (request.headers['if-none-match'] === etag) {
      response.status(HttpStatus.NOT_MODIFIED).end();
      return;
    }
    response
      .status(HttpStatus.OK)
      .type(content.contentType)
      .setHeader('Content-Length', String(content.size));
    response.end(content.bytes);
  }

  private async searchFor(resourceType: SearchResource, request: Request): Promise<Bundle> {
    // No decision, no data: the header is checked before anything else of the request.
    const visibility = requireVisibility(request);
    const url = requestUrl(request);
    const query = parse(url, SEARCH_SPECS[resourceType]);
    if (query.patient === null) throw new Error('patient is required by the search spec');
    // The registry resolves the patient itself; a visibility decided for another person is refused.
    // With `enterpriseId: null` the identifier stands for its own source record only.
    const resolved = await this.queries.resolvePatient(query.patient, query.includeProbable);
    requireSamePerson(visibility, resolved.enterpriseId);
    return bundleOf(await this.queries.search(resourceType, resolved.sources, query, visibility), url, query);
  }
}

function requestUrl(request: Request): URL {
  return new URL(request.originalUrl, 'http://registry.invalid');
}

function parse(url: URL, spec: SearchSpec): SearchQuery {
  const result = parseSearch(url.searchParams, spec);
  if (!result.ok) {
    throw new OperationOutcomeException(
      HttpStatus.BAD_REQUEST,
      result.issues.map((i) => ({ code: 'value', diagnostics: i.diagnostics, expression: i.parameter })),
    );
  }
  return result.query;
}

function bundleOf(page: SearchPage, url: URL, query: SearchQuery): Bundle {
  return searchsetBundle(
    page.items.map(presentItem),
    page.total,
    `${url.pathname}${url.search}`,
    nextPageUrl(url, query.offset, query.count, page.total),
  );
}

function notFound(what: string): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.NOT_FOUND, [
    { code: 'not-found', diagnostics: `${what} not found` },
  ]);
}

function badDigest(): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.BAD_REQUEST, [
    {
      code: 'value',
      diagnostics: 'the Binary id is the lowercase hex SHA-256 of the content',
      expression: 'id',
    },
  ]);
}

function unsupported(what: string): OperationOutcomeException {
  return new OperationOutcomeException(HttpStatus.NOT_FOUND, [
    { code: 'not-supported', diagnostics: `${what} is not supported` },
  ]);
}
