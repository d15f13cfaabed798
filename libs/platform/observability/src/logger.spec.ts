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
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
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

  it("redacts a failed SQL statement's bound values and Postgres's key detail", () => {
    const out = capture();
    const logger = createLogger('interop-gateway', 'info', out.stream);
    const failed = Object.assign(new Error('duplicate key value violates unique constraint'), {
      query: 'INSERT INTO ledger_messages (raw) VALUES ($1)',
      parameters: ['PID|1||12345^^^STA||Example^Zoë'],
      driverError: { detail: 'Key (raw)=(Example^Zoë) already exists.' },
      detail: 'Key (raw)=(Example^Zoë) already exists.',
    });
    logger.error({ err: failed }, 'group commit failed');
    const [line] = out.lines();
    expect(JSON.stringify(line)).not.toContain('Zoë');
    expect(line['err']).toMatchObject({
      message: 'duplicate key value violates unique constraint',
      parameters: '[redacted]',
    });
  });

  it('respects the level', () => {
    const out = capture();
    const logger = createLogger('mpi', 'warn', out.stream);
    logger.info('hidden');
    logger.warn('shown');
    expect(out.lines().map((l) => l['msg'])).toEqual(['shown']);
  });
});
