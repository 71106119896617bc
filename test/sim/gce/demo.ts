/** A small, realistic world for demos and manual runs: one network, its default route, four nodes. */
import type { GceWorld } from './world.js';

export interface DemoWorld {
  readonly project: string;
  readonly network: string;
  readonly clusterName: string;
  /** Node IP → instance path `projects/p/zones/z/instances/n`. */
  readonly nodes: Readonly<Record<string, string>>;
}

/**
 * Network `default` (legacy range 10.240.0.0/16, as flannel's GCE days had) with its default
 * internet route, a foreign route to a VPN appliance, and four instances: three with canIpForward
 * (10.240.0.2, 10.240.0.3 in us-central1-a, 10.240.0.4 in us-central1-b) and 10.240.0.5 without.
 */
export function seedDemo(world: GceWorld, clusterName = 'routesync'): DemoWorld {
  world.createNetwork({ name: 'default', ipv4Range: '10.240.0.0/16' });
  const vpn = world.createInstance({ name: 'vpn-gateway', zone: 'us-central1-a', networkIP: '10.240.0.100', canIpForward: true });
  world.addForeignRoute({ name: 'to-office', destRange: '192.168.0.0/16', nextHopInstance: vpn.selfLink, description: 'office VPN' });
  const nodes: Record<string, string> = {};
  for (const [name, zone, ip, canIpForward] of [
    ['node-a', 'us-central1-a', '10.240.0.2', true],
    ['node-b', 'us-central1-a', '10.240.0.3', true],
    ['node-c', 'us-central1-b', '10.240.0.4', true],
    ['node-d', 'us-central1-b', '10.240.0.5', false],
  ] as const) {
    world.createInstance({ name, zone, networkIP: ip, canIpForward });
    nodes[ip] = world.instancePath(zone, name);
  }
  return { project: world.project, network: 'default', clusterName, nodes };
}
