import { Inject, Injectable } from '@nestjs/common';
import type { Encounter } from '@medplum/fhirtypes';
import { MllpClient, readAckDisposition } from '@tessera/platform-mllp-client';
import { buildAdtNotification } from '@tessera/v2-fhir';
import type { AdtNotificationTrigger } from '@tessera/v2-fhir';
import type { NotificationRow } from '../notifications/notification.repository';
import { NOTIFY_SETTINGS } from '../notify.config';
import type { NotifySettings } from '../notify.config';
import type { SubscriptionRow } from '../subscriptions/subscription.repository';
import { NotifyLinkRepository } from '../matching/notify-link.repository';
import { DataSource } from 'typeorm';
import { INSTITUTION_SYSTEMS } from '../../policy/region.provider';
import type { InstitutionSystems } from '../../policy/region.provider';
import { bundleFor, notificationEventOf } from './notification-payload.mapper';
import { sendWebhook } from './webhook.sender';
import type { SendResult } from './webhook.sender';

export interface DeliveryTarget {
  readonly channelType: 'rest-hook' | 'hl7v2-mllp';
  readonly endpoint: string;
}

export interface SendOptions {
  readonly fhirBase: string;
  readonly secrets: readonly string[];
  readonly timeoutMs: number;
}

/** The enterprise id as an identifier in HL7 v2 PID-3 (assigning authority = the region). */
export const ENTERPRISE_ID_SYSTEM = 'urn:tessera:enterprise-id';

/** v2 trigger of a topic: what the subscriber's engine expects for that event (HL7 v2.5.1 ch. 3). */
const V2_TRIGGER: Readonly<Record<string, AdtNotificationTrigger>> = {
  admission: 'A01',
  'emergency-arrival': 'A04',
  transfer: 'A02',
  discharge: 'A03',
  'emergency-departure': 'A03',
  'encounter-update': 'A08',
};

/**
 * The two ways a notification leaves: a signed FHIR notification Bundle to a rest-hook, or an
 * HL7 v2 ADT message over MLLP for institutions whose engines speak only v2.
 */
@Injectable()
export class DeliveryChannels {
  constructor(
    private readonly dataSource: DataSource,
    private readonly links: NotifyLinkRepository,
    @Inject(NOTIFY_SETTINGS) private readonly settings: NotifySettings,
    @Inject(INSTITUTION_SYSTEMS) private readonly institutions: InstitutionSystems,
  ) {}

  async send(
    target: DeliveryTarget,
    subscription: SubscriptionRow,
    row: NotificationRow,
    options: SendOptions,
  ): Promise<SendResult> {
    if (target.channelType === 'hl7v2-mllp') return this.sendV2(target, subscription, row, options);
    const type = row.kind === 'handshake' ? 'handshake' : 'event-notification';
    const events = row.kind === 'handshake' ? [] : [notificationEventOf(row, options.fhirBase)];
    return this.post(target, subscription, options, type, events, row.id);
  }

  /** A heartbeat (rest-hook) or a connection check (MLLP: v2 has no empty message). */
  async heartbeat(
    target: DeliveryTarget,
    subscription: SubscriptionRow,
    options: SendOptions,
  ): Promise<SendResult> {
    if (target.channelType === 'rest-hook')
      return this.post(
        target,
        subscription,
        options,
        'heartbeat',
        [],
        `heartbeat-${subscription.id}-${Date.now()}`,
      );
    const started = performance.now();
    try {
      const client = await MllpClient.connect({
        ...endpointOf(target.endpoint),
        connectTimeoutMs: options.timeoutMs,
      });
      await client.close();
      return succeeded(performance.now() - started);
    } catch (error) {
      return failed((error as Error).name, true, performance.now() - started);
    }
  }

  private post(
    target: DeliveryTarget,
    subscription: SubscriptionRow,
    options: SendOptions,
    type: 'handshake' | 'heartbeat' | 'event-notification',
    events: ReturnType<typeof notificationEventOf>[],
    notificationId: string,
  ): Promise<SendResult> {
    return sendWebhook({
      endpoint: target.endpoint,
      body: JSON.stringify(bundleFor(subscription, type, events, options.fhirBase)),
      secrets: options.secrets,
      notificationId,
      headers: subscription.channelHeaders,
      timeoutMs: options.timeoutMs,
      nowSeconds: Math.floor(Date.now() / 1000),
    });
  }

  private async sendV2(
    target: DeliveryTarget,
    subscription: SubscriptionRow,
    row: NotificationRow,
    options: SendOptions,
  ): Promise<SendResult> {
    const started = performance.now();
    // A handshake has no v2 form: the endpoint answering a connection is the handshake.
    if (row.kind === 'handshake') return this.heartbeat(target, subscription, options);
    const trigger = V2_TRIGGER[row.topic ?? ''];
    if (trigger === undefined || row.focusType !== 'Encounter' || row.snapshot === null)
      return failed('topic has no HL7 v2 ADT form', false, 0);
    const message = buildAdtNotification({
      trigger,
      // MSH-10 is at most 20 characters in HL7 v2.5.1: the key's first 20 (120 random bits) identify it.
      controlId: v2ControlId(row.id),
      messageTime: new Date(),
      processingId: 'P',
      sendingApplication: 'TESSERA',
      sendingFacility: this.settings.NOTIFY_REGION_CODE,
      receivingFacility: subscription.ownerInstitution,
      identifiers: await this.identifiersFor(subscription, row),
      encounter: row.snapshot as Encounter,
      occurredAt: { institutionId: row.sourceInstitution ?? '' },
      closedByRule: row.closedByRule,
    });
    let client: MllpClient | undefined;
    try {
      client = await MllpClient.connect({
        ...endpointOf(target.endpoint),
        connectTimeoutMs: options.timeoutMs,
      });
      const ack = await client.send(message, { timeoutMs: options.timeoutMs });
      const disposition = readAckDisposition(ack.text, v2ControlId(row.id));
      const latencyMs = performance.now() - started;
      if (disposition.kind === 'accepted') return succeeded(latencyMs);
      // AE/CE: the receiver refuses this message (resending it as is will not help); AR/CR: not now.
      const error =
        disposition.kind === 'invalid'
          ? `invalid ACK: ${disposition.reason}`
          : `${disposition.code} ${disposition.error ?? ''}`.trim();
      return failed(error, disposition.kind !== 'rejected', latencyMs);
    } catch (error) {
      return failed((error as Error).name, true, performance.now() - started);
    } finally {
      await client?.close().catch(() => client?.destroy());
    }
  }

  /**
   * PID-3 of a v2 notification: the person's identifiers the subscriber knows — those of its own
   * assigning authorities and those on its roster — and the region's enterprise id. Never another
   * institution's record numbers.
   */
  private async identifiersFor(subscription: SubscriptionRow, row: NotificationRow) {
    const manager = this.dataSource.manager;
    const own = new Set(this.institutions.get(subscription.ownerInstitution) ?? []);
    const all = row.enterpriseId === null ? [] : await this.links.identifiersOf(manager, row.enterpriseId);
    const onRoster =
      subscription.rosterId === null
        ? new Set<string>()
        : new Set(
            (
              await manager.query<{ id: string }[]>(
                `SELECT m.system || '|' || m.value AS id FROM notify_roster_members m
                  JOIN notify_links l ON l.system = m.system AND l.value = m.value
                 WHERE m.roster_id = $1 AND l.enterprise_id = $2 AND l.state = 'MATCH'`,
                [subscription.rosterId, row.enterpriseId],
              )
            ).map((r) => r.id),
          );
    const known = all.filter((i) => own.has(i.system) || onRoster.has(`${i.system}|${i.value}`));
    return [
      ...known.map((i) => ({
        system: i.system,
        value: i.value,
        assigningAuthority: i.system,
        typeCode: own.has(i.system) ? 'MR' : 'PI',
      })),
      ...(row.enterpriseId === null
        ? []
        : [
            {
              system: ENTERPRISE_ID_SYSTEM,
              value: row.enterpriseId,
              assigningAuthority: this.settings.NOTIFY_REGION_CODE,
              typeCode: 'PT',
            },
          ]),
    ];
  }
}

/** The notification's MSH-10: its idempotency key cut to the 20 characters HL7 v2.5.1 allows. */
export function v2ControlId(notificationId: string): string {
  return notificationId.slice(0, 20);
}

function succeeded(latencyMs: number): SendResult {
  return { ok: true, endpointFault: false, httpStatus: null, error: null, latencyMs };
}

function failed(error: string, endpointFault: boolean, latencyMs: number): SendResult {
  return { ok: false, endpointFault, httpStatus: null, error, latencyMs };
}

/** `mllp://host:port` or `mllps://host:port` → connection options (TLS for mllps). */
export function endpointOf(endpoint: string): { host: string; port: number; tls?: boolean } {
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { host, port: Number(url.port), ...(url.protocol === 'mllps:' ? { tls: true } : {}) };
}
