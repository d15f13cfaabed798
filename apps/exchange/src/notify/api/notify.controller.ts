import { Controller, Get, Inject, Param, Post, Put, Req, Res } from '@nestjs/common';
import { RequireScopes } from '@tessera/platform-auth';
import { FHIR_JSON } from '@tessera/platform-service';
import { NOTIFICATION_TOPICS, topicResource } from '@tessera/subscriptions';
import type { Request, Response } from 'express';
import { ExchangeAudit } from '../../audit/exchange-audit.service';
import type { AuditFacts } from '../../audit/exchange-audit.service';
import { ExchangeRoute } from '../../context/exchange-request.interceptor';
import { FHIR_ID } from '../../context/search-hygiene';
import { EXCHANGE_SETTINGS } from '../../exchange.config';
import type { ExchangeSettings } from '../../exchange.config';
import { audited, callerOf, checkedQuery, jsonBody } from '../../fhir/exchange-call';
import type { Caller } from '../../fhir/exchange-call';
import { outcomeError } from '../../http/outcome';
import { institutionOf } from '../../policy/access-decision.service';
import { countsExtension, RosterHandler } from '../rosters/roster.handler';
import type { RosterSummary, RosterUpload } from '../rosters/roster.handler';
import { SubscriptionHandler } from '../subscriptions/subscription.handler';

export const WEBHOOK_SECRET_HEADER = 'X-Tessera-Webhook-Secret';

const READ = { subtype: 'read', action: 'R' } as const;
const SEARCH = { subtype: 'search-type', action: 'E' } as const;
const WRITE = { subtype: 'create', action: 'C' } as const;
const UPDATE = { subtype: 'update', action: 'U' } as const;
const OPERATION = { subtype: 'operation', action: 'E' } as const;
const CHANGE = { subtype: 'operation', action: 'U' } as const;

/** A FHIR JSON answer, with its version as the ETag when it has one. */
function sendFhir(response: Response, status: number, body: unknown, version?: number): void {
  if (version !== undefined) response.setHeader('ETag', `W/"${version}"`);
  response.status(status).type(FHIR_JSON).send(JSON.stringify(body));
}

function checkedId(id: string, what: string): string {
  if (!FHIR_ID.test(id)) throw outcomeError(400, 'value', `the ${what} id is malformed`, 'id');
  return id;
}

function ifMatchOf(request: Request): string | undefined {
  const value = request.headers['if-match'];
  return typeof value === 'string' && value.length <= 100 ? value : undefined;
}

function integerParam(
  params: URLSearchParams,
  name: string,
  fallback: number | undefined,
  min: number,
  max: number,
): number | undefined {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw outcomeError(400, 'value', `${name} must be an integer from ${min} to ${max}`, name);
  return n;
}

/**
 * The outbound half of the exchange API (thin adapter over RosterHandler and SubscriptionHandler):
 * rosters, subscriptions, topics. Each call is audited like every other exchange request; the
 * caller's institution comes from its token, never from the request.
 */
@Controller('fhir')
export class NotifyController {
  constructor(
    private readonly rosters: RosterHandler,
    private readonly subscriptions: SubscriptionHandler,
    private readonly audit: ExchangeAudit,
    @Inject(EXCHANGE_SETTINGS) private readonly settings: ExchangeSettings,
  ) {}

  private fhirBase(): string {
    return `${this.settings.EXCHANGE_PUBLIC_BASE_URL}/fhir`;
  }

  @Get('SubscriptionTopic')
  @RequireScopes('system/Subscription.read')
  @ExchangeRoute('topic-search')
  topics(@Req() request: Request, @Res() response: Response): void {
    checkedQuery(request, 'topic-search');
    const entry = NOTIFICATION_TOPICS.map((topic) => ({
      resource: topicResource(topic),
      search: { mode: 'match' as const },
    }));
    sendFhir(response, 200, { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry });
  }

  @Post('Group')
  @RequireScopes('system/Group.write')
  @ExchangeRoute('group-create')
  async createGroup(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.handle(request, 'group-create', { type: 'Group' }, WRITE, async (owner) => {
      const summary = await this.rosters.create(owner, uploadOf(request));
      return () => {
        response.setHeader('Location', `${this.fhirBase()}/Group/${summary.id}/_history/${summary.version}`);
        this.sendRosterSummary(response, 201, summary);
      };
    });
  }

  @Put('Group/:id')
  @RequireScopes('system/Group.write')
  @ExchangeRoute('group-update')
  async replaceGroup(
    @Param('id') id: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.handle(request, 'group-update', { type: 'Group', id }, UPDATE, async (owner) => {
      const summary = await this.rosters.replace(owner, id, uploadOf(request), ifMatchOf(request));
      return () => this.sendRosterSummary(response, 200, summary);
    });
  }

  @Get('Group/:id')
  @RequireScopes('system/Group.read')
  @ExchangeRoute('group-read')
  async readGroup(
    @Param('id') id: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.handle(request, 'group-read', { type: 'Group', id }, READ, async (owner) => {
      const { group, version } = await this.rosters.read(owner, id);
      return () => sendFhir(response, 200, group, version);
    });
  }

  @Get('Group')
  @RequireScopes('system/Group.read')
  @ExchangeRoute('group-search')
  async searchGroups(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.handle(request, 'group-search', { type: 'Group' }, SEARCH, async (owner) => {
      const bundle = await this.rosters.list(owner, this.fhirBase());
      return () => sendFhir(response, 200, bundle);
    });
  }

  @Post('Group/:id/$member-add')
  @RequireScopes('system/Group.write')
  @ExchangeRoute('group-member-add')
  async addMembers(
    @Param('id') id: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.changeMembers(id, 'add', request, response);
  }

  @Post('Group/:id/$member-remove')
  @RequireScopes('system/Group.write')
  @ExchangeRoute('group-member-remove')
  async removeMembers(
    @Param('id') id: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.changeMembers(id, 'remove', request, response);
  }

  @Post('Subscription')
  @RequireScopes('system/Subscription.write')
  @ExchangeRoute('subscription-create')
  async createSubscription(@Req() request: Request, @Res() response: Response): Promise<void> {
    const body = jsonBody(request, 'Subscription');
    await this.handle(
      request,
      'subscription-create',
      { type: 'Subscription' },
      WRITE,
      async (owner, caller) => {
        const created = await this.subscriptions.create(
          {
            institutionId: owner,
            clientId: caller.principal.clientId,
            purposeOfUse: caller.context?.purposeOfUse ?? 'TREAT',
          },
          body,
        );
        return () => {
          response.setHeader('Location', `${this.fhirBase()}/Subscription/${created.resource.id ?? ''}`);
          if (created.secret !== undefined) response.setHeader(WEBHOOK_SECRET_HEADER, created.secret);
          response.setHeader('Cache-Control', 'no-store');
          sendFhir(response, 201, created.resource, created.version);
        };
      },
    );
  }

  @Put('Subscription/:id')
  @RequireScopes('system/Subscription.write')
  @ExchangeRoute('subscription-update')
  async updateSubscription(
    @Param('id') id: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    const body = jsonBody(request, 'Subscription');
    await this.handle(request, 'subscription-update', { type: 'Subscription', id }, UPDATE, async (owner) => {
      const { resource, version } = await this.subscriptions.update(owner, id, body, ifMatchOf(request));
      return () => sendFhir(response, 200, resource, version);
    });
  }

  @Get('Subscription/:id/$status')
  @RequireScopes('system/Subscription.read')
  @ExchangeRoute('subscription-status')
  async status(@Param('id') id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    await this.handle(
      request,
      'subscription-status',
      { type: 'Subscription', id },
      OPERATION,
      async (owner) => {
        const bundle = await this.subscriptions.status(owner, id, this.fhirBase());
        return () => sendFhir(response, 200, bundle);
      },
    );
  }

  @Get('Subscription/:id/$events')
  @RequireScopes('system/Subscription.read')
  @ExchangeRoute('subscription-events')
  async events(@Param('id') id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    const params = checkedQuery(request, 'subscription-events');
    checkedId(id, 'Subscription');
    const since = integerParam(params, 'eventsSinceNumber', undefined, 1, Number.MAX_SAFE_INTEGER);
    const until = integerParam(params, 'eventsUntilNumber', undefined, 1, Number.MAX_SAFE_INTEGER);
    const content = params.get('content') ?? undefined;
    const base: AuditFacts = {
      ...OPERATION,
      entities: [{ type: 'Subscription', reference: `Subscription/${id}` }],
    };
    await audited(this.audit, caller, base, async () => {
      const answer = await this.subscriptions.events(
        institutionOf(caller.principal),
        id,
        {
          ...(since === undefined ? {} : { since }),
          ...(until === undefined ? {} : { until }),
          ...(content === undefined ? {} : { content }),
        },
        this.fhirBase(),
      );
      // What the answer disclosed is audited before it leaves (no audit, no data).
      await this.audit.record(caller.principal, caller.context, {
        ...base,
        patients: answer.patients,
        entities: [
          ...(base.entities ?? []),
          ...answer.items.map((i) => ({
            type: i.reference.split('/')[0] ?? 'Resource',
            reference: i.reference,
            ...(i.sourceInstitution === null ? {} : { sourceInstitution: i.sourceInstitution }),
          })),
        ],
      });
      sendFhir(response, 200, answer.bundle);
    });
  }

  @Post('Subscription/:id/$rotate-secret')
  @RequireScopes('system/Subscription.write')
  @ExchangeRoute('subscription-rotate-secret')
  async rotateSecret(
    @Param('id') id: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.handle(
      request,
      'subscription-rotate-secret',
      { type: 'Subscription', id },
      CHANGE,
      async (owner, _caller, params) => {
        const retire = params.get('retireOld');
        if (retire !== null && retire !== 'true' && retire !== 'false')
          throw outcomeError(400, 'value', 'retireOld must be true or false', 'retireOld');
        const secret = await this.subscriptions.rotateSecret(owner, id, retire === 'true');
        return () => {
          response.setHeader('Cache-Control', 'no-store');
          sendFhir(response, 200, {
            resourceType: 'Parameters',
            parameter: [{ name: 'secret', valueString: secret }],
          });
        };
      },
    );
  }

  @Post('Subscription/:id/$redrive')
  @RequireScopes('system/Subscription.write')
  @ExchangeRoute('subscription-redrive')
  async redrive(@Param('id') id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    await this.handle(
      request,
      'subscription-redrive',
      { type: 'Subscription', id },
      CHANGE,
      async (owner, _caller, params) => {
        const count = await this.subscriptions.redrive(owner, id, params.get('notification') ?? undefined);
        return () =>
          sendFhir(response, 200, {
            resourceType: 'Parameters',
            parameter: [{ name: 'redriven', valueInteger: count }],
          });
      },
    );
  }

  @Get('Subscription/:id/$deliveries')
  @RequireScopes('system/Subscription.read')
  @ExchangeRoute('subscription-deliveries')
  async deliveries(
    @Param('id') id: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.handle(
      request,
      'subscription-deliveries',
      { type: 'Subscription', id },
      OPERATION,
      async (owner, _caller, params) => {
        const count = integerParam(params, '_count', 50, 1, 200) ?? 50;
        const offset = integerParam(params, '_offset', 0, 0, 1_000_000) ?? 0;
        const status = params.get('status') ?? undefined;
        const entries = await this.subscriptions.deliveries(owner, id, {
          ...(status === undefined ? {} : { status }),
          count,
          offset,
        });
        return () =>
          response.status(200).json({ subscription: id, offset, count: entries.length, deliveries: entries });
      },
    );
  }

  @Get('Subscription/:id')
  @RequireScopes('system/Subscription.read')
  @ExchangeRoute('subscription-read')
  async readSubscription(
    @Param('id') id: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.handle(request, 'subscription-read', { type: 'Subscription', id }, READ, async (owner) => {
      const { resource, version } = await this.subscriptions.read(owner, id);
      return () => sendFhir(response, 200, resource, version);
    });
  }

  @Get('Subscription')
  @RequireScopes('system/Subscription.read')
  @ExchangeRoute('subscription-search')
  async searchSubscriptions(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.handle(
      request,
      'subscription-search',
      { type: 'Subscription' },
      SEARCH,
      async (owner, _caller, params) => {
        const bundle = await this.subscriptions.list(
          owner,
          params.get('status') ?? undefined,
          this.fhirBase(),
        );
        return () => sendFhir(response, 200, bundle);
      },
    );
  }

  private async changeMembers(
    id: string,
    op: 'add' | 'remove',
    request: Request,
    response: Response,
  ): Promise<void> {
    const body = jsonBody(request, 'Parameters');
    const route = op === 'add' ? 'group-member-add' : 'group-member-remove';
    await this.handle(request, route, { type: 'Group', id }, CHANGE, async (owner) => {
      const summary = await this.rosters.change(owner, id, op, body);
      return () => this.sendRosterSummary(response, 200, summary, summary.changed);
    });
  }

  /**
   * The preamble every route shares: the caller, the query hygiene of its route, a well-formed id;
   * then the use case (with the caller's institution, taken from its token), its audit record, and
   * only then the answer.
   */
  private async handle(
    request: Request,
    routeId: string,
    target: { readonly type: 'Group' | 'Subscription'; readonly id?: string },
    audit: Pick<AuditFacts, 'subtype' | 'action'>,
    work: (owner: string, caller: Caller, params: URLSearchParams) => Promise<() => void>,
  ): Promise<void> {
    const caller = callerOf(request);
    const params = checkedQuery(request, routeId);
    if (target.id !== undefined) checkedId(target.id, target.type);
    const facts: AuditFacts = {
      ...audit,
      entities: [
        {
          type: target.type,
          ...(target.id === undefined ? {} : { reference: `${target.type}/${target.id}` }),
        },
      ],
    };
    await this.run(caller, facts, () => work(institutionOf(caller.principal), caller, params));
  }

  /** A roster change answers with its id, version and counts (resolved / not yet) as Parameters. */
  private sendRosterSummary(
    response: Response,
    status: number,
    summary: RosterSummary,
    changed?: number,
  ): void {
    response.setHeader('ETag', `W/"${summary.version}"`);
    response
      .status(status)
      .type(FHIR_JSON)
      .send(
        JSON.stringify({
          resourceType: 'Parameters',
          parameter: [
            { name: 'group', valueReference: { reference: `Group/${summary.id}` } },
            { name: 'version', valueInteger: summary.version },
            { name: 'members', valueInteger: summary.total },
            { name: 'resolved', valueInteger: summary.resolved },
            { name: 'unresolved', valueInteger: summary.total - summary.resolved },
            ...(changed === undefined ? [] : [{ name: 'changed', valueInteger: changed }]),
          ],
          extension: countsExtension(summary),
        }),
      );
  }

  /** Runs a use case, records its audit record, then answers (no audit, no answer; a failure is recorded by `audited`). */
  private async run(caller: Caller, facts: AuditFacts, work: () => Promise<() => void>): Promise<void> {
    await audited(this.audit, caller, facts, async () => {
      const respond = await work();
      await this.audit.record(caller.principal, caller.context, facts);
      respond();
    });
  }
}

function uploadOf(request: Request): RosterUpload {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  const body = (request as { body?: unknown }).body;
  if (type === 'text/csv') {
    if (typeof body !== 'string' || body.trim() === '')
      throw outcomeError(400, 'required', 'the CSV body is empty');
    return { kind: 'csv', text: body };
  }
  return { kind: 'group', body: jsonBody(request, 'Group') };
}
