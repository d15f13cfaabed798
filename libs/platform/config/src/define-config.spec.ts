import { z } from 'zod';
import { ConfigError, defineConfig, loadConfig, port } from './define-config';
import { kafkaConfig } from './platform.config';

describe('loadConfig', () => {
  const ns = defineConfig(
    'demo',
    z.object({
      DEMO_PORT: port(8080, 'HTTP port'),
      DEMO_SECRET: z.string().min(8).describe('a secret of at least 8 characters'),
    }),
  );

  it('applies defaults and coerces', () => {
    expect(loadConfig(ns, { DEMO_SECRET: 'abcdefgh' })).toEqual({ DEMO_PORT: 8080, DEMO_SECRET: 'abcdefgh' });
    expect(loadConfig(ns, { DEMO_SECRET: 'abcdefgh', DEMO_PORT: '9000' }).DEMO_PORT).toBe(9000);
  });

  it('names every missing or malformed variable and what it expects, without echoing values', () => {
    let error: unknown;
    try {
      loadConfig(ns, { DEMO_PORT: 'not-a-port', DEMO_SECRET: undefined });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('DEMO_PORT: is malformed');
    expect(message).toContain('a TCP port number');
    expect(message).toContain('DEMO_SECRET: is missing');
    expect(message).not.toContain('not-a-port');
  });

  it('parses broker lists', () => {
    expect(loadConfig(kafkaConfig, { KAFKA_BROKERS: 'a:1, b:2' }).KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });
});
