/** The CLI contract as a process: --help, and exit 2 with a message naming the bad flag and value. */
import { describe, expect, it } from 'vitest';
import { runRoutesync } from '../helpers/routesync.js';

const AWS = ['--provider', 'aws-vpc', '--route-table-id', 'rtb-0123456789abcdef0', '--aws-region', 'us-east-1', '--listen', ''];

describe('routesync command line', () => {
  it('--help lists every flag with its default and exits 0', async () => {
    const result = await runRoutesync(['--help']);
    expect(result.code).toBe(0);
    for (const text of ['--provider', '--etcd-endpoints', '--cluster-name', '--route-limit', '--resync-interval', '--dry-run', '--once', '--leader-elect', '--listen', '--route-table-id', '--vpc-id', '--aws-endpoint', 'default: "60s"', 'default: "/coreos.com/network"']) {
      expect(result.stdout).toContain(text);
    }
  });

  it.each([
    [['--provider', 'azure'], '--provider', 'azure'],
    [[...AWS, '--resync-interval', 'soon'], '--resync-interval', 'soon'],
    [[...AWS, '--route-limit', '-3'], '--route-limit', '-3'],
    [[...AWS, '--cluster-name', 'UPPER'], '--cluster-name', 'UPPER'],
    [[...AWS, '--etcd-endpoints', 'etcd:2379'], '--etcd-endpoints', 'etcd:2379'],
    [[...AWS, '--no-such-flag'], '--no-such-flag', ''],
  ])('exits 2 for %j, naming %s', async (args, flag, value) => {
    const result = await runRoutesync(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(flag);
    expect(result.stderr).toContain(value);
    expect(result.stdout).toBe('');
  });

  it('reads flags from ROUTESYNC_* environment variables', async () => {
    const result = await runRoutesync(AWS, { ROUTESYNC_LOG_LEVEL: 'chatty' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ROUTESYNC_LOG_LEVEL (--log-level)');
    expect(result.stderr).toContain('chatty');
  });
});
