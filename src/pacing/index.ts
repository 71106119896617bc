/** Client-side pacing: per-action token buckets mirroring the cloud's API rate limits (docs/architecture.md, 'AWS facts'). */
export { systemClock, ManualPacingClock, sleepOn, type PacingClock } from './clock.js';
export { TokenBucket, type BucketOptions, type BucketStats } from './token-bucket.js';
export { Pacer, paced, outcomeOf, scaleLimits, type PacerOptions } from './pacer.js';
export { parseRateLimits, formatRateLimits } from './spec.js';
