/**
 * End to end: a `--route-table-id` that EC2 does not know is a configuration error. The CLI exits 2
 * and its message names the flag and the id, so the operator knows which setting to fix.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { clusterArgs, startAwsCluster, writeFlannel } from '../helpers/aws-cluster.js';
import { runRoutesync } from '../helpers/routesync.js';

const suite = useEtcdSuite();

describe('--route-table-id that does not exist', () => {
  it('exits 2 with a message naming --route-table-id and the unknown id', async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 1 }));
    const prefix = '/rtbid/coreos.com/network';
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const args = clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--once', '--no-leader-elect']).filter(
      (a) => a !== cluster.vpcId && a !== '--vpc-id',
    );
    // One id that exists and one that does not: EC2 fails the whole call (InvalidRouteTableID.NotFound).
    const result = await runRoutesync([...args, '--route-table-id', `${cluster.tableId},rtb-0000000000000dead`]);
    expect(result.code, result.stderr).toBe(2);
    const named = (result.stdout + result.stderr)
      .split('\n')
      .filter((line) => line.includes('--route-table-id') && line.includes('rtb-0000000000000dead'));
    expect(named, result.stdout + result.stderr).not.toEqual([]);
    expect(cluster.world.mutatingCalls()).toEqual([]);
  });
});
