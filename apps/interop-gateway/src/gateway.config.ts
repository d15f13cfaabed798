import { z } from 'zod';
import { bool, ConfigError, defineConfig, loadConfig, port, positiveInt } from '@tessera/platform-config';
import type { Env } from '@tessera/platform-config';
import { isLoopbackHost } from './institutions/sender-address.policy';

/** Settings of the interop gateway (read once at boot; see .env.example). */
export const gatewayConfig = defineConfig(
  'gateway',
  z.object({
    GATEWAY_ROLES: z
      .string()
      .default('mllp,mapper')
      .transform((v) =>
        v
          .split(',')
          .map((r) => r.trim())
          .filter((r) => r !== ''),
      )
      .pipe(z.array(z.enum(['mllp', 'mapper'])).min(1))
      .describe(
        'what this process runs: mllp (listeners + ingest), mapper (hie.inbound.hl7v2 consumer), comma-separated; HTTP APIs always',
      ),
    MLLP_HOST: z
      .string()
      .default('127.0.0.1')
      .describe(
        'address the MLLP listeners bind (0.0.0.0 in containers; off loopback every listener must authenticate its senders)',
      ),
    MLLP_PORT: port(2575, 'MLLP listener port'),
    MLLP_SHARED_TLS: bool(
      false,
      'the shared MLLP port speaks TLS and requires a client certificate whose CN is a feed.certificateNames entry of the sending institution (MLLP_TLS_* files)',
    ),
    MLLP_SHARED_PORT_UNAUTHENTICATED: bool(
      false,
      'let a plain MLLP port on a non-loopback MLLP_HOST take connections without authentication: MSH-4 is believed and the sender recorded as "none" (local development only)',
    ),
    MLLP_TLS_CERT_FILE: z
      .string()
      .optional()
      .describe('PEM server certificate for TLS MLLP ports (feed.tls, MLLP_SHARED_TLS)'),
    MLLP_TLS_KEY_FILE: z.string().optional().describe('PEM private key of MLLP_TLS_CERT_FILE'),
    MLLP_TLS_CA_FILE: z
      .string()
      .optional()
      .describe('PEM CA bundle that client certificates of TLS feeds must chain to'),
    MLLP_MAX_FRAME_BYTES: positiveInt(16 * 1024 * 1024, 'largest accepted HL7 message in bytes'),
    MLLP_IDLE_TIMEOUT_MS: positiveInt(10 * 60_000, 'idle MLLP connections are closed after this many ms'),
    MLLP_MAX_CONNECTIONS: positiveInt(2_000, 'concurrent MLLP connections accepted'),
    MLLP_MAX_IN_FLIGHT: positiveInt(64, 'messages of one connection being processed before reading pauses'),
    INGEST_BATCH_MAX: positiveInt(500, 'messages made durable together in one group commit'),
    INGEST_BATCH_WINDOW_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(100)
      .default(2)
      .describe('how long a group commit waits for more messages (0-100 ms)'),
    INGEST_DURABLE_TIMEOUT_MS: positiveInt(
      10_000,
      'a message not durable within this many ms is answered negatively',
    ),
    INSTITUTIONS_SEED_FILE: z
      .string()
      .default('deploy/demo-region/institutions.yaml')
      .describe('YAML file of institutions seeded into the registry when missing (empty: none)'),
    GATEWAY_APPLICATION: z.string().default('TESSERA').describe('MSH-3 of the ACKs the gateway sends'),
    GATEWAY_FACILITY: z.string().default('TESSERA-HIE').describe('MSH-4 of the ACKs the gateway sends'),
    LEDGER_RETENTION_DAYS: positiveInt(90, 'days ledger messages are kept before pruning'),
    LEDGER_PRUNE_INTERVAL_MS: positiveInt(60 * 60_000, 'how often the ledger pruning job runs'),
    LEDGER_REPUBLISH_AFTER_MS: positiveInt(
      5_000,
      'stored-but-unpublished messages older than this are republished',
    ),
  }),
);

export type GatewaySettings = z.output<(typeof gatewayConfig)['schema']>;

/**
 * The gateway's settings, plus the rule that every MLLP listener reachable from other machines
 * authenticates its senders: a shared port on a non-loopback MLLP_HOST must be TLS
 * (MLLP_SHARED_TLS) unless an operator explicitly opens it (MLLP_SHARED_PORT_UNAUTHENTICATED).
 * Throws ConfigError (the process exits 78 naming the variables).
 */
export function loadGatewaySettings(env?: Env): GatewaySettings {
  const settings = env === undefined ? loadConfig(gatewayConfig) : loadConfig(gatewayConfig, env);
  if (!settings.GATEWAY_ROLES.includes('mllp')) return settings;
  const problems: Array<{ variable: string; expected: string; problem: string }> = [];
  if (settings.MLLP_SHARED_TLS) {
    for (const variable of ['MLLP_TLS_CERT_FILE', 'MLLP_TLS_KEY_FILE', 'MLLP_TLS_CA_FILE'] as const) {
      if (settings[variable] === undefined) {
        problems.push({ variable, problem: 'is missing (MLLP_SHARED_TLS=true)', expected: 'a PEM file' });
      }
    }
  } else if (!isLoopbackHost(settings.MLLP_HOST) && !settings.MLLP_SHARED_PORT_UNAUTHENTICATED) {
    problems.push({
      variable: 'MLLP_HOST',
      problem:
        'is not a loopback address, and the shared MLLP port would take any connection and believe its MSH-4',
      expected:
        'MLLP_SHARED_TLS=true (client certificates, with MLLP_TLS_CERT_FILE, MLLP_TLS_KEY_FILE, MLLP_TLS_CA_FILE), or MLLP_HOST=127.0.0.1, or MLLP_SHARED_PORT_UNAUTHENTICATED=true to accept unauthenticated senders knowingly',
    });
  }
  if (problems.length > 0) throw new ConfigError(gatewayConfig.namespace, problems);
  return settings;
}
export const GATEWAY_SETTINGS = Symbol('GATEWAY_SETTINGS');
