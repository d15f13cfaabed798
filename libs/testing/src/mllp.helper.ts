import net from 'node:net';
import { encodeMllpFrame, MllpFrameDecoder } from '@tessera/hl7v2';

/**
 * Sends raw frames (already-encoded message bytes, or any bytes for framing tests) over one MLLP
 * connection and resolves with the ACK frames, in order. Rejects after `timeoutMs`.
 */
export async function mllpExchange(
  port: number,
  payloads: ReadonlyArray<Buffer | string>,
  { expectAcks = payloads.length, timeoutMs = 20_000, raw = false }: { expectAcks?: number; timeoutMs?: number; raw?: boolean } = {},
): Promise<Buffer[]> {
  const socket = net.connect(port, '127.0.0.1');
  const decoder = new MllpFrameDecoder({ maxFrameBytes: 1 << 20 });
  const acks: Buffer[] = [];
  return new Promise<Buffer[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${acks.length} of ${expectAcks} ACKs within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('connect', () => {
      for (const payload of payloads) {
        const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
        socket.write(raw ? bytes : encodeMllpFrame(bytes));
      }
      if (expectAcks === 0) {
        clearTimeout(timer);
        socket.end();
        resolve([]);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) if (event.kind === 'frame') acks.push(event.payload);
      if (acks.length >= expectAcks) {
        clearTimeout(timer);
        socket.end();
        resolve(acks);
      }
    });
  });
}

/** MSA-1 and MSA-2 of an ACK text. */
export function msaOf(ack: Buffer | string): { code: string; controlId: string; text: string } {
  const text = typeof ack === 'string' ? ack : ack.toString('utf8');
  const msa = text.split('\r').find((line) => line.startsWith('MSA'));
  const fields = (msa ?? '').split('|');
  return { code: fields[1] ?? '', controlId: fields[2] ?? '', text };
}
