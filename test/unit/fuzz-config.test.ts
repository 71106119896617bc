/** Property-based: any argv and environment gives a Config or a clear UsageError, never a crash. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseConfig, UsageError, HelpShown } from '../../src/config.js';

const FLAGS = ['--provider', '--etcd-endpoints', '--etcd-prefix', '--cluster-name', '--route-limit', '--resync-interval', '--leader-lease-ttl', '--listen', '--log-level', '--max-deletes-per-pass', '--route-table-id', '--vpc-id', '--aws-region', '--aws-endpoint', '--dry-run', '--once', '--no-leader-elect', '--gce-project', '--gce-network', '--gce-endpoint'];
const VALUES = ['aws-vpc', 'gce', '', '0', '-1', '60s', '1m30s', '5%', '101%', 'x'.repeat(300), 'http://127.0.0.1:2379', 'rtb-0123456789abcdef0', 'vpc-01234567', 'us-east-1', '::', '0.0.0.0:9090', '\u0000', '🙂', '--', 'info'];

const argvArb = fc.array(fc.oneof(fc.constantFrom(...FLAGS), fc.constantFrom(...VALUES), fc.string()), { maxLength: 12 });

describe('config properties', () => {
  it('any argv yields a Config or a UsageError that names a flag or variable', () => {
    fc.assert(
      fc.property(argvArb, fc.dictionary(fc.constantFrom('ROUTESYNC_ONCE', 'ROUTESYNC_ROUTE_LIMIT', 'ROUTESYNC_LISTEN', 'AWS_REGION'), fc.oneof(fc.constantFrom(...VALUES), fc.string())), (argv, env) => {
        try {
          const config = parseConfig(argv, env, () => undefined);
          expect(['aws-vpc', 'gce']).toContain(config.provider);
          expect(config.routeLimit).toBeGreaterThan(0);
          expect(config.resyncIntervalMs).toBeGreaterThanOrEqual(1000);
        } catch (err) {
          if (err instanceof HelpShown) return;
          expect(err).toBeInstanceOf(UsageError);
          expect((err as Error).message).toMatch(/--|ROUTESYNC_|argument|option/);
        }
      }),
      { numRuns: 500 },
    );
  });
});
