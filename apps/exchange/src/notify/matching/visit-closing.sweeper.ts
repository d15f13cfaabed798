import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { LifecycleService, LOGGER } from '@tessera/platform-service';
import type { VisitClosingRule } from '@tessera/subscriptions';
import { matches, NOTIFY_SETTINGS } from '../notify.config';
import type { NotifySettings } from '../notify.config';
import { MatchStateRepository } from './match-state.repository';
import { NotificationMatcher } from './notification-matcher.handler';
import { NotifyLinkRepository } from './notify-link.repository';

/** Advisory lock key of the sweep (one replica sweeps at a time). */
const SWEEP_LOCK = 7_301_365_001;
const BATCH = 200;

/** The closing rules from configuration: emergency visits and inpatient stays (v3 ActCode classes). */
export function closingRules(settings: NotifySettings): VisitClosingRule[] {
  return [
    {
      classCodes: ['EMER'],
      maxOpenHours: settings.NOTIFY_EMERGENCY_MAX_OPEN_SECONDS / 3600,
      closingTopic: 'emergency-departure',
    },
    {
      classCodes: ['IMP', 'ACUTE', 'NONAC'],
      maxOpenHours: settings.NOTIFY_INPATIENT_MAX_OPEN_SECONDS / 3600,
      closingTopic: 'discharge',
    },
  ];
}

/**
 * Visits left open far longer than their class allows (a discharge message that never came) are
 * closed in notifications by rule (docs/design/notifications.md "Visits closed by rule"): the
 * subscribers of the closing topic get a notification tagged as closed by rule, so a care manager's
 * list of "currently admitted elsewhere" does not fill with stays that ended long ago. The visit
 * itself is not changed anywhere else; a real discharge arriving later is still announced.
 */
@Injectable()
export class VisitClosingSweeper implements OnApplicationBootstrap {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly state: MatchStateRepository,
    private readonly links: NotifyLinkRepository,
    private readonly matcher: NotificationMatcher,
    @Inject(NOTIFY_SETTINGS) private readonly settings: NotifySettings,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly lifecycle: LifecycleService,
  ) {}

  onApplicationBootstrap(): void {
    if (!matches(this.settings)) return;
    this.lifecycle.register({
      name: 'notify-visit-sweep',
      stage: 15,
      drain: async () => {
        if (this.timer !== undefined) clearInterval(this.timer);
        await this.sweeping;
      },
    });
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error: unknown) => {
          this.logger.warn(
            { err: { name: (error as Error).name, message: (error as Error).message } },
            'visit sweep failed',
          );
          return 0;
        })
        .finally(() => (this.sweeping = undefined));
    }, this.settings.NOTIFY_VISIT_SWEEP_MS);
    this.timer.unref();
  }

  /** One sweep at `now`; returns how many visits it closed. */
  async sweep(now: Date = new Date()): Promise<number> {
    let closed = 0;
    for (const rule of closingRules(this.settings)) {
      const openedBefore = new Date(now.getTime() - rule.maxOpenHours * 3600_000);
      for (;;) {
        const count = await this.dataSource.transaction(async (tx: EntityManager) => {
          const locked = await tx.query<{ ok: boolean }[]>('SELECT pg_try_advisory_xact_lock($1) AS ok', [
            SWEEP_LOCK,
          ]);
          if (locked[0]?.ok !== true) return 0;
          const visits = await this.state.overdueVisits(tx, rule.classCodes, openedBefore, BATCH);
          for (const visit of visits) {
            await this.state.closeByRule(tx, visit.encounterKey);
            const person = await this.links.personOf(tx, visit.system, visit.value);
            if (person === undefined || person === null) continue;
            const id = visit.resource.id ?? visit.encounterKey;
            await this.matcher.notify(
              tx,
              {
                eventId: `visit-closed-by-rule:${visit.encounterKey}`,
                institutionId: visit.institutionId,
                system: visit.system,
                value: visit.value,
                eventTime: now.toISOString(),
              },
              person,
              [
                {
                  topic: rule.closingTopic,
                  closedByRule: true,
                  item: {
                    resourceType: 'Encounter',
                    id,
                    resource: visit.resource,
                    labels: visit.resource.meta?.security ?? [],
                  },
                },
              ],
            );
          }
          return visits.length;
        });
        closed += count;
        if (count < BATCH) break;
      }
    }
    if (closed > 0) this.logger.info({ closed }, 'visits closed by rule in notifications');
    return closed;
  }
}
