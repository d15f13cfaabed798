import type { NotificationTopicCode } from './topics';

/**
 * Only 'encounter-update' coalesces: a storm of A08s about one visit within the window becomes one
 * notification carrying the latest version (an update says "look again", so the last one says it
 * all). Admission, discharge, arrival, departure and transfer are events in their own right: each is
 * kept, in order, and never folded into another. Document, result and referral topics are about
 * different resources each time, so there is nothing to fold.
 */
export function isCoalescible(topic: NotificationTopicCode): boolean {
  switch (topic) {
    case 'encounter-update':
      return true;
    case 'admission':
    case 'discharge':
    case 'emergency-arrival':
    case 'emergency-departure':
    case 'transfer':
    case 'new-document':
    case 'new-result':
    case 'referral-change':
      return false;
  }
}
