import { Controller, Get, Header, Inject } from '@nestjs/common';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { Public } from '@tessera/platform-auth';
import { FHIR_JSON } from '@tessera/platform-service';
import { EXCHANGE_SETTINGS } from '../exchange.config';
import type { ExchangeSettings } from '../exchange.config';
import { capabilityStatement, docsPage, openApiDocument } from './api-documents';

/** Public documents: CapabilityStatement, OpenAPI 3.1, and an offline HTML route list. */
@Controller()
export class MetadataController {
  private readonly openApi: Record<string, unknown>;
  private readonly docs: string;

  constructor(@Inject(EXCHANGE_SETTINGS) private readonly settings: ExchangeSettings) {
    this.openApi = openApiDocument(settings.EXCHANGE_PUBLIC_BASE_URL);
    this.docs = docsPage(this.openApi);
  }

  @Get('fhir/metadata')
  @Public()
  @Header('content-type', FHIR_JSON)
  metadata(): CapabilityStatement {
    return capabilityStatement(this.settings.EXCHANGE_PUBLIC_BASE_URL);
  }

  @Get('openapi.json')
  @Public()
  @Header('content-type', 'application/json; charset=utf-8')
  openapi(): Record<string, unknown> {
    return this.openApi;
  }

  @Get('docs')
  @Public()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
  page(): string {
    return this.docs;
  }
}
