import { Controller, Get, Header, HttpCode, HttpStatus, Inject, Post, Req } from '@nestjs/common';
import type { Bundle, BundleEntry, BundleLink, Identifier, Parameters, Patient } from '@medplum/fhirtypes';
import { RequireScopes } from '@tessera/platform-auth';
import { FHIR_JSON } from '@tessera/platform-service';
import type { RegionPolicy } from '@tessera/consent-policy';
import type { Request } from 'express';
import { ExchangeAudit } from '../audit/exchange-audit.service';
import { ExchangeRoute } from '../context/exchange-request.interceptor';
import { without } from '../context/search-hygiene';
import { EXCHANGE_SETTINGS } from '../exchange.config';
import type { ExchangeSettings } from '../exchange.config';
import { outcomeError } from '../http/outcome';
import { AccessDecisionService, institutionOf } from '../policy/access-decision.service';
import { INSTITUTION_SYSTEMS, REGION_POLICY } from '../policy/region.provider';
import type { InstitutionSystems } from '../policy/region.provider';
import { ENTERPRISE_ID_SYSTEM, MpiGateway } from '../upstream/mpi.gateway';
import {
  disclosureOf,
  isOwnIdentifier,
  matchNamesForeignIdentifier,
  ownOnlyPatient,
  pdqNamesForeignIdentifier,
} from './patient-disclosure';
import type { Disclosure } from './patient-disclosure';
import { audited, callerOf, checkedQuery, clinicalContext, upstreamError } from './exchange-call';
import type { Caller } from './exchange-call';

/** The MPI pages PDQm with _count ≤ 100; the exchange asks for up to this many candidates. */
const MPI_PAGE = 100;
const MAX_CANDIDATES = 200;
const DEFAULT_COUNT = 20;
const MAX_COUNT = 100;

function intParam(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const values = params.getAll(name);
  if (values.length === 0) return fallback;
  const raw = values[0] ?? '';
  if (values.length > 1 || !/^\d{1,7}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw outcomeError(400, 'invalid', `${name} must be given once, an integer from ${min} to ${max}`, name);
  }
  return Number(raw);
}

/**
 * PIXm, PDQm and $match through the exchange: the MPI answers, the exchange removes every person
 * the caller may not discover (consent policy, `decision.discoverable`) before paging, so totals
 * and pages only count discoverable persons, and reduces a person whose data is not shared with
 * the caller to what the caller contributed (patient-disclosure.ts).
 */
@Controller('fhir/Patient')
export class PatientController {
  constructor(
    private readonly decisions: AccessDecisionService,
    private readonly mpi: MpiGateway,
    private readonly audit: ExchangeAudit,
    @Inject(INSTITUTION_SYSTEMS) private readonly systems: InstitutionSystems,
    @Inject(REGION_POLICY) private readonly region: RegionPolicy,
    @Inject(EXCHANGE_SETTINGS) private readonly settings: ExchangeSettings,
  ) {}

  /**
   * PIXm [ITI-83]. Shared person: every identifier. Not shared with the caller: the enterprise id
   * and the caller's own identifiers (404 when looked up by another institution's identifier).
   * Not discoverable: only the caller's own identifiers (404 when it has none).
   */
  @Get('$ihe-pix')
  @RequireScopes('system/Patient.read')
  @ExchangeRoute('pix')
  @Header('content-type', FHIR_JSON)
  async pix(@Req() request: Request): Promise<Parameters> {
    const caller = callerOf(request);
    const params = checkedQuery(request, 'pix');
    const sources = params.getAll('sourceIdentifier');
    const raw = sources.length === 1 ? (sources[0] ?? '') : '';
    const bar = raw.indexOf('|');
    if (bar <= 0 || bar === raw.length - 1) {
      throw outcomeError(
        400,
        'required',
        'sourceIdentifier is required once, as system|value',
        'sourceIdentifier',
      );
    }
    const source = { system: raw.slice(0, bar), value: raw.slice(bar + 1) };
    const targets = params
      .getAll('targetSystem')
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '');
    const facts = {
      subtype: 'operation',
      action: 'E' as const,
      entities: [{ type: 'Patient', query: '$ihe-pix' }],
    };
    return audited(this.audit, caller, facts, async () => {
      let identifiers: Identifier[] | null;
      try {
        identifiers = await this.mpi.correspondingIdentifiers(source.system, source.value);
      } catch (error) {
        throw upstreamError(error, 'the MPI');
      }
      const enterpriseId =
        source.system === ENTERPRISE_ID_SYSTEM
          ? source.value
          : (identifiers?.find((i) => i.system === ENTERPRISE_ID_SYSTEM)?.value ?? null);
      if (identifiers === null || enterpriseId === null) throw notKnown();
      const access = (
        await this.decisions.decideMany(caller.principal, clinicalContext(caller), [enterpriseId])
      ).get(enterpriseId);
      const own = this.ownSystems(caller);
      const sourceIsOwn = own.includes(source.system);
      const disclosure = disclosureOf(access);
      let visible: Identifier[];
      switch (disclosure) {
        case 'full':
          visible = identifiers;
          break;
        case 'own':
          // Found through another institution's identifier: confirming that link would tell the
          // caller about that institution's record, unless the region makes such persons findable.
          if (!sourceIsOwn && source.system !== ENTERPRISE_ID_SYSTEM && !this.region.discoverableWhenOptedOut)
            throw notKnown();
          visible = identifiers.filter((i) => i.system === ENTERPRISE_ID_SYSTEM || isOwnIdentifier(i, own));
          break;
        case 'hidden':
          visible = identifiers.filter((i) => isOwnIdentifier(i, own));
          if (visible.length === 0 && !sourceIsOwn) throw notKnown();
          break;
      }
      const wanted = targets.length === 0 ? visible : visible.filter((i) => targets.includes(i.system ?? ''));
      await this.audit.record(caller.principal, caller.context, {
        ...facts,
        patients: [enterpriseId],
        hiddenCount: identifiers.length - visible.length,
        detail: DISCLOSURE_DETAIL[disclosure],
      });
      return {
        resourceType: 'Parameters',
        parameter: wanted.map((valueIdentifier) => ({ name: 'targetIdentifier', valueIdentifier })),
      };
    });
  }

  /**
   * PDQm [ITI-78]: up to 200 MPI candidates, filtered by discoverability, then paged. Searched by
   * an `identifier` that is not the caller's own, a person not shared with the caller is left out.
   */
  @Get()
  @RequireScopes('system/Patient.read')
  @ExchangeRoute('pdq')
  @Header('content-type', FHIR_JSON)
  async search(@Req() request: Request): Promise<Bundle<Patient>> {
    const caller = callerOf(request);
    const params = checkedQuery(request, 'pdq');
    const count = intParam(params, '_count', DEFAULT_COUNT, 1, MAX_COUNT);
    const offset = intParam(params, '_offset', 0, 0, MAX_CANDIDATES);
    const criteria = without(params, ['_count', '_offset', '_format', '_pretty']);
    const facts = {
      subtype: 'search-type',
      action: 'E' as const,
      entities: [{ type: 'Patient', query: criteria.toString().slice(0, 4000) }],
    };
    return audited(this.audit, caller, facts, async () => {
      const candidates: BundleEntry<Patient>[] = [];
      for (let page = 0; page * MPI_PAGE < MAX_CANDIDATES; page += 1) {
        const query = new URLSearchParams(criteria);
        query.set('_count', String(MPI_PAGE));
        query.set('_offset', String(page * MPI_PAGE));
        let bundle: Bundle<Patient>;
        try {
          bundle = await this.mpi.search(query);
        } catch (error) {
          throw upstreamError(error, 'the MPI');
        }
        candidates.push(...(bundle.entry ?? []));
        if ((bundle.entry ?? []).length < MPI_PAGE || (bundle.total ?? 0) <= (page + 1) * MPI_PAGE) break;
      }
      const foreign = pdqNamesForeignIdentifier(criteria.getAll('identifier'), this.ownSystems(caller));
      const discoverable = await this.disclosed(caller, candidates, foreign);
      const pageEntries = discoverable.slice(offset, offset + count);
      const base = `${this.settings.EXCHANGE_PUBLIC_BASE_URL}/fhir/Patient`;
      const link: BundleLink[] = [{ relation: 'self', url: pagedUrl(base, criteria, count, offset) }];
      if (offset + count < discoverable.length)
        link.push({ relation: 'next', url: pagedUrl(base, criteria, count, offset + count) });
      await this.audit.record(caller.principal, caller.context, {
        ...facts,
        patients: pageEntries.map((e) => e.resource?.id ?? '').filter((id) => id !== ''),
        hiddenCount: candidates.length - discoverable.length,
      });
      return {
        resourceType: 'Bundle',
        type: 'searchset',
        total: discoverable.length,
        link,
        entry: pageEntries.map((e) => ({ ...e, fullUrl: `${base}/${e.resource?.id ?? ''}` })),
      };
    });
  }

  /**
   * Patient/$match [ITI-119]: the MPI's graded candidates, only discoverable persons; when the
   * Patient names an identifier that is not the caller's own, none not shared with the caller.
   */
  @Post('$match')
  @HttpCode(HttpStatus.OK)
  @RequireScopes('system/Patient.read')
  @ExchangeRoute('match')
  @Header('content-type', FHIR_JSON)
  async match(@Req() request: Request): Promise<Bundle<Patient>> {
    const caller = callerOf(request);
    checkedQuery(request, 'match');
    const body = (request as { body?: unknown }).body;
    if (
      typeof body !== 'object' ||
      body === null ||
      (body as { resourceType?: unknown }).resourceType !== 'Parameters'
    ) {
      throw outcomeError(
        400,
        'invalid',
        'the body must be a Parameters resource (application/fhir+json)',
        'resourceType',
      );
    }
    const facts = {
      subtype: 'operation',
      action: 'E' as const,
      entities: [{ type: 'Patient', query: '$match' }],
    };
    return audited(this.audit, caller, facts, async () => {
      let bundle: Bundle<Patient>;
      try {
        bundle = await this.mpi.match(body);
      } catch (error) {
        throw upstreamError(error, 'the MPI');
      }
      const candidates = bundle.entry ?? [];
      const foreign = matchNamesForeignIdentifier(body, this.ownSystems(caller));
      const discoverable = await this.disclosed(caller, candidates, foreign);
      await this.audit.record(caller.principal, caller.context, {
        ...facts,
        patients: discoverable.map((e) => e.resource?.id ?? '').filter((id) => id !== ''),
        hiddenCount: candidates.length - discoverable.length,
      });
      const base = `${this.settings.EXCHANGE_PUBLIC_BASE_URL}/fhir/Patient`;
      return {
        resourceType: 'Bundle',
        type: 'searchset',
        total: discoverable.length,
        entry: discoverable.map((e) => ({ ...e, fullUrl: `${base}/${e.resource?.id ?? ''}` })),
      };
    });
  }

  /**
   * The candidates the caller may discover, in order; a person whose data is not shared with the
   * caller comes back reduced to what the caller itself contributed (`ownOnlyPatient`), or is left
   * out when the query named another institution's identifier (`byForeignIdentifier`: the same
   * rule as PIXm's 404, unless the region makes opted-out persons discoverable).
   */
  private async disclosed(
    caller: Caller,
    entries: readonly BundleEntry<Patient>[],
    byForeignIdentifier: boolean,
  ): Promise<BundleEntry<Patient>[]> {
    const dropRestricted = byForeignIdentifier && !this.region.discoverableWhenOptedOut;
    const ids = entries.map((e) => e.resource?.id).filter((id): id is string => typeof id === 'string');
    const decisions = await this.decisions.decideMany(caller.principal, clinicalContext(caller), ids);
    const own = this.ownSystems(caller);
    const out: BundleEntry<Patient>[] = [];
    for (const entry of entries) {
      const id = entry.resource?.id;
      if (id === undefined || entry.resource === undefined) continue;
      switch (disclosureOf(decisions.get(id))) {
        case 'full':
          out.push(entry);
          break;
        case 'own':
          if (!dropRestricted) out.push({ ...entry, resource: ownOnlyPatient(entry.resource, own) });
          break;
        case 'hidden':
          break;
      }
    }
    return out;
  }

  private ownSystems(caller: Caller): readonly string[] {
    return this.systems.get(institutionOf(caller.principal)) ?? [];
  }
}

const DISCLOSURE_DETAIL: Readonly<Record<Disclosure, string>> = {
  full: 'discoverable',
  own: 'not shared: enterprise id and own identifiers only',
  hidden: 'not discoverable: own identifiers only',
};

function notKnown() {
  return outcomeError(404, 'not-found', 'sourceIdentifier is not known', 'sourceIdentifier');
}

function pagedUrl(base: string, criteria: URLSearchParams, count: number, offset: number): string {
  const q = new URLSearchParams(criteria);
  q.set('_count', String(count));
  q.set('_offset', String(offset));
  return `${base}?${q.toString()}`;
}
