import { describe, expect, it } from 'vitest';
import { parseConfig, parseDuration, UsageError, HelpShown } from '../../src/config.js';

const AWS = ['--provider', 'aws-vpc', '--route-table-id', 'rtb-0123456789abcdef0', '--aws-region', 'us-east-1'];
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env, () => undefined);

function usageError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parse(argv, env);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a usage error');
}

describe('config', () => {
  it('applies the documented defaults', () => {
    const config = parse(AWS);
    expect(config).toMatchObject({
      provider: 'aws-vpc',
      etcd: { endpoints: ['http://127.0.0.1:2379'], prefix: '/coreos.com/network' },
      clusterName: 'routesync',
      routeLimit: 50,
      resyncIntervalMs: 60_000,
      dryRun: false,
      once: false,
      leaderElect: true,
      leaderElectionKey: '/routesync/routesync/leader',
      leaderLeaseTtlSeconds: 10,
      listen: { host: '0.0.0.0', port: 9090 },
      logLevel: 'info',
      allowEmpty: false,
      maxDeletesPerPass: { kind: 'percent', value: 20 },
      aws: { routeTableIds: ['rtb-0123456789abcdef0'], region: 'us-east-1' },
    });
  });

  it('takes route tables repeated and as comma lists', () => {
    const config = parse([...AWS, '--route-table-id', 'rtb-11111111,rtb-22222222']);
    expect(config.aws.routeTableIds).toEqual(['rtb-0123456789abcdef0', 'rtb-11111111', 'rtb-22222222']);
  });

  it('reads every flag from ROUTESYNC_* environment variables, flags winning', () => {
    const config = parse(['--cluster-name', 'from-flag'], {
      ROUTESYNC_PROVIDER: 'aws-vpc',
      ROUTESYNC_VPC_ID: 'vpc-0a1b2c3d',
      ROUTESYNC_CLUSTER_NAME: 'from-env',
      ROUTESYNC_DRY_RUN: 'true',
      ROUTESYNC_LEADER_ELECT: 'false',
      ROUTESYNC_ROUTE_LIMIT: '200',
      ROUTESYNC_LISTEN: '',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:5000',
    });
    expect(config).toMatchObject({
      provider: 'aws-vpc',
      clusterName: 'from-flag',
      dryRun: true,
      leaderElect: false,
      routeLimit: 200,
      listen: null,
      aws: { vpcId: 'vpc-0a1b2c3d', region: 'eu-west-1', endpoint: 'http://127.0.0.1:5000' },
    });
  });

  it('--no-leader-elect turns election off', () => {
    expect(parse([...AWS, '--no-leader-elect']).leaderElect).toBe(false);
  });

  it.each([
    [['--provider', 'azure'], '--provider', 'azure'],
    [[...AWS, '--cluster-name', 'Bad_Name'], '--cluster-name', 'Bad_Name'],
    [[...AWS, '--route-limit', '0'], '--route-limit', '0'],
    [[...AWS, '--route-limit', 'lots'], '--route-limit', 'lots'],
    [[...AWS, '--resync-interval', '10'], '--resync-interval', '10'],
    [[...AWS, '--leader-lease-ttl', '1.5s'], '--leader-lease-ttl', '1.5s'],
    [[...AWS, '--etcd-endpoints', 'not a url'], '--etcd-endpoints', 'not a url'],
    [[...AWS, '--etcd-prefix', 'relative/prefix'], '--etcd-prefix', 'relative/prefix'],
    [[...AWS, '--listen', 'nowhere'], '--listen', 'nowhere'],
    [[...AWS, '--log-level', 'loud'], '--log-level', 'loud'],
    [[...AWS, '--max-deletes-per-pass', '150%'], '--max-deletes-per-pass', '150%'],
    [[...AWS, '--route-table-id', 'table-1'], '--route-table-id', 'table-1'],
    [['--provider', 'aws-vpc', '--vpc-id', 'vpc-1', '--aws-region', 'us-east-1'], '--vpc-id', 'vpc-1'],
    [[...AWS, '--aws-endpoint', 'ftp://x'], '--aws-endpoint', 'ftp://x'],
  ])('rejects %j naming %s and the value', (argv, flag, value) => {
    const message = usageError(argv);
    expect(message).toContain(flag);
    expect(message).toContain(value);
  });

  it('takes the GCE flags, with the gce route limit default', () => {
    const config = parse(['--provider', 'gce', '--gce-project', 'my-project-123', '--gce-endpoint', 'http://127.0.0.1:8085']);
    expect(config).toMatchObject({ routeLimit: 100, gce: { project: 'my-project-123', network: 'default', endpoint: 'http://127.0.0.1:8085' } });
    expect(usageError(['--provider', 'gce'])).toContain('--gce-project');
    expect(usageError(['--provider', 'gce', '--gce-project', 'Bad_Project'])).toContain('Bad_Project');
    expect(usageError(['--provider', 'gce', '--gce-project', 'my-project-123', '--gce-network', 'Net!'])).toContain('--gce-network');
  });

  it('rejects an unknown flag by name', () => {
    expect(usageError([...AWS, '--route-limt', '5'])).toContain('--route-limt');
  });

  it('requires --provider, and a table source and region for aws-vpc', () => {
    expect(usageError([])).toContain('--provider');
    expect(usageError(['--provider', 'aws-vpc', '--aws-region', 'us-east-1'])).toContain('--route-table-id');
    expect(usageError(['--provider', 'aws-vpc', '--vpc-id', 'vpc-0a1b2c3d'])).toContain('--aws-region');
  });

  it('rejects a boolean environment variable that is not a boolean, naming it', () => {
    expect(usageError(AWS, { ROUTESYNC_ONCE: 'maybe' })).toContain('ROUTESYNC_ONCE');
  });

  it('prints help listing every flag with its default', () => {
    let help = '';
    expect(() => parseConfig(['--help'], {}, (text) => (help += text))).toThrow(HelpShown);
    for (const flag of ['--provider', '--etcd-endpoints', '--etcd-prefix', '--etcd-cafile', '--etcd-certfile', '--etcd-keyfile', '--cluster-name', '--route-limit', '--resync-interval', '--dry-run', '--once', '--leader-elect', '--no-leader-elect', '--leader-election-key', '--leader-lease-ttl', '--listen', '--log-level', '--route-table-id', '--vpc-id', '--aws-region', '--aws-endpoint', '--allow-empty', '--max-deletes-per-pass', '--gce-project', '--gce-network', '--gce-endpoint']) {
      expect(help).toContain(flag);
    }
    expect(help).toContain('"http://127.0.0.1:2379"');
    expect(help).toContain('"60s"');
  });

  it('parses Go-style durations', () => {
    expect(parseDuration('60s')).toBe(60_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('60')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
  });
});
