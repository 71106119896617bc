/** --networks / ROUTESYNC_NETWORKS: flannel's multi-network mode. */
import { describe, expect, it } from 'vitest';
import { parseConfig, UsageError } from '../../src/config.js';

const AWS = ['--provider', 'aws-vpc', '--route-table-id', 'rtb-0123456789abcdef0', '--aws-region', 'us-east-1'];
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env, () => undefined);

describe('--networks', () => {
  it('is absent by default: the single network at <prefix>/config', () => {
    expect(parse(AWS).etcd.networks).toBeUndefined();
  });

  it('takes a comma list, repeated flags, or ROUTESYNC_NETWORKS', () => {
    expect(parse([...AWS, '--networks', 'blue,green', '--networks', 'red']).etcd.networks).toEqual(['blue', 'green', 'red']);
    expect(parse(AWS, { ROUTESYNC_NETWORKS: 'blue, green' }).etcd.networks).toEqual(['blue', 'green']);
  });

  it.each([
    ['a/b', 'network names'],
    ['subnets', 'other than subnets and config'],
    ['blue,blue', 'each network once'],
  ])('refuses %s', (value, expected) => {
    let message = '';
    try {
      parse([...AWS, '--networks', value]);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      message = err.message;
    }
    expect(message).toContain('--networks');
    expect(message).toContain(expected);
  });
});
