import net from 'node:net';
import path from 'node:path';
import {
  buildAck,
  decodeHl7Bytes,
  encodeHl7Text,
  encodeMllpFrame,
  MllpFrameDecoder,
  parseHl7,
} from '@tessera/hl7v2';
import type { AckCode } from '@tessera/hl7v2';
import { buildDemoFeed } from './demo-feed.builder';
import { sendFeed } from './demo-feed.sender';
import { formatSummary, isExpected, percentile, summarizeFeed } from './feed-summary.formatter';
import { loadInstitutions } from './institutions.loader';

/*
 * The receiving side is a test double: a loopback MLLP server that decodes each frame by its
 * MSH-18, answers in order with an ACK built by @tessera/hl7v2 (AR for an unknown MSH-4, AE/101 for
 * an empty PID-3, CA when MSH-15 asks for a commit ACK, AA otherwise), encoded in the message's
 * charset. It records which connection each message came on.
 */

const institutions = loadInstitutions(path.resolve(__dirname, '../../deploy/demo-region/institutions.yaml'));
const knownFacilities = new Set(institutions.flatMap((i) => i.sendingFacilities));

interface Gateway {
  readonly port: number;
  /** connection number → sending facilities seen on it */
  readonly connections: Map<number, Set<string>>;
  readonly charsetsSeen: Set<string>;
  close(): Promise<void>;
}

async function startFakeGateway(): Promise<Gateway> {
  const connections = new Map<number, Set<string>>();
  const charsetsSeen = new Set<string>();
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const id = next++;
    connections.set(id, new Set());
    sockets.add(socket);
    const decoder = new MllpFrameDecoder({ maxFrameBytes: 1 << 20 });
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind !== 'frame') continue;
        const decoded = decodeHl7Bytes(event.payload, 'UNICODE UTF-8');
        charsetsSeen.add(decoded.charset);
        const message = parseHl7(decoded.text);
        connections.get(id)!.add(message.header.sendingFacility);
        const enhanced = message.header.acceptAckType !== '';
        let code: AckCode = enhanced ? 'CA' : 'AA';
        const errors = [];
        if (!knownFacilities.has(message.header.sendingFacility)) {
          code = enhanced ? 'CR' : 'AR';
          errors.push({
            code: 103 as const,
            location: { segment: 'MSH', field: 4 },
            userMessage: 'MSH-4 is not a registered sending facility',
          });
        } else if (message.first('PID') !== undefined && message.first('PID')!.repetitions(3).length === 0) {
          code = enhanced ? 'CE' : 'AE';
          errors.push({
            code: 101 as const,
            location: { segment: 'PID', field: 3 },
            userMessage: 'PID-3 (patient identifier list) is empty',
          });
        }
        const ack = buildAck(message, {
          code,
          controlId: `ACK${message.header.controlId}`,
          now: new Date(0),
          sendingApplication: 'TESSERA',
          sendingFacility: 'HIE',
          errors,
        });
        socket.write(encodeMllpFrame(encodeHl7Text(ack, decoded.charset)));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    charsetsSeen,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('sendFeed + summary against an ACKing MLLP server', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startFakeGateway();
  });
  afterAll(async () => gateway.close());

  it('sends each institution on its own connection, in its charset, and every ACK is the expected one', async () => {
    const feed = buildDemoFeed({ institutions, seed: 3, persons: 20, runTag: 'T1' });
    const results = await sendFeed(feed, { host: '127.0.0.1', port: gateway.port, window: 4 });

    expect(results).toHaveLength(feed.length);
    expect(results.map((r) => r.message)).toEqual(feed);
    expect(results.filter((r) => !isExpected(r))).toEqual([]);
    expect(results.every((r) => r.ack?.controlId === r.message.controlId)).toBe(true);
    expect(gateway.charsetsSeen).toEqual(new Set(['UNICODE UTF-8', '8859/1', 'GB 18030-2000']));
    const perConnection = [...gateway.connections.values()]
      .filter((s) => s.size > 0)
      .map((s) => [...s].sort().join(','));
    expect(perConnection.sort()).toEqual(
      ['DHPH', 'LAKESHORE-URGENT', 'NVMC', 'RIVERSIDE,RIVERSIDE-LAB', 'STAURELIA'].sort(),
    );

    const summary = summarizeFeed(results);
    expect(summary.unexpected).toEqual([]);
    expect(summary.negatives.map((r) => `${r.ack!.code}/${r.ack!.errors[0]?.code}`).sort()).toEqual([
      'AE/101',
      'AR/103',
    ]);
    const text = formatSummary(summary, [
      ['Gateway message ledger', 'http://127.0.0.1:8081/ledger/messages'],
    ]);
    expect(text).toContain('Every ACK was the one expected.');
    expect(text).toMatch(
      /AE {2}st-aurelia\s+ADT\^A04 +STAURELIA-T1-\d{5} {2}101 @PID\^1\^3(\^1)?: PID-3 \(patient identifier list\) is empty/,
    );
    expect(text).toMatch(/AR {2}unknown/);
    expect(text).toMatch(/ACK latency: p50 \d+\.\d ms, p95 \d+\.\d ms, max \d+\.\d ms/);
    expect(text).toContain('http://127.0.0.1:8081/ledger/messages');
  });

  it('reports messages that got no ACK because nothing listens', async () => {
    const spare = await startFakeGateway();
    const port = spare.port;
    await spare.close();
    const feed = buildDemoFeed({ institutions, seed: 3, persons: 4 }).slice(0, 3);
    const results = await sendFeed(feed, { host: '127.0.0.1', port });
    expect(results.every((r) => r.ack === undefined && /connect/i.test(r.error ?? ''))).toBe(true);
    const text = formatSummary(summarizeFeed(results), []);
    expect(text).toContain('ACK latency: no ACK received');
    expect(text).toContain(`Unexpected ACKs or failures (${feed.length})`);
  });
});

describe('summary helpers', () => {
  it('percentile is nearest-rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([
      percentile(values, 50),
      percentile(values, 95),
      percentile(values, 100),
      percentile([7], 95),
    ]).toEqual([50, 95, 100, 7]);
    expect(percentile([], 50)).toBeNaN();
  });

  it('an ACK with the right code but without the expected ERR code is unexpected', () => {
    const [message] = buildDemoFeed({ institutions, seed: 1, persons: 4 }).filter(
      (m) => m.expectedAck === 'AE',
    );
    expect(
      isExpected({
        message,
        ack: {
          code: 'AE',
          controlId: message.controlId,
          textMessage: '',
          errors: [{ code: '102', location: '', text: 'x' }],
        },
      }),
    ).toBe(false);
    expect(
      isExpected({
        message,
        ack: {
          code: 'AE',
          controlId: message.controlId,
          textMessage: '',
          errors: [{ code: '101', location: '', text: 'x' }],
        },
      }),
    ).toBe(true);
  });
});
