import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureMavenJar } from './maven-jar.helper';

/*
 * HAPI HL7v2 2.6.0 (tools/peers/hapi-sender) as an independent MLLP peer: HAPI parses each message,
 * frames it, sends it with Initiator.sendAndReceive on one connection and reports MSA-1/MSA-2 of
 * the ACK it parsed. The jar is built with Maven on first use and reused while it is newer than
 * the pom and the Java sources.
 */

const execFileAsync = promisify(execFile);
const PROJECT = path.resolve(__dirname, 'hapi-sender');

export interface HapiAck {
  readonly index: number;
  /** MSH-10 of the message sent (as HAPI read it). */
  readonly controlId: string;
  /** MSA-1 / MSA-2 of the ACK; absent when `error` is set. */
  readonly msa1?: string;
  readonly msa2?: string;
  /** ERR-8, ERR-7, ERR-3.2 or MSA-3: the first present. */
  readonly err?: string;
  /** The ACK as HAPI re-encoded it. */
  readonly ack?: string;
  /** Why the message was not sent or got no ACK (HAPI exception). */
  readonly error?: string;
}

/** Builds target/hapi-sender.jar (mvn package) unless it is already newer than its sources. */
export function ensureHapiSender(): Promise<string> {
  return ensureMavenJar(PROJECT, 'hapi-sender.jar');
}

/**
 * Sends the messages in order on one HAPI connection and returns one result per message. Messages
 * are ER7 text with CR (or LF) segment separators; HAPI encodes each per its MSH-18.
 */
export async function sendWithHapi(
  host: string,
  port: number,
  messages: readonly string[],
  timeoutMs = 60_000,
): Promise<HapiAck[]> {
  const jar = await ensureHapiSender();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hapi-sender-'));
  const file = path.join(dir, 'messages.hl7');
  try {
    await writeFile(
      file,
      messages.map((m) => m.replace(/\r\n|\n/g, '\r').replace(/\r?$/, '\r')).join(''),
      'utf8',
    );
    // Exit code 1 means "some message got no ACK": those lines carry `error`, so read stdout either way.
    const stdout = await execFileAsync(
      'java',
      [`-DhapiSender.timeoutMs=${timeoutMs}`, '-jar', jar, host, String(port), file],
      {
        timeout: timeoutMs * (messages.length + 1),
        maxBuffer: 16 << 20,
      },
    ).then(
      (r) => r.stdout,
      (error: { code?: unknown; stdout?: string; stderr?: string; message: string }) => {
        if (error.code === 1 && typeof error.stdout === 'string') return error.stdout;
        throw new Error(`hapi-sender failed: ${error.message}\n${error.stderr ?? ''}`);
      },
    );
    return stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as HapiAck);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
