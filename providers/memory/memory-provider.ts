/**
 * An in-memory provider: the reference behaviour of the provider interface, for unit tests of
 * the reconcile loop and the conformance suite. It keeps AWS-like rules: one route per
 * destination per table, a per-table limit, blackholes when a node disappears.
 */
import type { ActualRoute, Change, NodeResolution, RouteProvider, RouteTable } from '../provider.js';

export interface MemoryNode {
  readonly target: string;
  forwarding: 'enabled' | 'fixable' | 'disabled';
}

export interface MemoryRoute extends ActualRoute {}

export class MemoryCloudError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export class MemoryProvider implements RouteProvider {
  readonly name = 'memory';
  readonly tables = new Map<string, { limit: number; routes: MemoryRoute[] }>();
  readonly nodes = new Map<string, MemoryNode>();
  /** Every call, in order: `listTables`, `resolveNodes`, or a change kind. */
  readonly calls: string[] = [];
  /** Errors to throw on the next calls of a kind, consumed one by one. */
  readonly failNext = new Map<string, MemoryCloudError[]>();

  addTable(id: string, limit: number, foreign: MemoryRoute[] = []): void {
    this.tables.set(id, { limit, routes: [...foreign] });
  }

  addNode(ip: string, target: string, forwarding: MemoryNode['forwarding'] = 'enabled'): void {
    this.nodes.set(ip, { target, forwarding });
  }

  /** The node's instance is gone: its routes turn blackhole. */
  removeNode(ip: string): void {
    const node = this.nodes.get(ip);
    this.nodes.delete(ip);
    if (node === undefined) return;
    for (const table of this.tables.values()) {
      table.routes = table.routes.map((r) => (r.target === node.target ? { ...r, blackhole: true } : r));
    }
  }

  routes(tableId: string): MemoryRoute[] {
    return [...(this.tables.get(tableId)?.routes ?? [])];
  }

  private fail(kind: string): void {
    const queue = this.failNext.get(kind);
    const error = queue?.shift();
    if (error !== undefined) throw error;
  }

  private table(id: string): { limit: number; routes: MemoryRoute[] } {
    const table = this.tables.get(id);
    if (table === undefined) throw new MemoryCloudError('InvalidRouteTableID.NotFound', `no table ${id}`);
    return table;
  }

  async listTables(signal: AbortSignal): Promise<RouteTable[]> {
    signal.throwIfAborted();
    this.calls.push('listTables');
    this.fail('listTables');
    return [...this.tables.entries()].map(([id, t]) => ({ id, limit: t.limit, quota: 'aws-vpc-routes-per-table', routes: [...t.routes] }));
  }

  async resolveNodes(nodeIps: readonly string[], signal: AbortSignal): Promise<Map<string, NodeResolution>> {
    signal.throwIfAborted();
    this.calls.push('resolveNodes');
    const result = new Map<string, NodeResolution>();
    let failure: MemoryCloudError | undefined;
    try {
      this.fail('resolveNodes');
    } catch (err) {
      failure = err as MemoryCloudError;
    }
    for (const ip of nodeIps) {
      const node = this.nodes.get(ip);
      if (failure !== undefined) result.set(ip, { status: 'lookup-failed', error: failure.message });
      else if (node === undefined) result.set(ip, { status: 'not-found' });
      else result.set(ip, { status: 'found', target: node.target, forwarding: node.forwarding });
    }
    return result;
  }

  async apply(change: Change, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.calls.push(change.kind);
    this.fail(change.kind);
    if (change.kind === 'enable-forwarding') {
      for (const node of this.nodes.values()) if (node.target === change.target) node.forwarding = 'enabled';
      return;
    }
    const table = this.table(change.table);
    const existing = table.routes.find((r) => r.destination === change.destination);
    switch (change.kind) {
      case 'create':
        if (existing !== undefined) throw new MemoryCloudError('RouteAlreadyExists', `${change.destination} exists`);
        // The cloud's own check, AWS-like: every route but propagated ones takes room, each family apart.
        if (table.routes.reduce((used, r) => used + (r.origin === 'propagated' || familyOf(r) !== familyOf(change) ? 0 : r.quotaWeight), 0) >= table.limit) {
          throw new MemoryCloudError('RouteLimitExceeded', `table ${change.table} is full`);
        }
        table.routes.push(owned(change.destination, change.target));
        return;
      case 'replace':
        if (existing === undefined) throw new MemoryCloudError('InvalidParameterValue', `no route for ${change.destination}`);
        table.routes = table.routes.map((r) => (r === existing ? owned(change.destination, change.target) : r));
        return;
      case 'delete':
        table.routes = table.routes.filter((r) => r !== existing);
        return;
    }
  }

  async close(): Promise<void> {}
}

const familyOf = (route: { readonly destination: string; readonly family?: 'ipv4' | 'ipv6' }): 'ipv4' | 'ipv6' =>
  route.family ?? (route.destination.includes(':') ? 'ipv6' : 'ipv4');

function owned(destination: string, target: string): MemoryRoute {
  return {
    destination,
    target,
    targetKind: 'interface',
    origin: 'created',
    quotaWeight: 1,
    ...(destination.includes(':') ? { family: 'ipv6' as const } : {}),
    blackhole: false,
    bearsOwnerMarks: true,
    inManagedSpace: true,
    via: target,
  };
}
