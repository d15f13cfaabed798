import { backoffDelayMs, buildForwardHeaders, decideOnFailure, readDeliveryState } from './retry-policy.util';
import { RetryHeaders } from './record-headers.util';

const settings = { attempts: 3, backoffMs: 100 };
const position = { topic: 'hie.patient.mpi.retry', partition: 2, offset: '40' };

describe('backoffDelayMs', () => {
  it('starts at the configured backoff before attempt 2 and doubles per attempt', () => {
    expect(backoffDelayMs(2, settings)).toBe(100);
    expect(backoffDelayMs(3, settings)).toBe(200);
    expect(backoffDelayMs(4, settings)).toBe(400);
  });

  it('is capped', () => {
    expect(backoffDelayMs(30, { ...settings, maxBackoffMs: 5000 })).toBe(5000);
  });
});

describe('decideOnFailure', () => {
  it('retries a handler failure with the next attempt and a not-before time', () => {
    expect(decideOnFailure('handler', 1, settings, 1_000)).toEqual({ action: 'retry', nextAttempt: 2, notBefore: 1_100 });
    expect(decideOnFailure('handler', 2, settings, 1_000)).toEqual({ action: 'retry', nextAttempt: 3, notBefore: 1_200 });
  });

  it('dead-letters after the configured number of attempts', () => {
    expect(decideOnFailure('handler', 3, settings, 1_000)).toEqual({ action: 'dead-letter', attempts: 3 });
  });

  it.each(['validation', 'unknown-type', 'envelope'] as const)('dead-letters %s failures at once', (kind) => {
    expect(decideOnFailure(kind, 1, settings, 1_000)).toEqual({ action: 'dead-letter', attempts: 1 });
  });
});

describe('readDeliveryState', () => {
  it('treats a record without retry headers as attempt 1 at its own position', () => {
    expect(readDeliveryState({ ce_id: 'x' }, position)).toEqual({ attempt: 1, origin: position, notBefore: 0 });
  });

  it('reads attempt, origin and not-before from retry headers', () => {
    const headers = {
      [RetryHeaders.attempt]: '2',
      [RetryHeaders.originalTopic]: 'hie.patient',
      [RetryHeaders.originalPartition]: '5',
      [RetryHeaders.originalOffset]: '1234',
      [RetryHeaders.notBefore]: '99',
    };
    expect(readDeliveryState(headers, position)).toEqual({
      attempt: 2,
      origin: { topic: 'hie.patient', partition: 5, offset: '1234' },
      notBefore: 99,
    });
  });

  it('ignores malformed retry headers', () => {
    const headers = {
      [RetryHeaders.attempt]: 'two',
      [RetryHeaders.originalTopic]: 'hie.patient',
      [RetryHeaders.originalPartition]: '5',
      [RetryHeaders.originalOffset]: '1234',
    };
    expect(readDeliveryState(headers, position).attempt).toBe(1);
  });
});

describe('buildForwardHeaders', () => {
  const input = {
    consumerGroup: 'mpi',
    origin: { topic: 'hie.patient', partition: 5, offset: '1234' },
    attempt: 2,
    notBefore: 5_000,
    kind: 'handler' as const,
    errorMessage: 'boom\n  at line 3',
    failedAt: Date.UTC(2024, 0, 2, 3, 4, 5),
  };

  it('keeps the CloudEvents and trace headers and adds the retry headers', () => {
    const headers = buildForwardHeaders({ ce_id: 'e1', ce_type: 't', traceparent: 'tp' }, input);
    expect(headers).toEqual({
      ce_id: 'e1',
      ce_type: 't',
      traceparent: 'tp',
      [RetryHeaders.attempt]: '2',
      [RetryHeaders.originalTopic]: 'hie.patient',
      [RetryHeaders.originalPartition]: '5',
      [RetryHeaders.originalOffset]: '1234',
      [RetryHeaders.notBefore]: '5000',
      [RetryHeaders.error]: 'boom at line 3',
      [RetryHeaders.errorKind]: 'handler',
      [RetryHeaders.consumerGroup]: 'mpi',
      [RetryHeaders.failedAt]: '2024-01-02T03:04:05.000Z',
    });
  });

  it('replaces the retry headers of a previous attempt and omits not-before for the DLQ', () => {
    const { notBefore: _n, ...dlqInput } = input;
    const headers = buildForwardHeaders(
      { ce_id: 'e1', [RetryHeaders.attempt]: '2', [RetryHeaders.notBefore]: '1', [RetryHeaders.error]: 'old' },
      { ...dlqInput, attempt: 3 },
    );
    expect(headers[RetryHeaders.attempt]).toBe('3');
    expect(headers[RetryHeaders.error]).toBe('boom at line 3');
    expect(headers).not.toHaveProperty(RetryHeaders.notBefore);
  });

  it('truncates long error messages', () => {
    const headers = buildForwardHeaders({}, { ...input, errorMessage: 'x'.repeat(5000) });
    expect(headers[RetryHeaders.error]).toHaveLength(512);
  });
});
