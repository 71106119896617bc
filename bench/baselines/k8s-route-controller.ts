/**
 * Baseline 2, from the Kubernetes route controller (pkg/controller/route: reconcile every
 * routeReconciliationPeriod = 10 s with wait.NonSlidingUntil; at most maxConcurrentRouteCreations
 * = 200 CreateRoute calls in flight) over the legacy AWS cloud provider's CreateRoute:
 *
 * Every 10 s (start to start; at once if a pass took longer):
 *   1. ListRoutes: DescribeRouteTables of the cluster's tables (one call) — failure: skip the pass;
 *   2. for every node whose route is missing, up to 200 at a time, the provider's CreateRoute:
 *      getInstanceByNodeName (DescribeInstances; here DescribeNetworkInterfaces by the node IP, the
 *      same describe bucket), configureInstanceSourceDestCheck (ModifyInstanceAttribute, sent
 *      unconditionally; here ModifyNetworkInterfaceAttribute), findRouteTable (DescribeRouteTables),
 *      then CreateRoute. Any failure, throttling included, fails that route until the next pass.
 * The route controller handles one route table; with several, this baseline runs the same steps
 * for each (node, table) pair. Every wait is divided by the simulator's time scale.
 */
import {
  CreateRouteCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  ModifyNetworkInterfaceAttributeCommand,
} from '@aws-sdk/client-ec2';
import { ec2Client, routeControllerLoop, runMain, type BaselineNode } from './common.js';

const PERIOD_MS = 10_000;
const MAX_CONCURRENT_CREATES = 200;

runMain(async (config, stopping) => {
  const ec2 = ec2Client(config.endpoint, MAX_CONCURRENT_CREATES + 16);
  const outcome = await routeControllerLoop<{ table: string; node: BaselineNode }>({
    periodMs: PERIOD_MS / config.timeScale,
    concurrency: MAX_CONCURRENT_CREATES,
    stopping,
    missing: async () => {
      const listing = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [...config.tables] }));
      const existing = new Set((listing.RouteTables ?? []).flatMap((t) => (t.Routes ?? []).map((r) => `${t.RouteTableId ?? ''} ${r.DestinationCidrBlock ?? ''}`)));
      const missing: Array<{ table: string; node: BaselineNode }> = [];
      for (const node of config.nodes) for (const table of config.tables) if (!existing.has(`${table} ${node.subnet}`)) missing.push({ table, node });
      return missing;
    },
    create: async (item) => {
      const described = await ec2.send(
        new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: [item.node.ip] }] }),
      );
      const eni = described.NetworkInterfaces?.[0]?.NetworkInterfaceId;
      if (eni === undefined) throw new Error('instance not found');
      await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, SourceDestCheck: { Value: false } }));
      await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [item.table] }));
      await ec2.send(new CreateRouteCommand({ RouteTableId: item.table, DestinationCidrBlock: item.node.subnet, NetworkInterfaceId: eni }));
    },
  });
  ec2.destroy();
  return outcome;
});
