import { Writable } from 'node:stream';
import { createLogger } from './logger';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes structured JSON with the service name and redacts patient fields', () => {
    const out = capture();
    const logger = createLogger('mpi', 'info', out.stream);
    logger.info({ patient: { name: 'Zoë Example' }, given: 'Zoë', messageType: 'ADT^A01' }, 'received');
    const [line] = out.lines();
    expect(line).toMatchObject({ service: 'mpi', level: 'info', msg: 'received', messageType: 'ADT^A01' });
    expect(JSON.stringify(line)).not.toContain('Zoë');
    expect(line['patient']).toBe('[redacted]');
  });

  it('respects the level', () => {
    const out = capture();
    const logger = createLogger('mpi', 'warn', out.stream);
    logger.info('hidden');
    logger.warn('shown');
    expect(out.lines().map((l) => l['msg'])).toEqual(['shown']);
  });
});
