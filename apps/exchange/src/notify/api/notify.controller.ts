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
    response
      .status(200)
      .type(FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', total: entry.length, entry }));
  }

  @Post('Group')
  @RequireScopes('system/Group.write')
  @ExchangeRoute('group-create')
  async createGroup(@Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    checkedQuery(request, 'group-create');
    await this.run(caller, { subtype: 'create', action: 'C', entities: [{ type: 'Group' }] }, async () => {
      const summary = await this.rosters.create(institutionOf(caller.principal), uploadOf(request));
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
    const caller = callerOf(request);
    checkedQuery(request, 'group-update');
    checkedId(id, 'Group');
    await this.run(
      caller,
      { subtype: 'update', action: 'U', entities: [{ type: 'Group', reference: `Group/${id}` }] },
      async () => {
        const summary = await this.rosters.replace(
          institutionOf(caller.principal),
          id,
          uploadOf(request),
          ifMatchOf(request),
        );
        return () => {
          this.sendRosterSummary(response, 200, summary);
        };
      },
    );
  }

  @Get('Group/:id')
  @RequireScopes('system/Group.read')
  @ExchangeRoute('group-read')
  async readGroup(
    @Param('id') id: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    const caller = callerOf(request);
    checkedQuery(request, 'group-read');
    checkedId(id, 'Group');
    await this.run(
      caller,
      { subtype: 'read', action: 'R', entities: [{ type: 'Group', reference: `Group/${id}` }] },
      async () => {
        const { group, version } = await this.rosters.read(institutionOf(caller.principal), id);
        return () => {
          response.setHeader('ETag', `W/"${version}"`);
          response.status(200).type(FHIR_JSON).send(JSON.stringify(group));
        };
      },
    );
  }

  @Get('Group')
  @RequireScopes('system/Group.read')
  @ExchangeRoute('group-search')
  async searchGroups(@Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    checkedQuery(request, 'group-search');
    await this.run(
      caller,
      { subtype: 'search-type', action: 'E', entities: [{ type: 'Group' }] },
      async () => {
        const bundle = await this.rosters.list(institutionOf(caller.principal), this.fhirBase());
        return () => {
          response.status(200).type(FHIR_JSON).send(JSON.stringify(bundle));
        };
      },
    );
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
    const caller = callerOf(request);
    checkedQuery(request, 'subscription-create');
    const body = jsonBody(request, 'Subscription');
    await this.run(
      caller,
      { subtype: 'create', action: 'C', entities: [{ type: 'Subscription' }] },
      async () => {
        const created = await this.subscriptions.create(
          {
            institutionId: institutionOf(caller.principal),
            clientId: caller.principal.clientId,
            purposeOfUse: caller.context?.purposeOfUse ?? 'TREAT',
          },
          body,
        );
        return () => {
          response.setHeader('Location', `${this.fhirBase()}/Subscription/${created.resource.id ?? ''}`);
          response.setHeader('ETag', `W/"${created.version}"`);
          if (created.secret !== undefined) response.setHeader(WEBHOOK_SECRET_HEADER, created.secret);
          response.setHeader('Cache-Control', 'no-store');
          response.status(201).type(FHIR_JSON).send(JSON.stringify(created.resource));
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
    const caller = callerOf(request);
    checkedQuery(request, 'subscription-update');
    checkedId(id, 'Subscription');
    const body = jsonBody(request, 'Subscription');
    await this.run(
      caller,
      {
        subtype: 'update',
        action: 'U',
        entities: [{ type: 'Subscription', reference: `Subscription/${id}` }],
      },
      async () => {
        const { resource, version } = await this.subscriptions.update(
          institutionOf(caller.principal),
          id,
          body,
          ifMatchOf(request),
        );
        return () => {
          response.setHeader('ETag', `W/"${version}"`);
          response.status(200).type(FHIR_JSON).send(JSON.stringify(resource));
        };
      },
    );
  }

  @Get('Subscription/:id/$status')
  @RequireScopes('system/Subscription.read')
  @ExchangeRoute('subscription-status')
  async status(@Param('id') id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    checkedQuery(request, 'subscription-status');
    checkedId(id, 'Subscription');
    await this.run(
      caller,
      {
        subtype: 'operation',
        action: 'E',
        entities: [{ type: 'Subscription', reference: `Subscription/${id}` }],
      },
      async () => {
        const bundle = await this.subscriptions.status(institutionOf(caller.principal), id, this.fhirBase());
        return () => {
          response.status(200).type(FHIR_JSON).send(JSON.stringify(bundle));
        };
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
      subtype: 'operation',
      action: 'E',
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
      response.status(200).type(FHIR_JSON).send(JSON.stringify(answer.bundle));
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
    const caller = callerOf(request);
    const params = checkedQuery(request, 'subscription-rotate-secret');
    checkedId(id, 'Subscription');
    const retire = params.get('retireOld');
    if (retire !== null && retire !== 'true' && retire !== 'false')
      throw outcomeError(400, 'value', 'retireOld must be true or false', 'retireOld');
    await this.run(
      caller,
      {
        subtype: 'operation',
        action: 'U',
        entities: [{ type: 'Subscription', reference: `Subscription/${id}` }],
      },
      async () => {
        const secret = await this.subscriptions.rotateSecret(
          institutionOf(caller.principal),
          id,
          retire === 'true',
        );
        return () => {
          response.setHeader('Cache-Control', 'no-store');
          response
            .status(200)
            .type(FHIR_JSON)
            .send(
              JSON.stringify({
                resourceType: 'Parameters',
                parameter: [{ name: 'secret', valueString: secret }],
              }),
            );
        };
      },
    );
  }

  @Post('Subscription/:id/$redrive')
  @RequireScopes('system/Subscription.write')
  @ExchangeRoute('subscription-redrive')
  async redrive(@Param('id') id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    const params = checkedQuery(request, 'subscription-redrive');
    checkedId(id, 'Subscription');
    const notification = params.get('notification') ?? undefined;
    await this.run(
      caller,
      {
        subtype: 'operation',
        action: 'U',
        entities: [{ type: 'Subscription', reference: `Subscription/${id}` }],
      },
      async () => {
        const count = await this.subscriptions.redrive(institutionOf(caller.principal), id, notification);
        return () => {
          response
            .status(200)
            .type(FHIR_JSON)
            .send(
              JSON.stringify({
                resourceType: 'Parameters',
                parameter: [{ name: 'redriven', valueInteger: count }],
              }),
            );
        };
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
    const caller = callerOf(request);
    const params = checkedQuery(request, 'subscription-deliveries');
    checkedId(id, 'Subscription');
    const count = integerParam(params, '_count', 50, 1, 200) ?? 50;
    const offset = integerParam(params, '_offset', 0, 0, 1_000_000) ?? 0;
    const status = params.get('status') ?? undefined;
    await this.run(
      caller,
      {
        subtype: 'operation',
        action: 'E',
        entities: [{ type: 'Subscription', reference: `Subscription/${id}` }],
      },
      async () => {
        const entries = await this.subscriptions.deliveries(institutionOf(caller.principal), id, {
          ...(status === undefined ? {} : { status }),
          count,
          offset,
        });
        return () => {
          response.status(200).json({ subscription: id, offset, count: entries.length, deliveries: entries });
        };
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
    const caller = callerOf(request);
    checkedQuery(request, 'subscription-read');
    checkedId(id, 'Subscription');
    await this.run(
      caller,
      { subtype: 'read', action: 'R', entities: [{ type: 'Subscription', reference: `Subscription/${id}` }] },
      async () => {
        const { resource, version } = await this.subscriptions.read(institutionOf(caller.principal), id);
        return () => {
          response.setHeader('ETag', `W/"${version}"`);
          response.status(200).type(FHIR_JSON).send(JSON.stringify(resource));
        };
      },
    );
  }

  @Get('Subscription')
  @RequireScopes('system/Subscription.read')
  @ExchangeRoute('subscription-search')
  async searchSubscriptions(@Req() request: Request, @Res() response: Response): Promise<void> {
    const caller = callerOf(request);
    const params = checkedQuery(request, 'subscription-search');
    await this.run(
      caller,
      { subtype: 'search-type', action: 'E', entities: [{ type: 'Subscription' }] },
      async () => {
        const bundle = await this.subscriptions.list(
          institutionOf(caller.principal),
          params.get('status') ?? undefined,
          this.fhirBase(),
        );
        return () => {
          response.status(200).type(FHIR_JSON).send(JSON.stringify(bundle));
        };
      },
    );
  }

  private async changeMembers(
    id: string,
    op: 'add' | 'remove',
    request: Request,
    response: Response,
  ): Promise<void> {
    const caller = callerOf(request);
    checkedQuery(request, op === 'add' ? 'group-member-add' : 'group-member-remove');
    checkedId(id, 'Group');
    const body = jsonBody(request, 'Parameters');
    await this.run(
      caller,
      { subtype: 'operation', action: 'U', entities: [{ type: 'Group', reference: `Group/${id}` }] },
      async () => {
        const summary = await this.rosters.change(institutionOf(caller.principal), id, op, body);
        return () => {
          this.sendRosterSummary(response, 200, summary, summary.changed);
        };
      },
    );
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
