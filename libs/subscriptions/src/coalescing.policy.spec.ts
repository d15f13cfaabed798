import { isCoalescible } from './coalescing.policy';
import { NOTIFICATION_TOPICS } from './topics';

describe('isCoalescible', () => {
  it('folds only encounter updates; every other topic is kept event by event', () => {
    const coalescible = NOTIFICATION_TOPICS.filter((t) => isCoalescible(t.code)).map((t) => t.code);
    expect(coalescible).toEqual(['encounter-update']);
  });
});
