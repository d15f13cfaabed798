// The demo regional feed: pure builder, MLLP sender, summary; the CLI is demo-feed.ts.
export { buildDemoFeed } from './demo-feed.builder';
export type { AckCode, DemoFeedOptions, DemoMessage } from './demo-feed.builder';
export { sendFeed } from './demo-feed.sender';
export type { SendFeedOptions, SentMessage } from './demo-feed.sender';
export { formatSummary, isExpected, percentile, summarizeFeed } from './feed-summary.formatter';
export type { FeedSummary } from './feed-summary.formatter';
export {
  DEFAULT_INSTITUTIONS_FILE,
  findInstitutionsFile,
  loadInstitutions,
  parseInstitutionsYaml,
} from './institutions.loader';
export type { DemoInstitution } from './institutions.loader';
