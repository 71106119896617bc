/**
 * End to end on AWS with throttling on: a lease that appears while the cold-start pass is still
 * paced through CreateRoute's token bucket is created by that pass at the bucket's next refill,
 * ahead of the pass's own creates still waiting, not after them. The call log shows the order.
 */
import { describe, expect, it } from 'vitest';
import { useEtcdSuite } from '../helpers/suite.js';
import { putLease, waitFor } from '../helpers/etcd.js';
import { clusterArgs, startAwsCluster, writeFlannel } from '../helpers/aws-cluster.js';
import { startRoutesync } from '../helpers/routesync.js';

const suite = useEtcdSuite();
// Buckets refill four times faster than EC2's (routesync's pacer told the same): 50 creates a burst, then 20 a second.
const TIME_SCALE = 4;

describe('routesync --provider aws-vpc: a lease during a long cold start', () => {
  it("is created at the bucket's next refill, ahead of the pass's waiting creates", async () => {
    const cluster = suite.closeAfterTest(await startAwsCluster({ nodes: 110, routeLimit: 200, sim: { throttling: true, timeScale: TIME_SCALE } }));
    const prefix = '/aws-late/coreos.com/network';
    await writeFlannel(suite.etcd.client, prefix, cluster.nodes);
    const proc = startRoutesync(clusterArgs(cluster, suite.etcd.endpoint, prefix, ['--resync-interval', '1h']), {
      ROUTESYNC_AWS_API_RATE_LIMITS: `time-scale=${TIME_SCALE}`,
    });
    const accepted = () => cluster.world.calls('CreateRoute').filter((c) => c.httpStatus === 200);
    await waitFor(() => accepted().length >= 50, { timeoutMs: 20_000, message: `no cold start:\n${proc.stderr().slice(-3000)}` });

    const node = cluster.addNode();
    await putLease(suite.etcd.client, prefix, node.subnet, node.ip);
    await waitFor(() => cluster.flannelRoutes().size === 111, { timeoutMs: 30_000, message: `not converged:\n${proc.stderr().slice(-3000)}` });

    const creates = accepted().map((c) => c.params['DestinationCidrBlock']);
    const late = creates.indexOf(node.subnet);
    expect(late).toBeGreaterThanOrEqual(50);
    // From the new node's lookup (the last DescribeNetworkInterfaces before it) to the late create,
    // at most one refill (5 tokens) went to the pass's own creates: it did not queue behind the
    // creates already waiting at the bucket (there are 8, the queue's concurrency).
    const lateAt = accepted()[late]?.time ?? 0;
    const lookedUpAt = Math.max(...cluster.world.calls('DescribeNetworkInterfaces').filter((c) => c.time <= lateAt).map((c) => c.time));
    expect(accepted().filter((c) => c.time > lookedUpAt && c.time < lateAt).length).toBeLessThanOrEqual(5);
    // Of the cold start's 60 creates after its burst, most were still waiting when the late one went out.
    expect(creates.length - 1 - late).toBeGreaterThanOrEqual(30);
    // One pass: the routes were listed once, before the cold start.
    expect(cluster.world.calls('DescribeRouteTables')).toHaveLength(1);
    // Never refused, and one create per destination: no second writer.
    expect(cluster.world.calls('CreateRoute').filter((c) => c.httpStatus !== 200)).toEqual([]);
    expect(new Set(creates).size).toBe(creates.length);
    const { code } = await proc.stop('SIGTERM');
    expect(code).toBe(0);
  });
});
