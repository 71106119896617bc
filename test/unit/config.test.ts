import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_ONLY_SETTINGS, flagEnvNames, parseConfig, parseDuration, UsageError, HelpShown } from '../../src/config.js';
import { VERSION } from '../../src/version.js';
import type { AwsVpcSettings } from '../../providers/aws-vpc/from-config.js';
import { listFiles, readText, repoPath } from '../deploy/support.js';

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
  it('takes the node filters: --node-tag and --node-subnet-id (aws-vpc), --node-network-tag and --node-label (gce)', () => {
    const aws = parse([...AWS, '--node-tag', 'kubernetes.io/cluster/prod=owned', '--node-subnet-id', 'subnet-0123456789abcdef0'], {
      ROUTESYNC_NODE_TAG: 'ignored=because-the-flag-wins',
    }).providerSettings as AwsVpcSettings;
    expect(aws.nodeTags).toEqual([{ key: 'kubernetes.io/cluster/prod', value: 'owned' }]);
    expect(aws.nodeSubnetIds).toEqual(['subnet-0123456789abcdef0']);
    const fromEnv = parse(AWS, { ROUTESYNC_NODE_TAG: 'role=node,kubernetes.io/cluster/prod=shared' }).providerSettings as AwsVpcSettings;
    expect(fromEnv.nodeTags).toEqual([{ key: 'role', value: 'node' }, { key: 'kubernetes.io/cluster/prod', value: 'shared' }]);
    expect((parse(AWS).providerSettings as AwsVpcSettings).nodeTags).toEqual([]);
    expect(usageError([...AWS, '--node-tag', 'no-value'])).toContain('--node-tag');
    expect(usageError([...AWS, '--node-subnet-id', 'sub-1'])).toContain('--node-subnet-id');
    const gce = ['--provider', 'gce', '--gce-project', 'my-project-123'];
    expect(parse([...gce, '--node-network-tag', 'prod-node', '--node-label', 'cluster=prod']).providerSettings).toMatchObject({
      nodeNetworkTags: ['prod-node'],
      nodeLabels: [{ key: 'cluster', value: 'prod' }],
    });
    expect(usageError([...gce, '--node-network-tag', 'Bad_Tag'])).toContain('--node-network-tag');
    expect(usageError([...gce, '--node-label', 'Cluster=prod'])).toContain('--node-label');
  });

  it('applies the documented defaults', () => {
    const config = parse(AWS);
    expect(config).toMatchObject({
      provider: 'aws-vpc',
      etcd: { endpoints: ['http://127.0.0.1:2379'], prefix: '/coreos.com/network' },
      clusterName: 'routesync',
      routeLimit: 'auto',
      resyncIntervalMs: 60_000,
      dryRun: false,
      once: false,
      leaderElect: true,
      leaderElectionKey: '/routesync/routesync/leader',
      leaderLeaseTtlSeconds: 10,
      listen: { host: '0.0.0.0', port: 9090 },
      statusListen: { host: '127.0.0.1', port: 9091 },
      logLevel: 'info',
      allowEmpty: false,
      maxDeletesPerPass: { kind: 'percent', value: 20 },
      providerSettings: { routeTableIds: ['rtb-0123456789abcdef0'], region: 'us-east-1' },
    });
  });

  it('takes route tables repeated and as comma lists', () => {
    const config = parse([...AWS, '--route-table-id', 'rtb-11111111,rtb-22222222']);
    expect((config.providerSettings as AwsVpcSettings).routeTableIds).toEqual(['rtb-0123456789abcdef0', 'rtb-11111111', 'rtb-22222222']);
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
      providerSettings: { vpcId: 'vpc-0a1b2c3d', region: 'eu-west-1', endpoint: 'http://127.0.0.1:5000' },
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
    expect(config).toMatchObject({ routeLimit: 'auto', providerSettings: { project: 'my-project-123', network: 'default', endpoint: 'http://127.0.0.1:8085' } });
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
    for (const flag of ['--provider', '--etcd-endpoints', '--etcd-prefix', '--etcd-cafile', '--etcd-certfile', '--etcd-keyfile', '--cluster-name', '--route-limit', '--resync-interval', '--dry-run', '--once', '--leader-elect', '--no-leader-elect', '--leader-election-key', '--leader-lease-ttl', '--listen', '--status-listen', '--version', '--log-level', '--route-table-id', '--vpc-id', '--aws-region', '--aws-endpoint', '--allow-empty', '--max-deletes-per-pass', '--gce-project', '--gce-network', '--gce-endpoint']) {
      expect(help).toContain(flag);
    }
    expect(help).toContain('"http://127.0.0.1:2379"');
    expect(help).toContain('"60s"');
  });

  it('serves /status on loopback by default, elsewhere only when asked, and not at all with HTTP off', () => {
    expect(parse(AWS).statusListen).toEqual({ host: '127.0.0.1', port: 9091 });
    expect(parse([...AWS, '--status-listen', '0.0.0.0:9191']).statusListen).toEqual({ host: '0.0.0.0', port: 9191 });
    expect(parse([...AWS, '--status-listen', '']).statusListen).toBeNull();
    expect(parse(AWS, { ROUTESYNC_STATUS_LISTEN: '' }).statusListen).toBeNull();
    // --listen '' has always meant no HTTP: /status too, unless --status-listen is given.
    expect(parse([...AWS, '--listen', ''])).toMatchObject({ listen: null, statusListen: null });
    expect(parse([...AWS, '--listen', '', '--status-listen', '127.0.0.1:9091']).statusListen).toEqual({ host: '127.0.0.1', port: 9091 });
    expect(parse([...AWS, '--listen', ''], { ROUTESYNC_STATUS_LISTEN: '127.0.0.1:9191' }).statusListen).toEqual({ host: '127.0.0.1', port: 9191 });
    const clash = usageError([...AWS, '--listen', '0.0.0.0:9091']);
    expect(clash).toContain('--status-listen');
    expect(clash).toContain('127.0.0.1:9091');
    const badValue = usageError([...AWS, '--status-listen', 'loopback']);
    expect(badValue).toContain('--status-listen');
    expect(badValue).toContain('loopback');
  });

  it('--version prints the version from package.json', () => {
    let out = '';
    expect(() => parseConfig(['--version'], {}, (text) => (out += text))).toThrow(HelpShown);
    const pkg = JSON.parse(readText('package.json')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(out).toBe(`${pkg.version}\n`);
  });

  describe('unknown ROUTESYNC_* variables', () => {
    it('are a usage error naming the variable, its value and the closest real name', () => {
      const message = usageError(AWS, { ROUTESYNC_DRYRUN: 'true' });
      expect(message).toContain('ROUTESYNC_DRYRUN');
      expect(message).toContain('"true"');
      expect(message).toContain('did you mean ROUTESYNC_DRY_RUN?');
      expect(usageError(AWS, { ROUTESYNC_CLUSTERNAME: 'prod' })).toContain('did you mean ROUTESYNC_CLUSTER_NAME?');
      // The negation has no variable of its own.
      expect(usageError(AWS, { ROUTESYNC_NO_LEADER_ELECT: 'true' })).toContain('did you mean ROUTESYNC_LEADER_ELECT?');
      expect(usageError(AWS, { ROUTESYNC_VERSION: '1' })).toContain('ROUTESYNC_VERSION');
    });

    it('names every unknown variable at once', () => {
      const message = usageError(AWS, { ROUTESYNC_LISTN: ':1', ROUTESYNC_ONSE: 'true' });
      expect(message).toContain('ROUTESYNC_LISTN=":1" (did you mean ROUTESYNC_LISTEN?)');
      expect(message).toContain('ROUTESYNC_ONSE="true" (did you mean ROUTESYNC_ONCE?)');
    });

    it('leave other variables alone, and accept the environment-only settings', () => {
      expect(() => parse(AWS, { ROUTESYNCX: '1', MY_ROUTESYNC_DRYRUN: '1', ROUTESYNC_AWS_API_RATE_LIMITS: 'CreateRoute=100+10/1s', ROUTESYNC_BUILD_COMMIT: 'abc123' })).not.toThrow();
    });

    it('every ROUTESYNC_* name the code reads is a flag variable or an environment-only setting', () => {
      const known = new Set([...flagEnvNames(), ...ENV_ONLY_SETTINGS]);
      const read = new Set<string>();
      for (const file of [...listFiles('src'), ...listFiles('providers')].filter((f) => /\.(ts|mjs)$/.test(f))) {
        for (const match of readFileSync(repoPath(file), 'utf8').matchAll(/['"`](ROUTESYNC_[A-Z0-9_]+)['"`]/g)) read.add(match[1] ?? '');
      }
      expect(read).toContain('ROUTESYNC_AWS_API_RATE_LIMITS');
      expect([...read].filter((name) => !known.has(name))).toEqual([]);
      for (const name of ENV_ONLY_SETTINGS) expect(flagEnvNames().has(name), name).toBe(false);
    });
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
