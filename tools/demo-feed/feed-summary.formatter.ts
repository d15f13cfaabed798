import type { SentMessage } from './demo-feed.sender';
import { percentile, table } from '../report/text-report';

/*
 * The demo feed's report: what was sent per institution and message type, which ACK codes came
 * back, how long ACKs took, every negative ACK with its ERR text, and every message whose ACK was
 * not the one expected. Pure: results in, text out.
 */

export interface FeedSummary {
  readonly total: number;
  /** institution → message type → count */
  readonly sent: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** institution → ACK code (or 'none') → count */
  readonly ackCodes: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly latency: { readonly p50: number; readonly p95: number; readonly max: number } | undefined;
  readonly negatives: readonly SentMessage[];
  readonly unexpected: readonly SentMessage[];
}

const POSITIVE = new Set(['AA', 'CA']);

export { percentile };

function bump(map: Map<string, Map<string, number>>, a: string, b: string): void {
  const inner = map.get(a) ?? new Map<string, number>();
  inner.set(b, (inner.get(b) ?? 0) + 1);
  map.set(a, inner);
}

/** Whether the ACK is the one the feed expected (code, and the ERR code when one is expected). */
export function isExpected(result: SentMessage): boolean {
  if (result.ack === undefined) return false;
  if (result.ack.code !== result.message.expectedAck) return false;
  const code = result.message.expectedErrorCode;
  return code === undefined || result.ack.errors.some((e) => e.code === code);
}

export function summarizeFeed(results: readonly SentMessage[]): FeedSummary {
  const sent = new Map<string, Map<string, number>>();
  const ackCodes = new Map<string, Map<string, number>>();
  const latencies: number[] = [];
  for (const r of results) {
    bump(sent, r.message.institution, r.message.messageType);
    bump(ackCodes, r.message.institution, r.ack?.code || 'none');
    if (r.latencyMs !== undefined) latencies.push(r.latencyMs);
  }
  latencies.sort((a, b) => a - b);
  return {
    total: results.length,
    sent,
    ackCodes,
    latency:
      latencies.length === 0
        ? undefined
        : {
            p50: percentile(latencies, 50),
            p95: percentile(latencies, 95),
            max: latencies[latencies.length - 1],
          },
    negatives: results.filter((r) => r.ack !== undefined && !POSITIVE.has(r.ack.code)),
    unexpected: results.filter((r) => !isExpected(r)),
  };
}


const ms = (v: number): string => `${v.toFixed(1)} ms`;

export function formatSummary(
  summary: FeedSummary,
  whereToLook: readonly (readonly [string, string])[],
): string {
  const institutions = [...summary.sent.keys()].sort();
  const types = [...new Set([...summary.sent.values()].flatMap((m) => [...m.keys()]))].sort();
  const codes = [...new Set([...summary.ackCodes.values()].flatMap((m) => [...m.keys()]))].sort();
  const rows = institutions.map((inst) => {
    const s = summary.sent.get(inst)!;
    const a = summary.ackCodes.get(inst)!;
    const total = [...s.values()].reduce((x, y) => x + y, 0);
    return [
      inst,
      ...types.map((t) => String(s.get(t) ?? '')),
      String(total),
      ...codes.map((c) => String(a.get(c) ?? '')),
    ];
  });
  const totals = [
    'total',
    ...types.map((t) => String(institutions.reduce((n, i) => n + (summary.sent.get(i)!.get(t) ?? 0), 0))),
    String(summary.total),
    ...codes.map((c) => String(institutions.reduce((n, i) => n + (summary.ackCodes.get(i)!.get(c) ?? 0), 0))),
  ];
  const out: string[] = [];
  out.push(`Messages sent and ACK codes received (${summary.total} messages)`, '');
  out.push(table(['institution', ...types, 'sent', ...codes.map((c) => `ACK ${c}`)], [...rows, totals]));
  out.push('');
  out.push(
    summary.latency === undefined
      ? 'ACK latency: no ACK received'
      : `ACK latency: p50 ${ms(summary.latency.p50)}, p95 ${ms(summary.latency.p95)}, max ${ms(summary.latency.max)}`,
  );
  out.push('', `Negative ACKs (${summary.negatives.length})`);
  for (const r of summary.negatives) {
    const errs =
      r.ack!.errors.map((e) => `${e.code}${e.location ? ` @${e.location}` : ''}: ${e.text}`).join('; ') ||
      r.ack!.textMessage ||
      '(no ERR)';
    out.push(
      `  ${r.ack!.code}  ${r.message.institution.padEnd(15)} ${r.message.messageType.padEnd(8)} ${r.message.controlId}  ${errs}`,
    );
    if (r.message.note !== undefined) out.push(`      sent on purpose: ${r.message.note}`);
  }
  if (summary.unexpected.length === 0) {
    out.push('', 'Every ACK was the one expected.');
  } else {
    out.push('', `Unexpected ACKs or failures (${summary.unexpected.length})`);
    for (const r of summary.unexpected.slice(0, 20)) {
      const got =
        r.ack !== undefined
          ? `got ${r.ack.code}${r.ack.errors[0] ? ` (${r.ack.errors[0].code}: ${r.ack.errors[0].text})` : ''}`
          : `no ACK: ${r.error ?? 'unknown'}`;
      out.push(
        `  ${r.message.institution.padEnd(15)} ${r.message.messageType.padEnd(8)} ${r.message.controlId}  expected ${r.message.expectedAck}${r.message.expectedErrorCode ? `/${r.message.expectedErrorCode}` : ''}, ${got}`,
      );
    }
    if (summary.unexpected.length > 20) out.push(`  … and ${summary.unexpected.length - 20} more`);
  }
  out.push('', 'Where to look next');
  const width = Math.max(30, ...whereToLook.map(([what]) => what.length));
  for (const [what, where] of whereToLook) out.push(`  ${what.padEnd(width)}  ${where}`);
  return out.join('\n') + '\n';
}
