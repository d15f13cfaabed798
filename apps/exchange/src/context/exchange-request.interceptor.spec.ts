import type { CallHandler, ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { PRINCIPAL_PROPERTY } from '@tessera/platform-auth';
import type { Principal } from '@tessera/platform-auth';
import type { RedisClient } from '@tessera/platform-redis';
import { OperationOutcomeException } from '@tessera/platform-service';
import type { Logger } from 'pino';
import { of } from 'rxjs';
import type { ExchangeAudit } from '../audit/exchange-audit.service';
import type { ExchangeSettings } from '../exchange.config';
import type { ClientDirectory, ClientPolicy } from './client-directory';
import { ExchangeRequestInterceptor } from './exchange-request.interceptor';

const principal: Principal = {
  kind: 'institution',
  clientId: 'riverside-ehr',
  institutionId: 'riverside',
  scopes: ['system/DocumentReference.read'],
  roles: [],
  tokenId: 't-1',
  expiresAt: Math.floor(Date.now() / 1000) + 300,
};

function setup(client: ClientPolicy | undefined) {
  const alerts: { reason: string; status: number }[] = [];
  const audit = {
    securityAlert: (r: { reason: string; status: number }) =>
      alerts.push({ reason: r.reason, status: r.status }),
  } as unknown as ExchangeAudit;
  const chain = {
    incr: () => chain,
    expire: () => chain,
    exec: () => Promise.resolve([1, 1]),
  };
  const redis = { multi: () => chain } as unknown as RedisClient;
  const logger = { warn: () => undefined } as unknown as Logger;
  const directory: ClientDirectory = { clientPolicy: () => Promise.resolve(client) };
  const reflector = { get: () => 'search-DocumentReference' } as unknown as Reflector;
  const interceptor = new ExchangeRequestInterceptor(
    reflector,
    audit,
    redis,
    { EXCHANGE_RATE_LIMIT_PER_SECOND: 50 } as ExchangeSettings,
    logger,
    directory,
  );
  let handled = 0;
  const next: CallHandler = {
    handle: () => {
      handled += 1;
      return of(null);
    },
  };
  const call = (purpose: string) => {
    const request = {
      headers: { 'x-tessera-purpose-of-use': purpose, 'x-tessera-break-glass-reason': 'unconscious in ED' },
      path: '/fhir/DocumentReference',
      method: 'GET',
      [PRINCIPAL_PROPERTY]: principal,
    };
    const response = { setHeader: () => undefined };
    const context = {
      getHandler: () => () => undefined,
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
    } as unknown as ExecutionContext;
    return interceptor.intercept(context, next);
  };
  return { call, alerts, handled: () => handled };
}

async function statusOf(promise: Promise<unknown>): Promise<number | 'passed'> {
  try {
    await promise;
    return 'passed';
  } catch (error) {
    if (error instanceof OperationOutcomeException) return error.getStatus();
    throw error;
  }
}

describe('ExchangeRequestInterceptor', () => {
  it('refuses ETREAT (break-the-glass) to a client not registered for it', async () => {
    const { call, alerts, handled } = setup({ allowedPurposes: ['TREAT'], rateLimitPerSecond: null });
    expect(await statusOf(call('ETREAT'))).toBe(403);
    expect(handled()).toBe(0);
    expect(alerts).toEqual([{ reason: 'purpose_not_allowed', status: 403 }]);
  });

  it('refuses a still-valid token of a client that is disabled or no longer registered (no purpose restriction must not mean every purpose)', async () => {
    const { call, alerts, handled } = setup(undefined);
    expect(await statusOf(call('ETREAT'))).toBe(401);
    expect(handled()).toBe(0);
    expect(alerts).toEqual([{ reason: 'client_disabled', status: 401 }]);
  });
});
