import 'reflect-metadata';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { ClinicalController } from '../fhir/clinical.controller';
import { ConsentController } from '../fhir/consent.controller';
import { PatientController } from '../fhir/patient.controller';
import { NotifyController } from '../notify/api/notify.controller';
import { MetadataController } from './metadata.controller';
import { capabilityStatement, openApiDocument } from './api-documents';
import { ROUTES } from './route-table';

/** Every controller route, as `METHOD /path` with `:param` → `{param}`. */
function controllerRoutes(): string[] {
  const out: string[] = [];
  for (const controller of [
    MetadataController,
    PatientController,
    ClinicalController,
    ConsentController,
    NotifyController,
  ]) {
    const prefix = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const proto = controller.prototype as unknown as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const handler = proto[name];
      if (typeof handler !== 'function' || name === 'constructor') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (method === undefined || paths === undefined) continue;
      for (const p of Array.isArray(paths) ? paths : [paths]) {
        const full = `/${[prefix, p].filter((s) => s !== '' && s !== '/').join('/')}`.replace(/\/+/g, '/');
        out.push(`${RequestMethod[method]} ${full.replace(/:(\w+)/g, '{$1}')}`);
      }
    }
  }
  return out;
}

describe('route table: one source of truth', () => {
  it('every controller route is documented (operations are matched by their {operation} segment)', () => {
    const documented = ROUTES.map((r) => `${r.method} ${r.path}`);
    const routes = controllerRoutes();
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /fhir/DocumentReference',
        'GET /fhir/Patient/$ihe-pix',
        'POST /fhir/Consent',
        'GET /fhir/Binary/{sha256}',
      ]),
    );
    expect(routes.length).toBe(ROUTES.length);
    for (const route of routes) {
      const pattern = new RegExp(
        `^${route
          .replace(/[$.]/g, '\\$&')
          .replace(/\\{operation\\}|\{operation\}/g, '\\$[a-z-]+')
          .replace(/\{\w+\}/g, '\\{\\w+\\}')}$`,
      );
      expect({ route, documented: documented.some((d) => pattern.test(d)) }).toEqual({
        route,
        documented: true,
      });
    }
  });

  it('OpenAPI and CapabilityStatement are rendered from it', () => {
    const openapi = openApiDocument('https://hie.example') as { paths: Record<string, unknown> };
    for (const r of ROUTES) expect(Object.keys(openapi.paths)).toContain(r.path);
    const cs = capabilityStatement('https://hie.example');
    expect(
      cs.rest?.[0]?.resource
        ?.find((r) => r.type === 'Patient')
        ?.operation?.map((o) => o.name)
        .sort(),
    ).toEqual(['ihe-pix', 'match', 'timeline']);
  });
});
