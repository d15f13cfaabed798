import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { loadConfig, postgresConfig } from '@tessera/platform-config';
import { createDataSource } from '@tessera/platform-persistence';
import { dropTestDatabase, prepareTestDatabase, uniqueTestId } from '@tessera/testing';
import { initialBreaker, parseSubscription, retryDelayMs } from '@tessera/subscriptions';
import type { SubscriptionRequest } from '@tessera/subscriptions';
import { migrations } from '../../migrations';
import { SubscriptionRepository } from '../subscriptions/subscription.repository';
import { NotificationRepository } from './notification.repository';
import type { NewNotification } from './notification.repository';

/*
 * The queue's rules against real Postgres (the exchange's migrations): event numbers without gaps,
 * idempotent enqueue, coalescing of an update storm that never reorders a patient's notifications,
 * one head per patient at a time, parking and redrive. Windows are a minute long, so nothing here
 * depends on how fast the machine is.
 */

const DATABASE = `tessera_exchange_test_${uniqueTestId('nq')}`;
let dataSource: DataSource;
const subscriptions = new SubscriptionRepository();
const notifications = new NotificationRepository();

function request(): SubscriptionRequest {
  const parsed = parseSubscription(
    {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'test',
      criteria: 'urn:tessera:subscription-topic:encounter-update',
      _criteria: {
        extension: [
          {
            url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria',
            valueString: 'Encounter?patient=implicit',
          },
        ],
      },
      channel: {
        type: 'rest-hook',
        endpoint: 'http://127.0.0.1:9/hook',
        payload: 'application/fhir+json',
        _payload: {
          extension: [
            {
              url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content',
              valueCode: 'id-only',
            },
          ],
        },
      },
    },
    { allowInsecureLoopback: true },
  );
  if (Array.isArray(parsed)) throw new Error(`test subscription refused: ${JSON.stringify(parsed)}`);
  return parsed as SubscriptionRequest;
}

async function newSubscription(): Promise<{ id: string; destinationId: string }> {
  const id = randomUUID();
  return dataSource.transaction(async (tx) => {
    const destinationId = await subscriptions.destination(
      tx,
      'riverside',
      'rest-hook',
      `http://127.0.0.1:9/${id}`,
      randomUUID(),
      initialBreaker(1000),
    );
    await subscriptions.insert(tx, {
      id,
      ownerInstitution: 'riverside',
      clientId: 'riverside-ehr',
      purposeOfUse: 'TREAT',
      request: request(),
      destinationId,
      secret: { secret: 'whsec_test', createdAt: new Date().toISOString() },
    });
    await subscriptions.setStatus(tx, id, 'active', null);
    return { id, destinationId };
  });
}

function notification(
  sub: { id: string; destinationId: string },
  over: Partial<NewNotification>,
): NewNotification {
  return {
    id: randomUUID(),
    subscriptionId: sub.id,
    destinationId: sub.destinationId,
    kind: 'event-notification',
    enterpriseId: 'person-1',
    topic: 'admission',
    focusType: 'Encounter',
    focusId: 'enc-1',
    trigger: 'A01',
    sourceInstitution: 'st-aurelia',
    sourceEventId: randomUUID(),
    snapshot: { resourceType: 'Encounter', id: 'enc-1' } as never,
    labels: [],
    closedByRule: false,
    eventTime: new Date().toISOString(),
    coalesceMs: 0,
    ...over,
  };
}

const enqueue = (n: NewNotification) => dataSource.transaction((tx) => notifications.enqueue(tx, n));

beforeAll(async () => {
  const settings = await prepareTestDatabase(DATABASE, migrations);
  dataSource = createDataSource({ settings, database: DATABASE, migrations: [] });
  await dataSource.initialize();
});

afterAll(async () => {
  await dataSource.destroy();
  await dropTestDatabase(loadConfig(postgresConfig), DATABASE);
});

describe('the notification queue', () => {
  it('numbers events per subscription without gaps, and a redelivered event takes no number', async () => {
    const sub = await newSubscription();
    const first = notification(sub, {});
    expect(await enqueue(first)).toBe('queued');
    expect(await enqueue(first)).toBe('duplicate');
    expect(await enqueue(notification(sub, { enterpriseId: 'person-2', focusId: 'enc-2' }))).toBe('queued');
    const events = await notifications.events(dataSource.manager, sub.id, 1, 10);
    expect(events.map((e) => e.eventNumber)).toEqual([1, 2]);
    expect((await subscriptions.find(dataSource.manager, sub.id))?.eventsSinceStart).toBe(2);
  });

  it('folds an update storm about one visit into one notification, but never past a later one of the patient', async () => {
    const sub = await newSubscription();
    const update = (event: string) =>
      notification(sub, {
        topic: 'encounter-update',
        trigger: 'A08',
        coalesceMs: 60_000,
        sourceEventId: event,
        id: `u-${event}-${sub.id}`,
      });
    expect(await enqueue(update('e1'))).toBe('queued');
    expect(await enqueue(update('e2'))).toBe('coalesced');
    expect(await enqueue(update('e3'))).toBe('coalesced');
    // A discharge of the same patient comes next: a later update must not fold in front of it.
    expect(await enqueue(notification(sub, { topic: 'discharge', trigger: 'A03' }))).toBe('queued');
    expect(await enqueue(update('e4'))).toBe('queued');
    const events = await notifications.events(dataSource.manager, sub.id, 1, 10);
    expect(events.map((e) => [e.eventNumber, e.topic])).toEqual([
      [1, 'encounter-update'],
      [2, 'discharge'],
      [3, 'encounter-update'],
    ]);
  });

  it('offers one notification per patient at a time, oldest first, and waits out a coalescing window', async () => {
    const sub = await newSubscription();
    await enqueue(notification(sub, { id: `a1-${sub.id}`, enterpriseId: 'p-a' }));
    await enqueue(notification(sub, { id: `a2-${sub.id}`, enterpriseId: 'p-a', topic: 'discharge' }));
    await enqueue(notification(sub, { id: `b1-${sub.id}`, enterpriseId: 'p-b' }));
    await enqueue(
      notification(sub, {
        id: `c1-${sub.id}`,
        enterpriseId: 'p-c',
        topic: 'encounter-update',
        coalesceMs: 60_000,
      }),
    );
    const due = await notifications.due(dataSource.manager, sub.destinationId, [], 10);
    expect(due.map((n) => n.id)).toEqual([`a1-${sub.id}`, `b1-${sub.id}`]);
  });

  it('parks after the last attempt, keeps the patient’s next one moving, and redrives on request', async () => {
    const sub = await newSubscription();
    const first = `p1-${sub.id}`;
    await enqueue(notification(sub, { id: first }));
    await enqueue(notification(sub, { id: `p2-${sub.id}`, topic: 'discharge' }));
    await dataSource.transaction((tx) =>
      notifications.markFailed(
        tx,
        first,
        10,
        { error: 'HTTP 400', httpStatus: 400, latencyMs: 5 },
        { park: true, retryInMs: 0, countAttempt: true },
      ),
    );
    expect((await notifications.due(dataSource.manager, sub.destinationId, [], 10)).map((n) => n.id)).toEqual(
      [`p2-${sub.id}`],
    );
    const parked = await notifications.parked(dataSource.manager, sub.id, 10);
    expect(parked.map((p) => [p.notificationId, p.lastError, p.attempts])).toEqual([[first, 'HTTP 400', 10]]);
    expect(await dataSource.transaction((tx) => notifications.redrive(tx, { subscriptionId: sub.id }))).toBe(
      1,
    );
    expect((await notifications.find(dataSource.manager, first))?.status).toBe('pending');
  });

  it('backs off exponentially with jitter up to the bound', () => {
    const max = (attempt: number) =>
      retryDelayMs(attempt, { baseMs: 1000, maxMs: 60_000, random: () => 0.999999 });
    expect([1, 2, 3, 4].map(max).map((d) => Math.round(d / 1000))).toEqual([1, 2, 4, 8]);
    expect(max(20)).toBeLessThanOrEqual(60_000);
    expect(retryDelayMs(3, { baseMs: 1000, maxMs: 60_000, random: () => 0 })).toBeGreaterThanOrEqual(0);
  });
});
