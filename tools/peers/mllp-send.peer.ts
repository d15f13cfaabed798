import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { decodeHl7Bytes, encodeHl7Text, encodeMllpFrame } from '@tessera/hl7v2';

/*
 * Debian's python3-hl7 `mllp_send` (hl7.client.mllp_send, python-hl7 0.4.x) as an independent MLLP
 * peer. Its CLI: `mllp_send [--port P] [--file F] <server>`; the file holds messages each terminated
 * by the MLLP end block 0x1C (it splits on 0x1C and strips SB/CR around each piece, so we write each
 * message as a full MLLP block), it sends them one at a time on one connection, and prints what one
 * recv(4096) returned per message: the ACK still wrapped in SB … EB CR, then "\n".
 */

const execFileAsync = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const MLLP_SEND = '/usr/bin/mllp_send';
const ENSURE_SCRIPT = path.resolve(__dirname, 'ensure-mllp-send.sh');

/** Installs python3-hl7 with apt when /usr/bin/mllp_send or the hl7 module is missing (needs root). */
export async function ensureMllpSend(): Promise<void> {
  await execFileAsync('bash', [ENSURE_SCRIPT], { timeout: 300_000 });
}

export interface MllpSendOptions {
  /** HL7 table 0211 charset the message is written in (MSH-18), also used to decode the ACK. Default UTF-8. */
  readonly charset?: string;
  readonly timeoutMs?: number;
}

/** Sends one message with mllp_send and returns the ACK text (MLLP framing removed). */
export async function sendWithMllpSend(
  host: string,
  port: number,
  hl7Text: string,
  options: MllpSendOptions = {},
): Promise<string> {
  if (!existsSync(MLLP_SEND)) {
    throw new Error(
      `${MLLP_SEND} is missing: run tools/peers/ensure-mllp-send.sh (installs Debian's python3-hl7).`,
    );
  }
  const charset = options.charset ?? 'UNICODE UTF-8';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mllp-send-'));
  const file = path.join(dir, 'message.hl7');
  try {
    await writeFile(file, encodeMllpFrame(encodeHl7Text(hl7Text, charset)));
    const { stdout } = await execFileAsync(
      PYTHON,
      [MLLP_SEND, '--port', String(port), '--file', file, host],
      {
        encoding: 'buffer',
        timeout: options.timeoutMs ?? 30_000,
      },
    );
    return decodeHl7Bytes(unframe(stdout), charset, { onMalformed: 'replace' }).text;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The bytes between the first SB (0x0B) and the next EB (0x1C); throws when there is no complete block. */
function unframe(output: Buffer): Buffer {
  const start = output.indexOf(0x0b);
  const end = start < 0 ? -1 : output.indexOf(0x1c, start + 1);
  if (start < 0 || end < 0) {
    throw new Error(
      `mllp_send printed no complete MLLP block (${output.length} bytes): no ACK was received.`,
    );
  }
  return output.subarray(start + 1, end);
}
