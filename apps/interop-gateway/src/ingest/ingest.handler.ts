import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Counter, Histogram, Registry } from 'prom-client';
import {
  ackErrorFor,
  buildAck,
  buildAckForUnparseable,
  decodeHl7Bytes,
  Hl7CharsetError,
  Hl7ErrorCodes,
  immediateAckCode,
  isHl7ParseError,
  parseHl7,
} from '@tessera/hl7v2';
import type { AckCode, AckOutcome, Hl7AckError, Hl7AckSubject, Hl7Message } from '@tessera/hl7v2';
import { Counter as PromCounter, Histogram as PromHistogram } from '@tessera/platform-observability';
import { AuditWriter } from '@tessera/platform-audit';
import { METRICS_REGISTRY } from '@tessera/platform-service';
import { GATEWAY_SETTINGS } from '../gateway.config';
import type { GatewaySettings } from '../gateway.config';
import { mapHl7Message } from '@tessera/v2-fhir';
import type { Institution } from '../institutions/institution';
import { withOwnIdentifierSystems } from '../mapping/identifier-ownership.policy';
import { mappingContextFor } from '../mapping/mapping-context.factory';
import { InstitutionRegistry } from '../institutions/institution.registry';
import type { DurableResult, NewLedgerMessage } from '../ledger/ledger-message';
import { LedgerWriterService } from '../ledger/ledger-writer.service';
import { encodeAck, nextAckControlId, peekHeader } from './ack-text';
import { ackPlanFor, assessMappability, assessMessage, assessSender } from './message-acceptance.policy';
import type { Acceptance, SenderRefusal } from './message-acceptance.policy';
import type { AuthenticatedSender } from './sender.types';

/** The result of ingesting one message: the ACK to send (if the sender wants one) and what happened. */
export interface IngestResult {
  readonly ack: Buffer | undefined;
  readonly ackCode: AckCode | undefined;
  readonly ledgerId: string;
  readonly duplicate: boolean;
}

export interface IngestSource {
  readonly peer: string;
  readonly channel: 'mllp' | 'http';
  /** How the sender was authenticated, and the institution the connection is bound to, if any. */
  readonly sender: AuthenticatedSender;
}

const tracer = trace.getTracer('tessera.interop-gateway');

const NOT_DURABLE: Hl7AckError = {
  code: Hl7ErrorCodes.ApplicationInternalError,
  severity: 'E',
  location: { segment: 'MSH', sequence: 1, field: 10 },
  userMessage:
    'The exchange could not store this message durably just now (storage or messaging unavailable). It was not accepted: send it again; a resend is recognised and never processed twice.',
};

/**
 * The use case behind every inbound HL7v2 message (docs/architecture.md "The path of one message",
 * steps 1-2): decode by MSH-18 → parse → check the sender and the content → store and publish
 * durably (group commit) → build the ACK in the sender's character set. A message is answered
 * positively only once it is durable; a message that cannot be parsed is stored with its error, never
 * dropped.
 */
@Injectable()
export class IngestHandler {
  private readonly received: Counter<'institution' | 'type' | 'ack'>;
  private readonly latency: Histogram<'ack'>;
  private readonly senderRefusals: Counter<'institution' | 'channel'>;

  constructor(
    private readonly institutions: InstitutionRegistry,
    private readonly ledger: LedgerWriterService,
    private readonly audit: AuditWriter,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.senderRefusals = new PromCounter({
      name: 'gateway_sender_refusals_total',
      help: 'Messages answered AR because MSH-4 is not a facility of the institution the connection authenticated as (or claims an institution that authenticates elsewhere)',
      labelNames: ['institution', 'channel'],
      registers: [registry],
    });
    this.received = new PromCounter({
      name: 'gateway_messages_total',
      help: 'HL7v2 messages received, by institution (feed), message type and ACK code',
      labelNames: ['institution', 'type', 'ack'],
      registers: [registry],
    });
    this.latency = new PromHistogram({
      name: 'gateway_ack_latency_seconds',
      help: 'Time from a complete frame to its ACK being ready (includes the durable write)',
      labelNames: ['ack'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    });
  }

  /**
   * One span per inbound message starts the trace that Kafka `traceparent` headers carry on to the
   * mapper, the MPI and the registry. Attributes name the feed, never patient data.
   */
  ingest(bytes: Buffer, source: IngestSource): Promise<IngestResult> {
    return tracer.startActiveSpan(`${source.channel} receive`, { kind: SpanKind.SERVER }, async (span) => {
      try {
        const result = await this.ingestInSpan(bytes, source);
        span.setAttributes({
          'hl7.ack_code': result.ackCode ?? 'none',
          'tessera.ledger_id': result.ledgerId,
          'hl7.duplicate': result.duplicate,
        });
        return result;
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private async ingestInSpan(bytes: Buffer, source: IngestSource): Promise<IngestResult> {
    const started = performance.now();
    const receivedAt = new Date();
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    // MSH is ASCII in every supported charset: read MSH-4 before decoding to pick the feed's default.
    const fragments = peekHeader(bytes);
    const claimed = this.institutions.byFacilityCode(fragments.sendingFacility ?? '');
    const bound = source.sender.institutionId;
    // The row belongs to the institution the connection proved to be; otherwise to the one MSH-4 names.
    const institution =
      bound === undefined ? claimed : (this.institutions.get(bound)?.institution ?? claimed);
    const base = {
      id: randomUUID(),
      receivedAt,
      institutionId: bound ?? claimed?.id ?? null,
      contentSha256: sha256,
      raw: bytes,
      peer: source.peer,
      channel: source.channel,
      senderAuthentication: source.sender.authentication,
      senderIdentity: source.sender.identity ?? null,
    };

    let message: Hl7Message;
    let charset: string;
    let text: string;
    try {
      const decoded = decodeHl7Bytes(bytes, institution?.feed.defaultCharset ?? 'UNICODE UTF-8');
      charset = decoded.charset;
      text = decoded.text;
      message = parseHl7(text);
    } catch (error) {
      if (!(error instanceof Hl7CharsetError) && !isHl7ParseError(error)) throw error;
      return this.finish(started, institution, 'unparseable', await this.unparseable(base, fragments, error));
    }

    const refusal = assessSender(
      message.header,
      claimed,
      bound === undefined ? {} : { institutionId: bound },
    );
    if (refusal !== undefined) this.alertRefusal(refusal, message.header.sendingFacility, source);
    const assessed = refusal?.acceptance ?? assessMessage(message, claimed);
    const acceptance =
      assessed.outcome === 'accepted' && claimed !== undefined
        ? assessMappability(
            withOwnIdentifierSystems(
              mapHl7Message(message, mappingContextFor(claimed)),
              this.institutions.identifierSystemsOfOthers(claimed.id),
            ),
          )
        : assessed;
    const plan = ackPlanFor(institution, message);
    const header = message.header;
    const record: NewLedgerMessage = {
      ...base,
      sendingApplication: header.sendingApplication,
      sendingFacility: header.sendingFacility,
      messageType: `${header.messageCode}^${header.triggerEvent}`,
      controlId: header.controlId,
      hl7Version: header.version,
      charset,
      text: acceptance.outcome === 'accepted' ? text : null,
      partitionKey: partitionKey(institution, message),
      ackMode: plan.mode,
      ackCode: immediateAckCode(plan, acceptance.outcome) ?? null,
      ackErrors: acceptance.outcome === 'accepted' ? [] : acceptance.errors,
      state: acceptance.outcome === 'accepted' ? 'received' : 'rejected',
      stateDetail: acceptance.outcome === 'accepted' ? null : (acceptance.errors[0]?.userMessage ?? null),
      senderRefused: refusal !== undefined,
    };
    // A refused sender's message is stored as its own row, never as a repeat of a stored message
    // (a replayed capture) nor as the original of a later one: it is answered with its refusal.
    const durable = await this.ledger.write(record);
    const { outcome, errors } =
      refusal !== undefined && durable.durable ? refusal.acceptance : this.answer(acceptance, durable);
    const code = immediateAckCode(plan, outcome);
    const ack = code === undefined ? undefined : this.ackBytes(message, code, errors, charset);
    return this.finish(started, institution, record.messageType, {
      ack,
      ackCode: code,
      ledgerId: durable.durable ? durable.stored.id : (durable.stored?.id ?? record.id),
      duplicate: durable.durable ? durable.stored.duplicate : false,
    });
  }

  /**
   * A repeat gets the original outcome; a message that is not durable is never answered positively.
   * A repeat of a message stored unreadable (its feed's default character set changed since) keeps
   * that answer too: an AA would promise a message that was never published.
   */
  private answer(
    acceptance: Acceptance,
    durable: DurableResult,
  ): { outcome: AckOutcome; errors: readonly Hl7AckError[] } {
    if (!durable.durable) return { outcome: 'rejected', errors: [NOT_DURABLE] };
    const stored = durable.stored;
    if (stored.duplicate && (stored.state === 'rejected' || stored.state === 'unparseable')) {
      return {
        outcome: stored.ackCode === 'AE' || stored.ackCode === 'CE' ? 'error' : 'rejected',
        errors: stored.ackErrors,
      };
    }
    if (stored.duplicate) return { outcome: 'accepted', errors: [] };
    return acceptance.outcome === 'accepted' ? { outcome: 'accepted', errors: [] } : acceptance;
  }

  private async unparseable(
    base: Pick<
      NewLedgerMessage,
      | 'id'
      | 'receivedAt'
      | 'institutionId'
      | 'contentSha256'
      | 'raw'
      | 'peer'
      | 'channel'
      | 'senderAuthentication'
      | 'senderIdentity'
    >,
    fragments: Hl7AckSubject,
    error: unknown,
  ): Promise<IngestResult> {
    const ackError = ackErrorFor(error as Parameters<typeof ackErrorFor>[0]);
    const charset = fragments.characterSet ?? '';
    const record: NewLedgerMessage = {
      ...base,
      sendingApplication: fragments.sendingApplication ?? '',
      sendingFacility: fragments.sendingFacility ?? '',
      messageType: '',
      controlId: fragments.controlId ?? '',
      hl7Version: fragments.version ?? '',
      charset,
      text: null,
      partitionKey: '',
      ackMode: 'original',
      ackCode: 'AE',
      ackErrors: [ackError],
      state: 'unparseable',
      stateDetail: (error as Error).message,
      senderRefused: false,
    };
    const durable = await this.ledger.write(record);
    const ackText = buildAckForUnparseable(fragments, {
      code: durable.durable ? 'AE' : 'AR',
      controlId: nextAckControlId(),
      now: new Date(),
      sendingApplication: this.settings.GATEWAY_APPLICATION,
      sendingFacility: this.settings.GATEWAY_FACILITY,
      errors: durable.durable ? [ackError] : [ackError, NOT_DURABLE],
    });
    return {
      ack: encodeAck(ackText, charset),
      ackCode: durable.durable ? 'AE' : 'AR',
      ledgerId: durable.durable ? durable.stored.id : record.id,
      duplicate: durable.durable && durable.stored.duplicate,
    };
  }

  /**
   * A security alert (hie.audit) for a message refused because of its sender: who the connection
   * authenticated as, the facility claimed and the listener; no message content.
   */
  private alertRefusal(refusal: SenderRefusal, claimedFacility: string, source: IngestSource): void {
    const sender = source.sender;
    this.senderRefusals.inc({ institution: sender.institutionId ?? 'none', channel: source.channel });
    this.audit.recordDetached({
      type: 'security-alert',
      subtype: 'create',
      action: 'C',
      outcome: '4',
      outcomeDesc: refusal.reason.slice(0, 500),
      agent: {
        clientId: sender.identity ?? null,
        institutionId: sender.institutionId ?? null,
        network: source.peer.slice(0, 100),
      },
      entities: [
        { type: 'listener', reference: sender.listener.slice(0, 200) },
        { type: 'sending-facility', reference: claimedFacility.slice(0, 200) },
      ],
      detail:
        `HL7 v2 message refused (AR): ${refusal.reason}; sender authentication ${sender.authentication}${sender.identity === undefined ? '' : ` (${sender.identity})`} on ${sender.listener}`.slice(
          0,
          1000,
        ),
    });
  }

  private ackBytes(
    message: Hl7Message,
    code: AckCode,
    errors: readonly Hl7AckError[],
    charset: string,
  ): Buffer {
    const text = buildAck(message, {
      code,
      controlId: nextAckControlId(),
      now: new Date(),
      sendingApplication: this.settings.GATEWAY_APPLICATION,
      sendingFacility: this.settings.GATEWAY_FACILITY,
      errors,
    });
    return encodeAck(text, charset);
  }

  private finish(
    started: number,
    institution: Institution | undefined,
    type: string,
    result: IngestResult,
  ): IngestResult {
    const ack = result.ackCode ?? 'none';
    this.received.inc({
      institution: institution?.id ?? 'unknown',
      type: type === '' ? 'unknown' : type,
      ack,
    });
    this.latency.observe({ ack }, (performance.now() - started) / 1000);
    return result;
  }
}

/** Kafka key of the raw message: institution | first PID-3 id, so one patient's messages keep their order. */
function partitionKey(institution: Institution | undefined, message: Hl7Message): string {
  const pid = message.first('PID');
  const localId = pid?.repetitions(3)[0]?.component(1) ?? '';
  return `${institution?.id ?? message.header.sendingFacility}|${localId}`;
}
