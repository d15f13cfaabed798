import { createKafka } from '@tessera/platform-kafka';
export const x = createKafka;
