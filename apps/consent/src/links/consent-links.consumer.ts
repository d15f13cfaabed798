import { Inject, Injectable } from '@nestjs/common';
import { ConsumerGroups, MpiLinkChanged } from '@tessera/contracts';
import type { ConsumerRunner } from '@tessera/platform-kafka';
import { MessagingService } from '@tessera/platform-service';
import { PolicyCachePublisher } from '../policy/policy-cache.publisher';
import { LinkChangedHandler } from './link-changed.handler';

/** Settings of the consent service's consumer groups (from CONSENT_GROUP_SUFFIX; tests override). */
export interface ConsentConsumerOptions {
  /** Appended as `.<suffix>` to the group ids, so tests and replays don't consume the shared groups. */
  readonly groupSuffix?: string | undefined;
  /** A new group starts at the beginning of its topics (default: projections replay). */
  readonly fromBeginning?: boolean;
}

export const CONSENT_CONSUMER_OPTIONS = Symbol('CONSENT_CONSUMER_OPTIONS');

/** Group id of a consent consumer: the shared group, or `<group>.<suffix>`. */
export function consentGroupId(base: string, options: ConsentConsumerOptions): string {
  return options.groupSuffix === undefined ? base : `${base}.${options.groupSuffix}`;
}

export function consumerOverrides(options: ConsentConsumerOptions): { fromBeginning?: boolean } {
  return options.fromBeginning === undefined ? {} : { fromBeginning: options.fromBeginning };
}

/** Consumer group `consent.links` on hie.mpi.link → consent_links (thin adapter). */
@Injectable()
export class ConsentLinksConsumer {
  readonly runner: ConsumerRunner;

  constructor(
    messaging: MessagingService,
    handler: LinkChangedHandler,
    cache: PolicyCachePublisher,
    @Inject(CONSENT_CONSUMER_OPTIONS) options: ConsentConsumerOptions,
  ) {
    this.runner = messaging
      .consumer(consentGroupId(ConsumerGroups.consentLinks.id, options), consumerOverrides(options))
      .on(MpiLinkChanged, async (event, tx) => {
        const bumped = await handler.apply(event.data, event.id, tx);
        // The runner commits after the handler returns: raise Redis to the committed versions then.
        cache.raiseCommittedSoon(bumped);
      });
  }
}
