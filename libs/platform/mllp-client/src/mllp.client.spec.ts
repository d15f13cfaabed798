import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { encodeHl7Text, MllpFrameDecoder } from '@tessera/hl7v2';
import { connect, MllpConnectionError, MllpTimeoutError } from './mllp.client';
import { readAck } from './ack.reader';

/*
 * The server side here is a test double (a loopback net.Server that frames ACKs by hand); the
 * client under test is the real one. The stub answers each frame with an ACK echoing MSH-10, in
 * order, optionally after a delay, and can be told to swallow or garble specific messages.
 */

interface StubOptions {
  /** ms to wait before answering a message, by MSH-10. */
  readonly delayFor?: (controlId: string) => number;
  /** Charset to encode the ACK in, by MSH-10 (default UTF-8). */
  readonly charsetFor?: (controlId: string) => string;
  /** Replace the ACK bytes entirely (already framed). */
  readonly rawFor?: (controlId: string) => Buffer | undefined;
}

interface Stub {
  readonly port: number;
  readonly received: string[];
  close(): Promise<void>;
}

async function startAckStub(options: StubOptions = {}): Promise<Stub> {
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const decoder = new MllpFrameDecoder({ maxFrameBytes: 1 << 20 });
    // Answers go out strictly in arrival order even when a delay is asked for one of them.
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind !== 'frame') continue;
        const text = event.payload.toString('latin1');
        received.push(text);
        const fields = text.split('\r')[0].split('|');
        const controlId = fields[9];
        const charset = options.charsetFor?.(controlId) ?? 'UNICODE UTF-8';
        chain = chain.then(async () => {
          const delay = options.delayFor?.(controlId) ?? 0;
          if (delay > 0) await new Promise((r) => setTimeout(r, delay).unref());
          const raw = options.rawFor?.(controlId);
          if (raw !== undefined) {
            socket.write(raw);
            return;
          }
          const ack = `MSH|^~\\&|TESSERA|HIE|${fields[2]}|${fields[3]}|20250101000000||ACK^A01^ACK|ACK-${controlId}|P|2.5.1|||||${charset}\rMSA|AA|${controlId}|Ünïcødé 北京\r`;
          const body = encodeHl7Text(ack, charset);
          socket.write(Buffer.concat([Buffer.from([0x0b]), body, Buffer.from([0x1c, 0x0d])]));
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const msg = (controlId: string, charset = 'UNICODE UTF-8'): string =>
  `MSH|^~\\&|APP|STAURELIA|TESSERA|HIE|20250101120000||ADT^A01^ADT_A01|${controlId}|P|2.5.1|||||${charset}\rPID|1||123^^^STA^MR||Müller^Jürgen\r`;

describe('MllpClient', () => {
  let stub: Stub;
  afterEach(async () => stub?.close());

  it('sends one framed message and resolves with the decoded ACK and a latency', async () => {
    stub = await startAckStub();
    const client = await connect({ host: '127.0.0.1', port: stub.port });
    const ack = await client.send(msg('M1'));
    await client.close();

    expect(stub.received).toHaveLength(1);
    expect(Buffer.from(stub.received[0], 'latin1').toString('utf8')).toBe(msg('M1'));
    expect(readAck(ack.text)).toMatchObject({ code: 'AA', controlId: 'M1', textMessage: 'Ünïcødé 北京' });
    expect(ack.latencyMs).toBeGreaterThan(0);
    expect(ack.latencyMs).toBeLessThan(5_000);
  });

  it('connects from the given source address (localAddress), as an allow-listed feed does', async () => {
    const peers: string[] = [];
    const server = net.createServer((socket) => {
      peers.push(socket.remoteAddress ?? '');
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      for (const localAddress of ['127.0.0.2', '127.0.0.3']) {
        const client = await connect({ host: '127.0.0.1', port, localAddress });
        client.destroy();
      }
      for (const deadline = Date.now() + 5_000; peers.length < 2 && Date.now() < deadline;)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(peers.map((p) => p.replace(/^::ffff:/, ''))).toEqual(['127.0.0.2', '127.0.0.3']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('encodes a string message in the given charset and decodes the ACK by its MSH-18', async () => {
    stub = await startAckStub({ charsetFor: () => 'GB 18030-2000' });
    const client = await connect({ host: '127.0.0.1', port: stub.port });
    const text = msg('G1', 'GB 18030-2000').replace('Müller^Jürgen', '欧阳^秀英');
    const ack = await client.send(text, { charset: 'GB 18030-2000' });
    await client.close();

    expect(Buffer.from(stub.received[0], 'latin1').equals(encodeHl7Text(text, 'GB 18030-2000'))).toBe(true);
    expect(Buffer.from(stub.received[0], 'latin1').includes(Buffer.from('欧阳', 'utf8'))).toBe(false);
    expect(ack.text).toContain('MSA|AA|G1|Ünïcødé 北京');
    expect(ack.bytes.equals(encodeHl7Text(ack.text, 'GB 18030-2000'))).toBe(true);
  });

  it('sends bytes as they are', async () => {
    stub = await startAckStub();
    const client = await connect({ host: '127.0.0.1', port: stub.port });
    const bytes = encodeHl7Text(msg('B1', '8859/1'), '8859/1');
    await client.send(bytes);
    await client.close();
    expect(Buffer.from(stub.received[0], 'latin1').equals(bytes)).toBe(true);
  });

  it('pipelines messages on one connection and matches ACKs in order, even when early ones are slow', async () => {
    stub = await startAckStub({ delayFor: (id) => (id === 'P0' ? 150 : id === 'P3' ? 50 : 0) });
    const client = await connect({ host: '127.0.0.1', port: stub.port });
    const sends = Array.from({ length: 10 }, (_, i) => client.send(msg(`P${i}`)));
    expect(client.inFlight).toBe(10);
    const acks = await Promise.all(sends);
    expect(client.inFlight).toBe(0);
    await client.close();

    expect(acks.map((a) => readAck(a.text).controlId)).toEqual(Array.from({ length: 10 }, (_, i) => `P${i}`));
    // All ten were written before the first ACK came back.
    expect(stub.received).toHaveLength(10);
    expect(acks[9].latencyMs).toBeGreaterThanOrEqual(140);
  });

  it('rejects a message whose ACK is late with MllpTimeoutError and discards the late ACK instead of misattributing it', async () => {
    stub = await startAckStub({ delayFor: (id) => (id === 'T1' ? 300 : 0) });
    const client = await connect({ host: '127.0.0.1', port: stub.port });
    const late = client.send(msg('T1'), { timeoutMs: 50 });
    const next = client.send(msg('T2'), { timeoutMs: 5_000 });
    await expect(late).rejects.toBeInstanceOf(MllpTimeoutError);
    const ack = await next;
    expect(readAck(ack.text).controlId).toBe('T2');
    await client.close();
  });

  it('rejects every pending message when the peer closes the connection', async () => {
    stub = await startAckStub({ delayFor: () => 10_000 });
    const client = await connect({ host: '127.0.0.1', port: stub.port });
    const a = client.send(msg('C1'));
    const b = client.send(msg('C2'));
    await new Promise((r) => setTimeout(r, 50));
    await stub.close();
    await expect(a).rejects.toBeInstanceOf(MllpConnectionError);
    await expect(b).rejects.toBeInstanceOf(MllpConnectionError);
    expect(client.isOpen).toBe(false);
    await expect(client.send(msg('C3'))).rejects.toBeInstanceOf(MllpConnectionError);
  });

  it('drops the connection when the response stream is out of step (garbage between frames)', async () => {
    stub = await startAckStub({ rawFor: (id) => (id === 'X1' ? Buffer.from('not mllp\r\n') : undefined) });
    const client = await connect({ host: '127.0.0.1', port: stub.port });
    const first = client.send(msg('X1'), { timeoutMs: 2_000 });
    await new Promise((r) => setTimeout(r, 50));
    // The garbage is only reported when the next frame starts; send one to provoke it.
    const second = client.send(msg('X2'), { timeoutMs: 2_000 });
    await expect(second).rejects.toThrow(/GARBAGE_OUTSIDE_FRAME/);
    await expect(first).rejects.toBeInstanceOf(MllpConnectionError);
  });

  it('refuses content that would break MLLP framing', async () => {
    stub = await startAckStub();
    const client = await connect({ host: '127.0.0.1', port: stub.port });
    await expect(client.send(Buffer.from([0x4d, 0x1c, 0x0d]))).rejects.toBeInstanceOf(RangeError);
    await client.close();
    expect(stub.received).toHaveLength(0);
  });

  it('fails to connect with MllpConnectionError when nothing listens', async () => {
    stub = await startAckStub();
    const port = stub.port;
    await stub.close();
    await expect(connect({ host: '127.0.0.1', port, connectTimeoutMs: 2_000 })).rejects.toBeInstanceOf(
      MllpConnectionError,
    );
  });
});

describe('MllpClient over TLS', () => {
  // A throwaway self-signed certificate for "localhost", made for this test run only.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mllp-tls-'));
  let cert: Buffer;
  let key: Buffer;
  let server: tls.Server;
  let port: number;

  beforeAll(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(path.join(dir, 'cert.pem'));
    key = readFileSync(path.join(dir, 'key.pem'));
    server = tls.createServer({ cert, key }, (socket) => {
      const decoder = new MllpFrameDecoder({ maxFrameBytes: 1 << 20 });
      socket.on('data', (chunk: Buffer) => {
        for (const event of decoder.push(chunk)) {
          if (event.kind !== 'frame') continue;
          const controlId = event.payload.toString('utf8').split('\r')[0].split('|')[9];
          const ack = `MSH|^~\\&|T|H|A|F|20250101000000||ACK^A01^ACK|X|P|2.5.1\rMSA|AA|${controlId}\r`;
          socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(ack), Buffer.from([0x1c, 0x0d])]));
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends over TLS when the server certificate is trusted', async () => {
    const client = await connect({ host: '127.0.0.1', port, tls: { ca: cert, servername: 'localhost' } });
    const ack = await client.send(msg('TLS1'));
    await client.close();
    expect(readAck(ack.text)).toMatchObject({ code: 'AA', controlId: 'TLS1' });
  });

  it('refuses a server certificate it does not trust', async () => {
    await expect(connect({ host: '127.0.0.1', port, tls: { servername: 'localhost' } })).rejects.toThrow(
      /self-signed|certificate/i,
    );
  });
});

describe('readAck', () => {
  it('reads MSA and the ERR code, location and user message (v2.5 ERR)', () => {
    const ack =
      'MSH|^~\\&|TESSERA|HIE|APP|FAC|20250101000000||ACK^A01^ACK|1|P|2.5.1\r' +
      'MSA|AE|MSG9\r' +
      'ERR||PID^1^3|101^Required field missing^HL70357|E||||PID-3 (patient identifier list) is empty\r';
    expect(readAck(ack)).toEqual({
      code: 'AE',
      controlId: 'MSG9',
      textMessage: '',
      errors: [{ code: '101', location: 'PID^1^3', text: 'PID-3 (patient identifier list) is empty' }],
    });
  });

  it('falls back to ERR-1 (v2.1-2.4) and MSA-3', () => {
    const ack =
      'MSH|^~\\&|T|H|A|F|20250101000000||ACK^A01|1|P|2.3\rMSA|AR|M1|Unknown facility\rERR|MSH^1^4^103\r';
    expect(readAck(ack).errors).toEqual([{ code: '103', location: '', text: 'Unknown facility' }]);
  });
});
