import { logLevel } from 'kafkajs';
import { kafkaLogCreator } from './messaging-logger';
import type { MessagingLogger } from './messaging-logger';

describe('kafkaLogCreator', () => {
  it('routes each kafkajs level to the logger method with the structured fields', () => {
    const calls: Array<[string, object, string]> = [];
    const logger: MessagingLogger = {
      info: (o, m) => calls.push(['info', o, m]),
      warn: (o, m) => calls.push(['warn', o, m]),
      error: (o, m) => calls.push(['error', o, m]),
      debug: (o, m) => calls.push(['debug', o, m]),
    };
    const log = kafkaLogCreator(logger)(logLevel.INFO);
    const entry = (level: logLevel, message: string) => ({
      namespace: 'Consumer',
      level,
      label: 'X',
      log: { timestamp: 't', message, groupId: 'g' },
    });
    log(entry(logLevel.ERROR, 'e'));
    log(entry(logLevel.WARN, 'w'));
    log(entry(logLevel.INFO, 'i'));
    log(entry(logLevel.DEBUG, 'd'));
    expect(calls).toEqual([
      ['error', { component: 'kafkajs', namespace: 'Consumer', groupId: 'g' }, 'e'],
      ['warn', { component: 'kafkajs', namespace: 'Consumer', groupId: 'g' }, 'w'],
      ['info', { component: 'kafkajs', namespace: 'Consumer', groupId: 'g' }, 'i'],
      ['debug', { component: 'kafkajs', namespace: 'Consumer', groupId: 'g' }, 'd'],
    ]);
  });
});
