import { loadConfig } from '@tessera/platform-config';
import { NotifyController } from './api/notify.controller';
import { DeliveryChannels } from './delivery/delivery.channels';
import { DeliveryWorker } from './delivery/delivery.worker';
import { MatchStateRepository } from './matching/match-state.repository';
import { NotificationMatcher } from './matching/notification-matcher.handler';
import { NotifyConsumer } from './matching/notify.consumer';
import { NotifyLinkRepository } from './matching/notify-link.repository';
import { VisitClosingSweeper } from './matching/visit-closing.sweeper';
import { NotificationRepository } from './notifications/notification.repository';
import { NotifyConsentPolicy } from './notify-consent.policy';
import { NOTIFY_SETTINGS, notifyConfig } from './notify.config';
import { RosterHandler } from './rosters/roster.handler';
import { RosterRepository } from './rosters/roster.repository';
import { SubscriptionHandler } from './subscriptions/subscription.handler';
import { SubscriptionRepository } from './subscriptions/subscription.repository';

/**
 * The outbound half of the exchange (docs/design/notifications.md): rosters and subscriptions on
 * the exchange's FHIR API, the matcher (consumer group exchange.notify) and the delivery workers.
 * NOTIFY_ROLES chooses which of the background parts a process runs. Its controllers and providers
 * are registered in the exchange's AppModule, which owns the policy, audit and upstream providers
 * they use.
 */
export const NOTIFY_CONTROLLERS = [NotifyController];

export const NOTIFY_PROVIDERS = [
  { provide: NOTIFY_SETTINGS, useFactory: () => loadConfig(notifyConfig) },
  NotifyLinkRepository,
  MatchStateRepository,
  RosterRepository,
  SubscriptionRepository,
  NotificationRepository,
  NotifyConsentPolicy,
  NotificationMatcher,
  NotifyConsumer,
  VisitClosingSweeper,
  RosterHandler,
  SubscriptionHandler,
  DeliveryChannels,
  DeliveryWorker,
];
