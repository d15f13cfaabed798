export * from './outbox.relay';
export * from './outbox.writer';
export { MessagingTables1700000000000, OUTBOX_TABLE, OUTBOX_CHANNEL } from '@tessera/platform-kafka';
