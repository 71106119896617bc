/**
 * Baseline 1, from flannel's published aws-vpc backend (backend/awsvpc/awsvpc.go, RegisterNetwork,
 * before its removal in v0.20): every node's flanneld programs its own route, once, at start.
 *
 * Per node, all nodes starting together (a cluster's cold start):
 *   1. find its ENI (DescribeInstances of its instance; here DescribeNetworkInterfaces by its IP,
 *      the same describe bucket) — failure: exit;
 *   2. ModifyNetworkInterfaceAttribute SourceDestCheck=false — failure: warn, continue;
 *   3. per route table: DescribeRouteTables for blackhole routes (cleanupBlackholeRoutes, failure
 *      logged), DescribeRouteTables for a matching active route (checkMatchingRoutes, failure
 *      logged); without one, DeleteRoute (InvalidRoute.NotFound is fine, any other failure: exit)
 *      and CreateRoute (failure: exit).
 * Every call goes through aws-sdk-go v1 with flannel's `WithMaxRetries(5)`: throttling retried after
 * 2^n × [500, 1000) ms, other retryable errors after 2^n × [30, 60) ms (DefaultRetryer).
 * An exit restarts flanneld under the kubelet's CrashLoopBackOff: 10 s, doubling, at most 300 s.
 * Every wait is divided by the simulator's time scale.
 */
import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { ec2Client, errorCode, httpStatus, isThrottle, runMain, seededRandom, sleep, type BaselineConfig, type BaselineNode } from './common.js';

const MAX_RETRIES = 5;
const BACKOFF_START_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;

class Exit extends Error {}

async function flannelAgent(
  ec2: EC2Client,
  node: BaselineNode,
  config: BaselineConfig,
  random: () => number,
  stopping: AbortSignal,
  counters: { restarts: number; exits: number },
): Promise<boolean> {
  const scaled = (ms: number): number => ms / config.timeScale;
  /** aws-sdk-go v1: one call with up to MAX_RETRIES retries under the DefaultRetryer's delays. */
  const call = async <T>(send: () => Promise<T>): Promise<T> => {
    for (let retry = 0; ; retry += 1) {
      try {
        return await send();
      } catch (err) {
        const status = httpStatus(err) ?? 0;
        const retryable = isThrottle(err) || status >= 500 || status === 0;
        if (!retryable || retry >= MAX_RETRIES || stopping.aborted) throw err;
        const min = isThrottle(err) ? 500 : 30;
        await sleep(scaled(2 ** retry * (min + random() * min)));
      }
    }
  };
  let backoff = BACKOFF_START_MS;
  while (!stopping.aborted) {
    try {
      const described = await call(() =>
        ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: [node.ip] }] })),
      ).catch((err: unknown) => {
        throw new Exit(`unable to find ENI: ${errorCode(err)}`);
      });
      const eni = described.NetworkInterfaces?.[0]?.NetworkInterfaceId;
      if (eni === undefined) throw new Exit('no ENI');
      await call(() => ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, SourceDestCheck: { Value: false } }))).catch(
        () => undefined, // "failed to disable SourceDestCheck": a warning only
      );
      for (const table of config.tables) {
        await call(() =>
          ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [table], Filters: [{ Name: 'route.state', Values: ['blackhole'] }] })),
        ).catch(() => undefined); // "Error cleaning up blackhole routes": logged
        let matching = false;
        try {
          const found = await call(() =>
            ec2.send(
              new DescribeRouteTablesCommand({
                RouteTableIds: [table],
                Filters: [
                  { Name: 'route.destination-cidr-block', Values: [node.subnet] },
                  { Name: 'route.state', Values: ['active'] },
                ],
              }),
            ),
          );
          matching = (found.RouteTables ?? []).some((t) =>
            (t.Routes ?? []).some((r) => r.DestinationCidrBlock === node.subnet && r.State === 'active' && r.NetworkInterfaceId === eni),
          );
        } catch {
          // "Error describing route tables": logged, and the route is taken as missing.
        }
        if (matching) continue;
        try {
          await call(() => ec2.send(new DeleteRouteCommand({ RouteTableId: table, DestinationCidrBlock: node.subnet })));
        } catch (err) {
          if (errorCode(err) !== 'InvalidRoute.NotFound') throw new Exit(`error deleting existing route: ${errorCode(err)}`);
        }
        await call(() => ec2.send(new CreateRouteCommand({ RouteTableId: table, DestinationCidrBlock: node.subnet, NetworkInterfaceId: eni }))).catch(
          (err: unknown) => {
            throw new Exit(`unable to add route: ${errorCode(err)}`);
          },
        );
      }
      return true;
    } catch (err) {
      if (!(err instanceof Exit) && !stopping.aborted) throw err;
      counters.exits += 1;
      if (stopping.aborted) return false;
      // flanneld exited; the kubelet restarts it after its crash-loop back-off.
      await sleep(scaled(backoff));
      backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      counters.restarts += 1;
    }
  }
  return false;
}

runMain(async (config, stopping) => {
  const ec2 = ec2Client(config.endpoint, config.nodes.length + 16);
  const random = seededRandom(config.seed);
  const counters = { restarts: 0, exits: 0 };
  const done = await Promise.all(config.nodes.map((node) => flannelAgent(ec2, node, config, random, stopping, counters)));
  ec2.destroy();
  const succeeded = done.filter(Boolean).length;
  return { converged: succeeded === config.nodes.length, detail: { nodes: config.nodes.length, succeeded, ...counters } };
});
