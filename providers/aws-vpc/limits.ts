/**
 * AWS's published EC2 request-rate limits for the actions routesync calls (docs/architecture.md, 'AWS facts'): a token
 * bucket per action, per account and region, refilled every second. routesync mirrors them on the
 * client so that it sends at this rate and is never refused (see src/pacing).
 */
import type { Change, RateLimit } from '../provider.js';

const SECOND = 1000;

export const AWS_EC2_RATE_LIMITS: Readonly<Record<string, RateLimit>> = {
  // Mutating actions: bucket 50, refill 5/s.
  CreateRoute: { capacity: 50, refill: 5, intervalMs: SECOND },
  ReplaceRoute: { capacity: 50, refill: 5, intervalMs: SECOND },
  DeleteRoute: { capacity: 50, refill: 5, intervalMs: SECOND },
  ModifyNetworkInterfaceAttribute: { capacity: 100, refill: 5, intervalMs: SECOND },
  // Filtered or paginated describes (routesync never sends an unfiltered, unpaginated one): 100, 20/s.
  DescribeRouteTables: { capacity: 100, refill: 20, intervalMs: SECOND },
  DescribeNetworkInterfaces: { capacity: 100, refill: 20, intervalMs: SECOND },
  DescribeManagedPrefixLists: { capacity: 100, refill: 20, intervalMs: SECOND },
  DescribeTags: { capacity: 100, refill: 20, intervalMs: SECOND },
};

/** The EC2 action that applying `change` calls. */
export function ec2ActionFor(change: Change): string {
  switch (change.kind) {
    case 'create':
      return 'CreateRoute';
    case 'replace':
      return 'ReplaceRoute';
    case 'delete':
      return 'DeleteRoute';
    case 'enable-forwarding':
      return 'ModifyNetworkInterfaceAttribute';
  }
}
