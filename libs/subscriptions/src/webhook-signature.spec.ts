import { createHmac } from 'node:crypto';
import { SIGNATURE_HEADER, newWebhookSecret, signWebhook, verifyWebhook } from './webhook-signature';

const BODY = '{"resourceType":"Bundle","type":"history"}';
const OLD = 'whsec_old-secret-synthetic';
const NEW = 'whsec_new-secret-synthetic';
const T = 1_780_000_000;

describe('webhook signatures', () => {
  it('names the header X-Tessera-Signature', () => {
    expect(SIGNATURE_HEADER).toBe('X-Tessera-Signature');
  });

  it('signs HMAC-SHA256 over "<seconds>.<body>" as t=…,v1=<hex>', () => {
    const expected = createHmac('sha256', NEW).update(`${T}.${BODY}`).digest('hex');
    expect(signWebhook(BODY, [NEW], T)).toBe(`t=${T},v1=${expected}`);
  });

  it('verifies a signature made with the same secret', () => {
    expect(verifyWebhook(signWebhook(BODY, [NEW], T), BODY, NEW, { nowSeconds: T + 10 })).toEqual({
      ok: true,
    });
  });

  it('during a rotation carries one v1 per secret, and a receiver holding either verifies', () => {
    const header = signWebhook(BODY, [OLD, NEW], T);
    expect(header.split(',').filter((p) => p.startsWith('v1='))).toHaveLength(2);
    expect(verifyWebhook(header, BODY, OLD, { nowSeconds: T })).toEqual({ ok: true });
    expect(verifyWebhook(header, BODY, NEW, { nowSeconds: T })).toEqual({ ok: true });
    expect(verifyWebhook(header, BODY, 'whsec_someone-else', { nowSeconds: T })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('rejects a tampered body as a mismatch', () => {
    const header = signWebhook(BODY, [NEW], T);
    expect(verifyWebhook(header, BODY.replace('history', 'batch'), NEW, { nowSeconds: T })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('rejects a timestamp moved forward (the MAC covers it)', () => {
    const header = signWebhook(BODY, [NEW], T).replace(`t=${T}`, `t=${T + 100}`);
    expect(verifyWebhook(header, BODY, NEW, { nowSeconds: T + 100 })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('rejects timestamps more than the tolerance (default 300 s) in the past or the future as stale', () => {
    const header = signWebhook(BODY, [NEW], T);
    expect(verifyWebhook(header, BODY, NEW, { nowSeconds: T + 300 })).toEqual({ ok: true });
    expect(verifyWebhook(header, BODY, NEW, { nowSeconds: T + 301 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook(header, BODY, NEW, { nowSeconds: T - 301 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook(header, BODY, NEW, { nowSeconds: T + 50, toleranceSeconds: 30 })).toEqual({
      ok: false,
      reason: 'stale',
    });
  });

  it.each([
    ['missing header', undefined],
    ['empty header', ''],
    ['no timestamp', 'v1=' + 'a'.repeat(64)],
    ['no signature', `t=${T}`],
    ['timestamp not a number', `t=soon,v1=${'a'.repeat(64)}`],
    ['two timestamps', `t=${T},t=${T},v1=${'a'.repeat(64)}`],
    ['signature not 64 hex digits', `t=${T},v1=abc`],
    ['part without =', `t=${T},v1`],
  ])('rejects a malformed header: %s', (_case, header) => {
    expect(verifyWebhook(header, BODY, NEW, { nowSeconds: T })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('ignores unknown schemes next to v1, so a future scheme does not break receivers', () => {
    const header = `${signWebhook(BODY, [NEW], T)},v2=whatever`;
    expect(verifyWebhook(header, BODY, NEW, { nowSeconds: T })).toEqual({ ok: true });
  });

  it('refuses to sign without a secret or with a fractional timestamp', () => {
    expect(() => signWebhook(BODY, [], T)).toThrow('at least one secret');
    expect(() => signWebhook(BODY, [NEW], 1.5)).toThrow('integer timestamp');
  });

  it('makes secrets of 32 random bytes, base64url, prefixed whsec_', () => {
    const a = newWebhookSecret();
    const b = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(6), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });
});
